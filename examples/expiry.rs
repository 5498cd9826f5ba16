//! Step 2: a value that expires: `set('k', 'v', 1)`, wait, `get('k')` is gone.
//!
//! `cargo run --example expiry [-- --server HOST:PORT]`

#[path = "common/mod.rs"]
mod common;

use std::time::Duration;

use mc_client::blocking::Client;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let servers = common::server();
    let mc = Client::new(servers.addrs.iter().map(String::as_str))?;
    println!("set('k', 'v', 1) -> {}", mc.set("k", "v", 1)?);
    println!("get('k') right away -> {:?}", mc.get::<String>("k")?);
    // memcached counts whole seconds, so wait a little over two to be sure the second passed.
    std::thread::sleep(Duration::from_millis(2100));
    println!("get('k') after 2 s -> {:?}", mc.get::<String>("k")?);
    Ok(())
}
