//! `cargo xtask bench scan`: how long other clients wait while one client dumps the whole
//! cache (`lru_crawler metadump all`), mc-server against memcached, same items, same script.
//!
//! Each server (release build of mc-server; Debian's memcached; both `-t 2 -m 128`, pinned to
//! core 0 while this process runs on core 1) gets the same 500,000 items (16-byte keys, 32-byte values). Then one connection asks for the dump and
//! reads it as fast as it can, while another sends `get` after `get` on one key and times each
//! round trip. Before each dump the same prober runs for half a second on the idle server,
//! so that the report shows what its longest wait is with no dump at all (on a shared or
//! virtual machine, single waits of milliseconds happen anyway). Rounds alternate which
//! server goes first; the report gives, per server, the items listed, the dump's duration, the
//! prober's p99 and maximum wait, and its maximum wait when idle, as min / median / max over
//! the rounds.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::bench_memory::fill;
use crate::servers::{self, Placement, Proc};
use crate::spread::Spread;
use crate::task_args::TaskArgs;
use crate::Result;

const ITEMS: u64 = 500_000;

/// How long the prober runs with no dump, to show what its waits are without one.
const IDLE_WINDOW: Duration = Duration::from_millis(500);

/// One dump with a prober beside it, and the same prober on the idle server.
struct Measurement {
    listed: u64,
    dump_seconds: f64,
    probes: usize,
    p99_us: u64,
    max_us: u64,
    /// The prober's p99 and longest wait over [`IDLE_WINDOW`] with no dump running: this
    /// machine's own hiccups, the floor under `max_us`.
    idle_p99_us: u64,
    idle_max_us: u64,
}

/// The p99 and the longest of some round-trip times (not empty).
fn p99_and_max(mut times: Vec<u64>) -> Result<(u64, u64)> {
    if times.is_empty() {
        return Err("the prober got no answer".into());
    }
    times.sort_unstable();
    let p99 = times[(times.len() * 99 / 100).min(times.len() - 1)];
    Ok((p99, times[times.len() - 1]))
}

/// Run the prober while `work` runs; the prober's round-trip times and what `work` returned.
fn probe_during<T>(addr: SocketAddr, work: impl FnOnce() -> Result<T>) -> Result<(Vec<u64>, T)> {
    let stop = Arc::new(AtomicBool::new(false));
    let prober = {
        let stop = stop.clone();
        std::thread::spawn(move || probe_until(addr, &stop))
    };
    // Let the prober settle into its loop.
    std::thread::sleep(Duration::from_millis(100));
    let outcome = work();
    stop.store(true, Ordering::Relaxed);
    let times = prober.join().map_err(|_| "prober panicked")??;
    Ok((times, outcome?))
}

fn probe_until(addr: SocketAddr, stop: &AtomicBool) -> Result<Vec<u64>> {
    let mut conn = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    conn.set_nodelay(true).map_err(|e| e.to_string())?;
    let key = format!("{:016}", 7);
    let request = format!("get {key}\r\n");
    let mut times = Vec::new();
    let mut buf = [0u8; 256];
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        conn.write_all(request.as_bytes())
            .map_err(|e| e.to_string())?;
        let mut got = Vec::new();
        while !got.ends_with(b"END\r\n") {
            let n = mc_testkit::read_some(&mut conn, &mut buf).map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("the server closed the prober".into());
            }
            got.extend_from_slice(&buf[..n]);
        }
        if !got.starts_with(b"VALUE ") {
            return Err(format!(
                "prober: miss or error: {:?}",
                String::from_utf8_lossy(&got)
            ));
        }
        times.push(started.elapsed().as_micros() as u64);
    }
    Ok(times)
}

