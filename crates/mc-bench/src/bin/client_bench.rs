//! `mc-client-bench`: our client against the Rust memcached clients people use, each at its
//! best, on the same servers, in the same process.
//!
//! Peers:
//! - `memcache` 0.21 as its `ClientBuilder` makes it (r2d2 pool that tests every connection on
//!   checkout with a `version` round trip: two round trips per operation) — labelled "default";
//! - `memcache` 0.21 with the pool built with `test_on_check_out(false)` — "tuned", its best;
//! - `async-memcached` 0.9, one client (one connection) per task — its intended use.
//!
//! Workloads: `get` and `set` of 32-byte values from 1 task and from 64 concurrent tasks, and
//! `get_multi` of 100 keys over four servers and on one server. Every key read was stored first,
//! so any miss, like any error, fails the run. Each measurement reports operations per second
//! and the client's CPU time per operation (this process's user + system time over the
//! measured window: the servers are other processes). Rounds rotate the order of the peers;
//! figures are given as median [min–max]. Prints one JSON object on stdout.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;

#[derive(Debug, Parser)]
#[command(name = "mc-client-bench")]
struct Options {
    /// Servers, comma separated `host:port` (four for the multi-server workload).
    #[arg(long, value_delimiter = ',')]
    servers: Vec<String>,
    /// Seconds per measurement.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Rounds; each runs every peer once per workload, in a rotated order.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Run only the workloads whose name contains this (all when absent).
    #[arg(long)]
    only: Option<String>,
    /// Run only these clients, comma separated short names (`mc-client`, `memcache default`,
    /// `memcache tuned`, `async-memcached`); all when absent. With fewer than two, no ratio is
    /// printed. Meant for profiling one client (`strace -c -f`, `perf`) without the others.
    #[arg(long, value_delimiter = ',')]
    peers: Vec<String>,
}

const KEYS: usize = 10_000;

fn key(i: usize) -> String {
    format!("bench:{i:08}")
}

/// The 100 keys of a `get_multi` starting at `i`.
fn multi_keys(i: usize) -> Vec<String> {
    (0..100).map(|j| key((i + j * 97) % KEYS)).collect()
}

const VALUE: &str = "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Peer {
    Ours,
    MemcacheDefault,
    MemcacheTuned,
    AsyncMemcached,
}

const PEERS: [Peer; 4] = [
    Peer::Ours,
    Peer::MemcacheDefault,
    Peer::MemcacheTuned,
    Peer::AsyncMemcached,
];

impl Peer {
    fn name(self) -> &'static str {
        match self {
            Peer::Ours => "mc-client",
            Peer::MemcacheDefault => "memcache 0.21 (default builder: test on checkout)",
            Peer::MemcacheTuned => "memcache 0.21 (test_on_check_out off)",
            Peer::AsyncMemcached => "async-memcached 0.9 (a client per task)",
        }
    }

    fn short(self) -> &'static str {
        match self {
            Peer::Ours => "mc-client",
            Peer::MemcacheDefault => "memcache default",
            Peer::MemcacheTuned => "memcache tuned",
            Peer::AsyncMemcached => "async-memcached",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Get,
    Set,
    /// `get_multi` of 100 keys.
    Multi,
}

struct Workload {
    name: &'static str,
    tasks: usize,
    op: Op,
    /// All four servers, or the first only.
    all_servers: bool,
}

const WORKLOADS: [Workload; 6] = [
    Workload {
        name: "get, 1 task",
        tasks: 1,
        op: Op::Get,
        all_servers: false,
    },
    Workload {
        name: "set, 1 task",
        tasks: 1,
        op: Op::Set,
        all_servers: false,
    },
    Workload {
        name: "get, 64 tasks",
        tasks: 64,
        op: Op::Get,
        all_servers: false,
    },
    Workload {
        name: "set, 64 tasks",
        tasks: 64,
        op: Op::Set,
        all_servers: false,
    },
    Workload {
        name: "get_multi 100 keys over 4 servers, 1 task",
        tasks: 1,
        op: Op::Multi,
        all_servers: true,
    },
    Workload {
        name: "get_multi 100 keys on 1 server, 1 task",
        tasks: 1,
        op: Op::Multi,
        all_servers: false,
    },
];

