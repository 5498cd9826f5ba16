//! `mc-client-bench`: our client against the crates.io `memcache` crate on the same servers.
//!
//! Workloads: `get` and `set` of 32-byte values from 1 task and from 64 concurrent tasks (our
//! client: tokio tasks sharing one client; `memcache`: threads sharing one pooled client), and
//! `get_multi` of 100 keys spread over all the servers. Prints one JSON object.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;

#[derive(Debug, Parser)]
#[command(name = "mc-client-bench")]
struct Options {
    /// Servers, comma separated `host:port`.
    #[arg(long, value_delimiter = ',')]
    servers: Vec<String>,
    /// Seconds per measurement.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Connections per server for our client.
    #[arg(long, default_value_t = 1)]
    connections: usize,
}

const KEYS: usize = 10_000;

fn key(i: usize) -> String {
    format!("bench:{i:08}")
}

/// Run `op` on `tasks` tokio tasks for `seconds`; ops per second. One task runs on a
/// single-threaded runtime, as with the blocking facade a script would use; many tasks share a
/// multi-threaded one, as in a server.
fn ours(client: &mc_client::Client, tasks: usize, seconds: f64, op: &'static str) -> f64 {
    let runtime = if tasks == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
    }
    .expect("runtime");
    let count = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let value = "v".repeat(32);
    runtime.block_on(async {
        let mut handles = Vec::new();
        for t in 0..tasks {
            let (client, count, stop, value) =
                (client.clone(), count.clone(), stop.clone(), value.clone());
            handles.push(tokio::spawn(async move {
                let mut i = t * 7919;
                while !stop.load(Ordering::Relaxed) {
                    i = (i + 1) % KEYS;
                    let ok = match op {
                        "get" => client.get::<String>(&key(i)).await.is_ok(),
                        "set" => client.set(&key(i), value.as_str(), 0).await.is_ok(),
                        _ => {
                            let keys: Vec<String> =
                                (0..100).map(|j| key((i + j * 97) % KEYS)).collect();
                            let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
                            client.get_multi::<String>(&refs).await.is_ok()
                        }
                    };
                    if ok {
                        count.fetch_add(1, Ordering::Relaxed);
                    } else {
                        // A failing server must not turn this into a loop that never yields.
                        tokio::task::yield_now().await;
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
        stop.store(true, Ordering::Relaxed);
        for h in handles {
            let _ = h.await;
        }
    });
    count.load(Ordering::Relaxed) as f64 / seconds
}

/// Run `op` on `threads` threads sharing one `memcache::Client` for `seconds`; ops per second.
fn theirs(client: &Arc<memcache::Client>, threads: usize, seconds: f64, op: &'static str) -> f64 {
    let count = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let value = "v".repeat(32);
    std::thread::scope(|scope| {
        for t in 0..threads {
            let (client, count, value) = (client.clone(), count.clone(), value.clone());
            scope.spawn(move || {
                let mut i = t * 7919;
                while Instant::now() < deadline {
                    i = (i + 1) % KEYS;
                    let ok = match op {
                        "get" => client.get::<String>(&key(i)).is_ok(),
                        "set" => client.set(&key(i), value.as_str(), 0).is_ok(),
                        _ => {
                            let keys: Vec<String> =
                                (0..100).map(|j| key((i + j * 97) % KEYS)).collect();
                            let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
                            client.gets::<String>(&refs).is_ok()
                        }
                    };
                    if ok {
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    count.load(Ordering::Relaxed) as f64 / seconds
}

fn main() {
    let o = Options::parse();
    let first = [o.servers[0].clone()];
    let options = mc_client::Options {
        connections_per_server: o.connections,
        ..mc_client::Options::default()
    };
    let single_ours =
        mc_client::Client::with_options(first.iter().map(String::as_str), options.clone());
    let pool_ours = mc_client::Client::with_options(o.servers.iter().map(String::as_str), options);
    let url = |s: &str| format!("memcache://{s}?tcp_nodelay=true&protocol=ascii");
    let single_theirs = Arc::new(
        memcache::Client::builder()
            .add_server(url(&o.servers[0]))
            .and_then(|b| b.with_max_pool_size(64).build())
            .expect("memcache client"),
    );
    let mut pool_builder = memcache::Client::builder();
    for s in &o.servers {
        pool_builder = pool_builder.add_server(url(s)).expect("server url");
    }
    let pool_theirs = Arc::new(
        pool_builder
            .with_max_pool_size(64)
            .build()
            .expect("memcache client"),
    );
    // Preload the keys everywhere they will be read.
    ours(&single_ours, 8, 1.0, "set");
    ours(&pool_ours, 8, 1.0, "set");
    let mut results = Vec::new();
    for (name, tasks, op) in [
        ("get, 1 task", 1, "get"),
        ("set, 1 task", 1, "set"),
        ("get, 64 tasks", 64, "get"),
        ("set, 64 tasks", 64, "set"),
    ] {
        let a = ours(&single_ours, tasks, o.seconds, op);
        let b = theirs(&single_theirs, tasks, o.seconds, op);
        results.push(serde_json::json!({"workload": name, "mc_client": a, "memcache_crate": b, "ratio": a / b}));
        eprintln!(
            "{name:<16} mc-client {a:>10.0}/s  memcache {b:>10.0}/s  ratio {:.2}",
            a / b
        );
    }
    let a = ours(&pool_ours, 1, o.seconds, "multi");
    let b = theirs(&pool_theirs, 1, o.seconds, "multi");
    eprintln!(
        "{:<16} mc-client {a:>10.0}/s  memcache {b:>10.0}/s  ratio {:.2}",
        "get_multi 100/4",
        a / b
    );
    results.push(serde_json::json!({"workload": "get_multi of 100 keys over 4 servers, 1 task", "mc_client": a, "memcache_crate": b, "ratio": a / b}));
    println!("{}", serde_json::json!(results));
}
