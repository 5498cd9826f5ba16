//! Step 10: the session store used directly from code, without the web layer: what the
//! tutorial's `Session` class does, with compare-and-swap updates and sliding expiry.
//!
//! `cargo run --example session_store [-- --server HOST:PORT]`

#[path = "common/mod.rs"]
mod common;

use mc_session::{new_id, Key, SessionConfig, SessionStore};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let servers = common::server();
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let client = mc_client::Client::new(servers.addrs.iter().map(String::as_str));
        let store = SessionStore::new(client, SessionConfig::new(Key::generate()));
        let id = new_id();
        println!("new session id (hex MD5 of a random UUID): {id}");
        store
            .update(&id, |data| {
                data.insert("user".into(), "ferris".into());
            })
            .await?;
        store
            .update(&id, |data| {
                data.insert("visits".into(), 1.into());
            })
            .await?;
        println!("load -> {:?}", store.load(&id).await?);
        store
            .update(&id, |data| {
                data.remove("visits");
            })
            .await?;
        println!("after removing visits -> {:?}", store.load(&id).await?);
        store.remove(&id).await?;
        println!("after removing the session -> {:?}", store.load(&id).await?);
        Ok::<_, Box<dyn std::error::Error>>(())
    })
}
