//! Step 4: many keys at once: `set_multi`, `delete`, `delete_multi`, `get_multi`.
//!
//! `cargo run --example multi [-- --server HOST:PORT]`

#[path = "common/mod.rs"]
mod common;

use mc_client::blocking::Client;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let servers = common::server();
    let mc = Client::new(servers.addrs.iter().map(String::as_str))?;
    println!(
        "set_multi(key1, key2) -> failed keys {:?}",
        mc.set_multi(&[("key1", "value1"), ("key2", "value2")], 0)?
    );
    println!("get('key1') -> {:?}", mc.get::<String>("key1")?);
    println!("delete('key1') -> {}", mc.delete("key1")?);
    println!("get('key1') -> {:?}", mc.get::<String>("key1")?);
    mc.set_multi(&[("key3", "value3"), ("key4", "value4")], 0)?;
    println!(
        "delete_multi(key3, key4) -> {}",
        mc.delete_multi(&["key3", "key4"])?
    );
    mc.set_multi(&[("key5", "value5"), ("key6", "value6")], 0)?;
    let found = mc.get_multi::<String>(&["key5", "key6"])?;
    let mut found: Vec<_> = found.into_iter().collect();
    found.sort();
    println!("get_multi(key5, key6) -> {found:?}");
    Ok(())
}
