//! How the store scales with threads, with no network: `cargo xtask bench store` runs this.
//!
//! Each thread loops over a 90/10 mix of gets and sets on 100,000 preloaded keys (16-byte
//! keys, 32-byte values, uniformly random), doing what a connection does per request: lock the
//! key's shard, look the key up and copy the value into an output buffer (get), or write the
//! item (set). One thread, then two, for a fixed time, alternating over rounds, in two
//! designs: the server's (the cache in shards, a get shared with other readers when it changes
//! nothing) and the one before it (one lock for the whole store, every operation exclusive).
//! Every get must hit and every set must store, or the run fails. A third run gives each
//! thread a cache of its own: the most two threads of the machine reach on this work.
//!
//! It also measures what the scaling model in docs/architecture.md needs: the time one
//! operation holds its shard's lock, and the whole operation's time, on one thread.
//!
//! Prints one JSON object. Options: `--seconds S` (per measurement, default 2), `--rounds N`
//! (default 3), `--shards N` (default: the server's for `-t 2`, `-m 1024`), `--set-every N`
//! (one operation in N is a set; default 10, 0 for gets only).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use mc_proto::StoreCommand;
use mc_server::storage::{Access, Read, StoreConfig, StoreStatus, Write};
use mc_server::store_shards::{shard_count, StoreShards};

const KEYS: u64 = 100_000;
const VALUE: [u8; 32] = [b'v'; 32];
/// One in this many operations is a set (`--set-every N`, default 10; 0: gets only).
static SET_EVERY: AtomicU64 = AtomicU64::new(10);

/// Whether the operation drawn from `r` is a set.
fn is_set(r: u64) -> bool {
    let every = SET_EVERY.load(Ordering::Relaxed);
    every != 0 && (r >> 32) % every == 0
}

/// Key `n`: its 16 decimal digits, zero-padded.
fn key(mut n: u64) -> [u8; 16] {
    let mut key = [b'0'; 16];
    for digit in key.iter_mut().rev() {
        *digit = b'0' + (n % 10) as u8;
        n /= 10;
    }
    key
}

/// xorshift64*: a fast generator, seeded per thread.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// How gets lock their shard.
#[derive(Clone, Copy, PartialEq)]
enum Design {
    /// Shared with other readers when nothing changes (the server's).
    SharedReads,
    /// Exclusive, like every other operation.
    Exclusive,
}

/// One operation of the mix; false when a get missed or a set did not store.
fn operation(cache: &StoreShards, design: Design, rng: &mut Rng, out: &mut Vec<u8>) -> bool {
    let r = rng.next();
    let key = key(r % KEYS);
    if is_set(r) {
        let write = Write::new(StoreCommand::Set, &key, &VALUE);
        return matches!(cache.for_key(&key).store(&write, 1), StoreStatus::Stored(_));
    }
    let access = Access {
        bump: true,
        count_get: true,
        ..Access::default()
    };
    // As the server's get: shared with other readers when nothing about the item changes,
    // else again with the shard to itself.
    if design == Design::SharedReads {
        match cache.read_key(&key).read(&key, 1, access) {
            Read::Hit(item) => {
                out.clear();
                out.extend_from_slice(item.value());
                return true;
            }
            Read::Miss => return false,
            Read::NeedsWrite => {}
        }
    }
    match cache.for_key(&key).get(&key, 1, access) {
        Some(item) => {
            out.clear();
            out.extend_from_slice(item.value());
            true
        }
        None => false,
    }
}

fn preloaded(shards: usize) -> StoreShards {
    let config = StoreConfig {
        max_bytes: 1024 * 1024 * 1024,
        ..StoreConfig::default()
    };
    let cache = StoreShards::new(config, shards);
    for n in 0..KEYS {
        let key = key(n);
        let write = Write::new(StoreCommand::Set, &key, &VALUE);
        cache.for_key(&key).store(&write, 1);
    }
    cache
}