/// What the tasks of one measurement share: the count, the stop flag, the first failure.
#[derive(Default)]
struct Tally {
    ops: AtomicU64,
    failures: AtomicU64,
    first_failure: Mutex<Option<String>>,
    stop: AtomicBool,
}

impl Tally {
    fn record(&self, outcome: Result<(), String>) {
        match outcome {
            Ok(()) => {
                self.ops.fetch_add(1, Ordering::Relaxed);
            }
            Err(why) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                let mut first = self.first_failure.lock().unwrap_or_else(|e| e.into_inner());
                first.get_or_insert(why);
            }
        }
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// This process's CPU time so far, in seconds.
fn cpu_seconds() -> f64 {
    use nix::sys::resource::{getrusage, UsageWho};
    getrusage(UsageWho::RUSAGE_SELF).map_or(0.0, |u| {
        let secs = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
        secs(u.user_time()) + secs(u.system_time())
    })
}

/// One measurement's result.
#[derive(Debug, Clone, Copy)]
struct Measured {
    ops_per_sec: f64,
    cpu_us_per_op: f64,
}

fn runtime(tasks: usize) -> tokio::runtime::Runtime {
    // One task runs on a single-threaded runtime (what the blocking facade uses); many share
    // a two-thread runtime, as in a server.
    if tasks == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
    }
    .expect("a tokio runtime")
}

fn check_multi(found: usize, context: &str) -> Result<(), String> {
    if found == 100 {
        Ok(())
    } else {
        Err(format!("{context}: {found} of 100 keys found"))
    }
}

/// Run `op` with our client on `tasks` tasks until stopped.
async fn run_ours(client: mc_client::Client, task: usize, op: Op, tally: Arc<Tally>) {
    let mut i = task * 7919;
    while !tally.stopped() {
        i = (i + 1) % KEYS;
        let outcome = match op {
            Op::Get => match client.get::<String>(&key(i)).await {
                Ok(Some(_)) => Ok(()),
                Ok(None) => Err(format!("miss on {}", key(i))),
                Err(e) => Err(e.to_string()),
            },
            Op::Set => client
                .set(&key(i), VALUE, 0)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Op::Multi => {
                let keys = multi_keys(i);
                let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
                match client.get_multi::<String>(&refs).await {
                    Ok(found) => check_multi(found.len(), "get_multi"),
                    Err(e) => Err(e.to_string()),
                }
            }
        };
        let failed = outcome.is_err();
        tally.record(outcome);
        if failed {
            // A failing server must not turn this into a loop that never yields.
            tokio::task::yield_now().await;
        }
    }
}

async fn run_async_memcached(addr: String, task: usize, op: Op, tally: Arc<Tally>) {
    use async_memcached::AsciiProtocol as _;
    let mut client = match async_memcached::Client::new(format!("tcp://{addr}")).await {
        Ok(client) => client,
        Err(e) => {
            tally.record(Err(format!("connect: {e}")));
            return;
        }
    };
    let mut i = task * 7919;
    while !tally.stopped() {
        i = (i + 1) % KEYS;
        let outcome = match op {
            Op::Get => match client.get(key(i)).await {
                Ok(Some(_)) => Ok(()),
                Ok(None) => Err(format!("miss on {}", key(i))),
                Err(e) => Err(e.to_string()),
            },
            Op::Set => client
                .set(key(i), VALUE, None, None)
                .await
                .map_err(|e| e.to_string()),
            Op::Multi => match client.get_multi(multi_keys(i)).await {
                Ok(found) => check_multi(found.len(), "get_multi"),
                Err(e) => Err(e.to_string()),
            },
        };
        tally.record(outcome);
    }
}

fn run_memcache(client: &memcache::Client, task: usize, op: Op, tally: &Tally) {
    let mut i = task * 7919;
    while !tally.stopped() {
        i = (i + 1) % KEYS;
        let outcome = match op {
            Op::Get => match client.get::<String>(&key(i)) {
                Ok(Some(_)) => Ok(()),
                Ok(None) => Err(format!("miss on {}", key(i))),
                Err(e) => Err(e.to_string()),
            },
            Op::Set => client.set(&key(i), VALUE, 0).map_err(|e| e.to_string()),
            Op::Multi => {
                let keys = multi_keys(i);
                let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
                match client.gets::<String>(&refs) {
                    Ok(found) => check_multi(found.len(), "gets"),
                    Err(e) => Err(e.to_string()),
                }
            }
        };
        tally.record(outcome);
    }
}

