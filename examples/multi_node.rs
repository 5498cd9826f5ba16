//! Step 8: four servers weighted 4/3/1/2, spread the way python-memcached spreads them: each
//! server appears `weight` times in a bucket list, and a key goes to bucket `hash % 10`. The
//! example shows where each of 20 keys lands and checks it by asking every server directly.
//!
//! `cargo run --example multi_node [-- --server A --server B --server C --server D]`

#[path = "common/mod.rs"]
mod common;

use mc_client::blocking::Client;
use mc_client::distribution::{buckets, cmemcache_hash};

const WEIGHTS: [u32; 4] = [4, 3, 1, 2];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let servers = common::servers(4);
    let pool = Client::new(servers.addrs.iter().map(String::as_str).zip(WEIGHTS))?;
    let direct: Vec<Client> = servers
        .addrs
        .iter()
        .map(|a| Client::new([a.as_str()]))
        .collect::<Result<_, _>>()?;
    let bucket_list = buckets(&WEIGHTS);
    println!("buckets (server index per bucket): {bucket_list:?}");
    let mut agree = 0;
    for i in 0..20 {
        let key = format!("key{i}");
        pool.set(&key, key.as_str(), 0)?;
        let hash = cmemcache_hash(key.as_bytes());
        // python-memcached: servers[buckets[hash % len(buckets)]]
        let python_choice = bucket_list[hash as usize % bucket_list.len()];
        let ours = pool.server_for(&key)?;
        let holder = (0..4).find(|&s| matches!(direct[s].get::<String>(&key), Ok(Some(_))));
        println!(
            "{key:<6} hash {hash:>5} -> bucket {:>2} -> server {ours} (weight {}); python-memcached picks {python_choice}; stored on server {holder:?}",
            hash as usize % bucket_list.len(),
            WEIGHTS[ours]
        );
        if ours == python_choice && holder == Some(ours) {
            agree += 1;
        }
    }
    println!("{agree} of 20 keys placed exactly as python-memcached places them");
    Ok(())
}