/// Operations per second with `threads` threads for `seconds`; thread `t` works on
/// `caches[t % caches.len()]`. Fails on any miss.
fn run(
    caches: &[Arc<StoreShards>],
    design: Design,
    threads: usize,
    seconds: f64,
) -> Result<f64, String> {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let start = Arc::new(Barrier::new(threads + 1));
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (cache, stop, done, failed, start) = (
                caches[t % caches.len()].clone(),
                stop.clone(),
                done.clone(),
                failed.clone(),
                start.clone(),
            );
            std::thread::spawn(move || {
                let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (t as u64 + 1));
                let mut out = Vec::with_capacity(64);
                let (mut ops, mut misses) = (0u64, 0u64);
                start.wait();
                while !stop.load(Ordering::Relaxed) {
                    for _ in 0..256 {
                        if !operation(&cache, design, &mut rng, &mut out) {
                            misses += 1;
                        }
                    }
                    ops += 256;
                }
                done.fetch_add(ops, Ordering::Relaxed);
                failed.fetch_add(misses, Ordering::Relaxed);
            })
        })
        .collect();
    start.wait();
    let began = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(seconds));
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.join().map_err(|_| "a worker panicked")?;
    }
    let elapsed = began.elapsed().as_secs_f64();
    let misses = failed.load(Ordering::Relaxed);
    if misses > 0 {
        return Err(format!("{misses} gets missed or sets failed"));
    }
    Ok(done.load(Ordering::Relaxed) as f64 / elapsed)
}

/// Nanoseconds per operation on one thread: the whole operation, and the part with the
/// shard locked (lookup or write, and the value copy).
fn hold_times(cache: &StoreShards, design: Design) -> (f64, f64) {
    const N: u64 = 2_000_000;
    let mut rng = Rng(7);
    let mut out = Vec::with_capacity(64);
    let began = Instant::now();
    for _ in 0..N {
        std::hint::black_box(operation(cache, design, &mut rng, &mut out));
    }
    let whole = began.elapsed().as_nanos() as f64 / N as f64;
    // The same keys chosen beforehand, so that only the locked part is timed.
    let keys: Vec<([u8; 16], bool)> = (0..N)
        .map(|_| {
            let r = rng.next();
            (key(r % KEYS), is_set(r))
        })
        .collect();
    let access = Access {
        bump: true,
        ..Access::default()
    };
    let began = Instant::now();
    for (key, set) in &keys {
        if *set {
            let write = Write::new(StoreCommand::Set, key, &VALUE);
            std::hint::black_box(cache.for_key(key).store(&write, 1));
        } else if design == Design::SharedReads {
            if let Read::Hit(item) = cache.read_key(key).read(key, 1, access) {
                out.clear();
                out.extend_from_slice(item.value());
            }
        } else if let Some(item) = cache.for_key(key).get(key, 1, access) {
            out.clear();
            out.extend_from_slice(item.value());
        }
    }
    let locked = began.elapsed().as_nanos() as f64 / N as f64;
    (whole, locked)
}

fn option(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seconds: f64 = option(&args, "--seconds").map_or(2.0, |s| s.parse().unwrap_or(2.0));
    let rounds: usize = option(&args, "--rounds").map_or(3, |s| s.parse().unwrap_or(3));
    if let Some(every) = option(&args, "--set-every").and_then(|s| s.parse().ok()) {
        SET_EVERY.store(every, Ordering::Relaxed);
    }
    let server_shards = option(&args, "--shards")
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| shard_count(2, 1024 * 1024 * 1024));
    let mut results = Vec::new();
    // The third design shares nothing: each thread has a cache of its own. It is not a way to
    // build a server; it shows what two threads of this machine reach with the same work and
    // no shared memory at all, the ceiling the other two are measured against.
    for (design, shards, private, name) in [
        (
            Design::SharedReads,
            server_shards,
            false,
            "shards, shared reads",
        ),
        (Design::Exclusive, 1, false, "one lock, exclusive"),
        (
            Design::SharedReads,
            server_shards,
            true,
            "a cache per thread",
        ),
    ] {
        let caches: Vec<Arc<StoreShards>> = (0..if private { 2 } else { 1 })
            .map(|_| Arc::new(preloaded(shards)))
            .collect();
        let (whole, locked) = hold_times(&caches[0], design);
        let (mut one, mut two) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            match (
                run(&caches, design, 1, seconds),
                run(&caches, design, 2, seconds),
            ) {
                (Ok(a), Ok(b)) => {
                    one.push(a);
                    two.push(b);
                }
                (Err(e), _) | (_, Err(e)) => {
                    eprintln!("store_scaling: {e}");
                    std::process::exit(1);
                }
            }
        }
        results.push(format!(
            "{{\"design\":\"{name}\",\"shards\":{shards},\"ns_per_op\":{whole:.1},\"ns_locked_per_op\":{locked:.1},\
             \"one_thread\":{one:?},\"two_threads\":{two:?}}}"
        ));
    }
    println!(
        "{{\"keys\":{KEYS},\"value_bytes\":{},\"set_every\":{},\"seconds\":{seconds},\
         \"rounds\":{rounds},\"runs\":[{}]}}",
        VALUE.len(),
        SET_EVERY.load(Ordering::Relaxed),
        results.join(",")
    );
}
