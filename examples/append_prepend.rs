//! Step 5: `append` and `prepend` change a value in place.
//!
//! `cargo run --example append_prepend [-- --server HOST:PORT]`

#[path = "common/mod.rs"]
mod common;

use mc_client::blocking::Client;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let servers = common::server();
    let mc = Client::new(servers.addrs.iter().map(String::as_str))?;
    mc.set("key5", "value5", 0)?;
    println!("get('key5') -> {:?}", mc.get::<String>("key5")?);
    println!("append('key5', 'after') -> {}", mc.append("key5", "after")?);
    println!("get('key5') -> {:?}", mc.get::<String>("key5")?);
    println!(
        "prepend('key5', 'before') -> {}",
        mc.prepend("key5", "before")?
    );
    println!("get('key5') -> {:?}", mc.get::<String>("key5")?);
    Ok(())
}
