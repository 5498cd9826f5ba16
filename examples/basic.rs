//! Step 1: connect, `set('k1', 'v1')`, `get('k1')`.
//!
//! `cargo run --example basic [-- --server HOST:PORT]`

#[path = "common/mod.rs"]
mod common;

use mc_client::blocking::Client;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let servers = common::server();
    let mc = Client::new(servers.addrs.iter().map(String::as_str))?;
    println!("set('k1', 'v1') -> {}", mc.set("k1", "v1", 0)?);
    println!("get('k1') -> {:?}", mc.get::<String>("k1")?);
    Ok(())
}
