//! Step 3: `add` stores only a new key; `replace` only an existing one.
//!
//! `cargo run --example add_replace [-- --server HOST:PORT]`

#[path = "common/mod.rs"]
mod common;

use mc_client::blocking::Client;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let servers = common::server();
    let mc = Client::new(servers.addrs.iter().map(String::as_str))?;
    mc.delete("k")?;
    mc.delete("kk")?;
    println!("add('k', 'hello') -> {}", mc.add("k", "hello", 0)?);
    println!("add('k', 'world') -> {}", mc.add("k", "world", 0)?);
    println!("get('k') -> {:?}", mc.get::<String>("k")?);
    println!(
        "replace('k', 'helloworld') -> {}",
        mc.replace("k", "helloworld", 0)?
    );
    println!("get('k') -> {:?}", mc.get::<String>("k")?);
    println!(
        "replace('kk', 'hello') -> {}",
        mc.replace("kk", "hello", 0)?
    );
    Ok(())
}