fn memcache_client(servers: &[String], tuned: bool) -> memcache::Client {
    let url = |s: &str| format!("memcache://{s}?tcp_nodelay=true&protocol=ascii");
    if tuned {
        let pools = servers
            .iter()
            .map(|s| {
                let url = memcache::Url::parse(&url(s)).expect("url");
                r2d2::Pool::builder()
                    .max_size(64)
                    .test_on_check_out(false)
                    .build(memcache::ConnectionManager::new(url))
                    .expect("pool")
            })
            .collect();
        memcache::Client::with_pools(pools).expect("memcache client")
    } else {
        let mut builder = memcache::Client::builder();
        for s in servers {
            builder = builder.add_server(url(s)).expect("server url");
        }
        builder
            .with_max_pool_size(64)
            .build()
            .expect("memcache client")
    }
}

/// Measure one peer on one workload; `None` when the peer cannot do it.
fn measure(
    peer: Peer,
    workload: &Workload,
    servers: &[String],
    seconds: f64,
) -> Result<Option<Measured>, String> {
    let servers: Vec<String> = if workload.all_servers {
        servers.to_vec()
    } else {
        servers[..1].to_vec()
    };
    if peer == Peer::AsyncMemcached && servers.len() > 1 {
        return Ok(None);
    }
    let tally = Arc::new(Tally::default());
    let window = Duration::from_secs_f64(seconds);
    let (started, cpu_before, elapsed, cpu_after);
    match peer {
        Peer::Ours | Peer::AsyncMemcached => {
            let rt = runtime(workload.tasks);
            let client = mc_client::Client::with_options(
                servers.iter().map(String::as_str),
                mc_client::Options::default(),
            );
            // Connect before the window.
            if peer == Peer::Ours {
                rt.block_on(client.get::<String>(&key(0)))
                    .map_err(|e| e.to_string())?;
            }
            started = Instant::now();
            cpu_before = cpu_seconds();
            rt.block_on(async {
                let handles: Vec<_> = (0..workload.tasks)
                    .map(|t| match peer {
                        Peer::Ours => {
                            tokio::spawn(run_ours(client.clone(), t, workload.op, tally.clone()))
                        }
                        _ => tokio::spawn(run_async_memcached(
                            servers[0].clone(),
                            t,
                            workload.op,
                            tally.clone(),
                        )),
                    })
                    .collect();
                tokio::time::sleep(window).await;
                tally.stop.store(true, Ordering::Relaxed);
                for h in handles {
                    let _ = h.await;
                }
            });
            elapsed = started.elapsed();
            cpu_after = cpu_seconds();
        }
        Peer::MemcacheDefault | Peer::MemcacheTuned => {
            let client = Arc::new(memcache_client(&servers, peer == Peer::MemcacheTuned));
            started = Instant::now();
            cpu_before = cpu_seconds();
            std::thread::scope(|scope| {
                for t in 0..workload.tasks {
                    let (client, tally) = (client.clone(), tally.clone());
                    scope.spawn(move || run_memcache(&client, t, workload.op, &tally));
                }
                std::thread::sleep(window);
                tally.stop.store(true, Ordering::Relaxed);
            });
            elapsed = started.elapsed();
            cpu_after = cpu_seconds();
        }
    }
    let failures = tally.failures.load(Ordering::Relaxed);
    if failures > 0 {
        let first = tally
            .first_failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .unwrap_or_default();
        return Err(format!(
            "{} on {}: {failures} failed operations; the first: {first}",
            peer.name(),
            workload.name
        ));
    }
    let ops = tally.ops.load(Ordering::Relaxed) as f64;
    Ok(Some(Measured {
        ops_per_sec: ops / elapsed.as_secs_f64(),
        cpu_us_per_op: (cpu_after - cpu_before) * 1e6 / ops.max(1.0),
    }))
}

fn spread(mut values: Vec<f64>) -> (f64, f64, f64) {
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len();
    let median = if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    };
    (values[0], median, values[n - 1])
}

