//! Step 9: python-memcached's key hash, `cmemcache_hash`: the CRC32 of the key, bits 16 to 30,
//! and never 0. The tutorial prints it for `'k'`; here is the same number, and how it picks a
//! server among four weighted 4/3/1/2.
//!
//! `cargo run --example key_hash`

use mc_client::distribution::{buckets, cmemcache_hash};

fn main() {
    let hash = cmemcache_hash(b"k");
    println!("cmemcache_hash('k') -> {hash}");
    println!(
        "crc32('k') = {:#010x}; >> 16 = {}; & 0x7fff = {hash}",
        crc(b"k"),
        crc(b"k") >> 16
    );
    let bucket_list = buckets(&[4, 3, 1, 2]);
    let bucket = hash as usize % bucket_list.len();
    println!(
        "{hash} % {} buckets = bucket {bucket} -> server {} (the second server, weight 3)",
        bucket_list.len(),
        bucket_list[bucket]
    );
}

fn crc(data: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(data);
    hasher.finalize()
}
