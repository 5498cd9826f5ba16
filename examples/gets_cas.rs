//! Step 7: two clients read the same counter; both want to write it. With plain `set` the
//! second write silently undoes the first (the lost update). With `gets`/`cas` the second
//! writer is refused, because the value changed after it read it.
//!
//! `cargo run --example gets_cas [-- --server HOST:PORT]`

#[path = "common/mod.rs"]
mod common;

use mc_client::blocking::Client;
use mc_client::Options;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let servers = common::server();
    let options = Options {
        cache_cas: true,
        ..Options::default()
    };
    let conn1 = Client::with_options(servers.addrs.iter().map(String::as_str), options.clone())?;
    let conn2 = Client::with_options(servers.addrs.iter().map(String::as_str), options)?;

    println!("-- the lost update, with set --");
    conn1.set("n", &9i64, 0)?;
    let seen1: i64 = conn1.get("n")?.unwrap_or_default();
    let seen2: i64 = conn2.get("n")?.unwrap_or_default();
    println!("conn1 reads n = {seen1}; conn2 reads n = {seen2}");
    conn1.set("n", &(seen1 * 11), 0)?;
    conn2.set("n", &(seen2 + 91), 0)?;
    println!(
        "both wrote; n = {:?}: conn1's write is lost",
        conn1.get::<i64>("n")?
    );

    println!("-- the fix, with gets/cas --");
    conn1.set("n", &9i64, 0)?;
    println!("conn1 gets n -> {:?}", conn1.gets::<i64>("n")?);
    println!("conn2 gets n -> {:?}", conn2.gets::<i64>("n")?);
    println!("conn1 cas n 99 -> {}", conn1.cas("n", &99i64, 0)?);
    println!(
        "conn2 cas n 100 -> {} (refused: n changed since conn2 read it)",
        conn2.cas("n", &100i64, 0)?
    );
    println!("get n -> {:?}", conn1.get::<i64>("n")?);
    println!(
        "conn2 reads again and retries: gets -> {:?}, cas -> {}",
        conn2.gets::<i64>("n")?,
        conn2.cas("n", &100i64, 0)?
    );
    Ok(())
}