fn main() -> std::process::ExitCode {
    let o = Options::parse();
    if o.servers.len() < 4 {
        eprintln!("mc-client-bench: give four servers (--servers a,b,c,d)");
        return std::process::ExitCode::from(2);
    }
    if let Some(unknown) = o
        .peers
        .iter()
        .find(|p| !PEERS.iter().any(|peer| peer.short() == p.as_str()))
    {
        let known: Vec<&str> = PEERS.iter().map(|p| p.short()).collect();
        eprintln!("mc-client-bench: unknown client {unknown:?}; known: {known:?}");
        return std::process::ExitCode::from(2);
    }
    // Store every key on every server: each client spreads keys over servers its own way.
    let preload = runtime(1);
    for server in &o.servers {
        let client = mc_client::Client::new([server.as_str()]);
        let stored = preload.block_on(async {
            for i in 0..KEYS {
                client.set(&key(i), VALUE, 0).await?;
            }
            Ok::<_, mc_client::Error>(())
        });
        if let Err(e) = stored {
            eprintln!("mc-client-bench: preload failed: {e}");
            return std::process::ExitCode::FAILURE;
        }
    }
    let mut report = Vec::new();
    eprintln!(
        "{:<44} {:<18} {:>28} {:>22}",
        "workload", "client", "ops/s median [min–max]", "client CPU µs/op"
    );
    let chosen = WORKLOADS.iter().filter(|w| {
        o.only
            .as_ref()
            .map_or(true, |only| w.name.contains(only.as_str()))
    });
    for workload in chosen {
        let mut results: Vec<(Peer, Vec<Measured>)> =
            PEERS.iter().map(|&p| (p, Vec::new())).collect();
        for round in 0..o.rounds {
            for k in 0..PEERS.len() {
                let index = (k + round) % PEERS.len();
                let peer = PEERS[index];
                if !o.peers.is_empty() && !o.peers.iter().any(|p| p == peer.short()) {
                    continue;
                }
                match measure(peer, workload, &o.servers, o.seconds) {
                    Ok(Some(m)) => results[index].1.push(m),
                    Ok(None) => {}
                    Err(e) => {
                        eprintln!("mc-client-bench: {e}");
                        return std::process::ExitCode::FAILURE;
                    }
                }
            }
        }
        let mut entries = Vec::new();
        for (peer, runs) in &results {
            if runs.is_empty() {
                eprintln!("{:<44} {:<18} {:>28}", workload.name, peer.short(), "n/a");
                entries.push(serde_json::json!({"client": peer.name(), "supported": false}));
                continue;
            }
            let ops = spread(runs.iter().map(|m| m.ops_per_sec).collect());
            let cpu = spread(runs.iter().map(|m| m.cpu_us_per_op).collect());
            eprintln!(
                "{:<44} {:<18} {:>10.0} [{:.0}–{:.0}] {:>8.2} [{:.2}–{:.2}]",
                workload.name,
                peer.short(),
                ops.1,
                ops.0,
                ops.2,
                cpu.1,
                cpu.0,
                cpu.2
            );
            entries.push(serde_json::json!({
                "client": peer.name(), "supported": true,
                "ops_per_sec": {"min": ops.0, "median": ops.1, "max": ops.2},
                "cpu_us_per_op": {"min": cpu.0, "median": cpu.1, "max": cpu.2},
            }));
        }
        // Ours against the best other peer, round by round (when both were run).
        let ours = &results[0].1;
        if ours.is_empty() || results[1..].iter().all(|(_, runs)| runs.is_empty()) {
            report.push(serde_json::json!({"workload": workload.name, "clients": entries}));
            continue;
        }
        let best_ratio: Vec<f64> = (0..ours.len())
            .map(|r| {
                let best = results[1..]
                    .iter()
                    .filter_map(|(_, runs)| runs.get(r))
                    .map(|m| m.ops_per_sec)
                    .fold(0.0, f64::max);
                ours[r].ops_per_sec / best
            })
            .collect();
        let ratio = spread(best_ratio);
        eprintln!(
            "{:<44} {:<18} {:>10.2} [{:.2}–{:.2}]",
            workload.name, "ratio vs best", ratio.1, ratio.0, ratio.2
        );
        report.push(serde_json::json!({
            "workload": workload.name, "clients": entries,
            "ratio_vs_best": {"min": ratio.0, "median": ratio.1, "max": ratio.2},
        }));
    }
    println!(
        "{}",
        serde_json::json!({"seconds": o.seconds, "rounds": o.rounds, "workloads": report})
    );
    std::process::ExitCode::SUCCESS
}
