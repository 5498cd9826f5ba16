//! Step 6: counters: `incr` and `decr` from 9: 10, 20, 19, 9.
//!
//! `cargo run --example incr_decr [-- --server HOST:PORT]`

#[path = "common/mod.rs"]
mod common;

use mc_client::blocking::Client;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let servers = common::server();
    let mc = Client::new(servers.addrs.iter().map(String::as_str))?;
    println!("set('number', 9) -> {}", mc.set("number", &9i64, 0)?);
    println!("incr('number') -> {:?}", mc.incr("number", 1)?);
    println!("incr('number', 10) -> {:?}", mc.incr("number", 10)?);
    println!("decr('number') -> {:?}", mc.decr("number", 1)?);
    println!("decr('number', 10) -> {:?}", mc.decr("number", 10)?);
    Ok(())
}