fn measure(server: &Proc) -> Result<Measurement> {
    let (idle_times, ()) = probe_during(server.addr, || {
        std::thread::sleep(IDLE_WINDOW);
        Ok(())
    })?;
    let (idle_p99_us, idle_max_us) = p99_and_max(idle_times)?;
    let started = Instant::now();
    let (times, listed) = probe_during(server.addr, || dump(server.addr))?;
    let dump_seconds = started.elapsed().as_secs_f64();
    let probes = times.len();
    let (p99_us, max_us) = p99_and_max(times)?;
    Ok(Measurement {
        listed,
        dump_seconds,
        probes,
        p99_us,
        max_us,
        idle_p99_us,
        idle_max_us,
    })
}

/// Ask `addr` for a metadump of everything and read it to the end as fast as possible; the
/// number of items listed.
fn dump(addr: SocketAddr) -> Result<u64> {
    let mut conn = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    conn.write_all(b"lru_crawler metadump all\r\n")
        .map_err(|e| e.to_string())?;
    let mut reader = BufReader::with_capacity(1 << 16, conn);
    let mut line = Vec::new();
    let mut listed = 0;
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("the dump ended early".into());
        }
        if line == b"END\r\n" {
            return Ok(listed);
        }
        if !line.starts_with(b"key=") {
            return Err(format!("dump line {:?}", String::from_utf8_lossy(&line)));
        }
        listed += 1;
    }
}

pub(crate) fn run(args: &[String]) -> Result {
    let rounds = TaskArgs::defaults(3, 0.0)
        .parse(args, &["--rounds"], false)?
        .rounds;
    let mut build = crate::cargo();
    build.args(["build", "--release", "-p", "mc-server"]);
    crate::run(build)?;
    // Pinned before any thread starts, so the prober and the dump reader inherit it.
    let pinning = crate::pinning::pin_self_to_load_core();
    let servers = [
        servers::memcached(2, 128, Placement::Pinned, &[])?,
        servers::mc_server(2, 128, Placement::Pinned)?,
    ];
    for server in &servers {
        fill(server.addr, 32, |i| Ok(i >= ITEMS))?;
    }
    let mut results: [Vec<Measurement>; 2] = [Vec::new(), Vec::new()];
    for round in 0..rounds {
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for i in order {
            results[i].push(measure(&servers[i])?);
        }
    }
    println!(
        "metadump of {ITEMS} items while another client sends gets ({rounds} rounds, min/median/max; -t 2 -m 128 both; {pinning})"
    );
    println!(
        "{:<10} {:>8} {:>22} {:>22} {:>26} {:>26}",
        "server", "listed", "dump seconds", "get p99 µs", "get max µs", "idle get max µs"
    );
    let mut report = Vec::new();
    for (server, runs) in servers.iter().zip(&results) {
        let pick = |f: fn(&Measurement) -> f64| Spread::of(runs.iter().map(f));
        let listed = pick(|m| m.listed as f64);
        let seconds = pick(|m| m.dump_seconds);
        let p99 = pick(|m| m.p99_us as f64);
        let max = pick(|m| m.max_us as f64);
        let idle_max = pick(|m| m.idle_max_us as f64);
        println!(
            "{:<10} {:>8.0} {:>6.2} {:>6.2} {:>6.2} {:>7.0} {:>6.0} {:>7.0} {:>8.0} {:>8.0} {:>8.0} {:>8.0} {:>8.0} {:>8.0}",
            server.name, listed.median, seconds.min, seconds.median, seconds.max, p99.min,
            p99.median, p99.max, max.min, max.median, max.max, idle_max.min, idle_max.median,
            idle_max.max
        );
        report.push(json!({
            "date": crate::today(),
            "server": server.name,
            "items": ITEMS,
            "rounds": runs.iter().map(|m| json!({
                "listed": m.listed, "dump_seconds": m.dump_seconds, "probes": m.probes,
                "p99_us": m.p99_us, "max_us": m.max_us,
                "idle_p99_us": m.idle_p99_us, "idle_max_us": m.idle_max_us,
            })).collect::<Vec<Value>>(),
        }));
    }
    crate::write_results("scan.json", &json!(report))
}
