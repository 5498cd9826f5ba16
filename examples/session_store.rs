//! Step 10: the session store used directly from code, without the web layer: what the
//! tutorial's `Session` class does, with compare-and-swap updates and sliding expiry.
//!
//! `cargo run --example session_store [-- --server HOST:PORT]`

#[path = "common/mod.rs"]
mod common;

use mc_session::{new_id, Data, Key, SessionConfig, SessionStore};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let servers = common::server();
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let client = mc_client::Client::new(servers.addrs.iter().map(String::as_str));
        let store = SessionStore::new(client, SessionConfig::new(Key::generate()));
        let id = new_id();
        println!("new session id (hex MD5 of a random UUID): {id}");
        let mut data = Data::new();
        data.insert("user".into(), "ferris".into());
        // A new session is created with `add`: an id is never overwritten.
        println!("create -> {}", store.create(&id, &data).await?);
        // Updates read, change and write back with CAS; they never create a record.
        store
            .update(&id, None, |data| {
                data.insert("visits".into(), 1.into());
            })
            .await?;
        let loaded = store.load(&id).await?.map(|l| l.data);
        println!("load -> {loaded:?}");
        store
            .update(&id, None, |data| {
                data.remove("visits");
            })
            .await?;
        let loaded = store.load(&id).await?.map(|l| l.data);
        println!("after removing visits -> {loaded:?}");
        store.remove(&id).await?;
        let loaded = store.load(&id).await?.map(|l| l.data);
        println!("after removing the session -> {loaded:?}");
        let revived = store.update(&id, None, |data| data.clear()).await?;
        println!("update of a removed session -> {revived:?}");
        Ok::<_, Box<dyn std::error::Error>>(())
    })
}
