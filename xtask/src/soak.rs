//! `cargo xtask soak [--seconds N]`: mixed load on a release mc-server for a bounded time
//! (default 600 s), watching its memory, then checking its statistics add up.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::servers::{self, Placement};
use crate::task_args::TaskArgs;
use crate::{workspace_root, Result};

fn ask(addr: SocketAddr, request: &[u8]) -> Result<String> {
    let mut conn = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    conn.write_all(request).map_err(|e| e.to_string())?;
    let mut text = Vec::new();
    let mut buf = [0u8; 1 << 16];
    while !text.ends_with(b"END\r\n") {
        let n = mc_testkit::read_some(&mut conn, &mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        text.extend_from_slice(&buf[..n]);
    }
    Ok(String::from_utf8_lossy(&text).into_owned())
}

fn stat(stats: &str, name: &str) -> u64 {
    stats
        .lines()
        .find_map(|l| l.strip_prefix(&format!("STAT {name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

pub(crate) fn run(args: &[String]) -> Result {
    let options = TaskArgs::defaults(1, 600.0).parse(args, &["--seconds"], false)?;
    let seconds = options.seconds.round() as u64;
    let mut build = crate::cargo();
    build.args(["build", "--release", "-p", "mc-server", "-p", "mc-bench"]);
    crate::run(build)?;
    let target = workspace_root().join("target/release");
    let server = servers::mc_server(2, 64, Placement::Free)?;
    // 200,000 keys of 1 KiB: three times -m, so eviction runs all along.
    let mut load = Command::new(target.join("mc-bench"))
        .args([
            "--addr",
            &server.addr.to_string(),
            "--conns",
            "32",
            "--pipeline",
            "4",
        ])
        .args([
            "--get-ratio",
            "0.8",
            "--value-size",
            "1024",
            "--keys",
            "200000",
        ])
        .args(["--duration", &seconds.to_string()])
        .spawn()
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut samples = Vec::new();
    while started.elapsed() < Duration::from_secs(seconds) {
        std::thread::sleep(Duration::from_secs(5));
        let rss = server.rss_mib();
        samples.push((started.elapsed().as_secs(), rss));
        println!("{:>5} s  RSS {rss:.1} MiB", started.elapsed().as_secs());
    }
    // mc-bench exits non-zero on any error answer: a soak with errors fails here.
    let status = load.wait().map_err(|e| e.to_string())?;
    if !status.success() {
        return Err("the load generator failed or saw error answers".into());
    }
    let stats = ask(server.addr, b"stats\r\n")?;
    let dump = ask(server.addr, b"lru_crawler metadump all\r\n")?;
    let scanned = dump.lines().filter(|l| l.starts_with("key=")).count() as u64;
    let curr_items = stat(&stats, "curr_items");
    let (cmd_get, hits, misses) = (
        stat(&stats, "cmd_get"),
        stat(&stats, "get_hits"),
        stat(&stats, "get_misses"),
    );
    let (total_items, evictions) = (stat(&stats, "total_items"), stat(&stats, "evictions"));
    let second_half: Vec<f64> = samples
        .iter()
        .skip(samples.len() / 2)
        .map(|s| s.1)
        .collect();
    let (low, high) = second_half
        .iter()
        .fold((f64::MAX, 0.0_f64), |(lo, hi), &r| (lo.min(r), hi.max(r)));
    println!("curr_items {curr_items}, key scan {scanned}; cmd_get {cmd_get} = hits {hits} + misses {misses}; total_items {total_items}, evictions {evictions}");
    println!("RSS over the second half: {low:.1} to {high:.1} MiB");
    let mut failures = Vec::new();
    if curr_items != scanned {
        failures.push(format!(
            "curr_items {curr_items} but a key scan finds {scanned}"
        ));
    }
    if cmd_get != hits + misses {
        failures.push(format!(
            "cmd_get {cmd_get} != get_hits {hits} + get_misses {misses}"
        ));
    }
    if total_items < curr_items + evictions {
        failures.push(format!(
            "total_items {total_items} < curr_items {curr_items} + evictions {evictions}"
        ));
    }
    if high - low > 8.0 {
        failures.push(format!(
            "RSS still growing after warm-up: {low:.1} to {high:.1} MiB"
        ));
    }
    if high > 64.0 + 16.0 {
        failures.push(format!("RSS {high:.1} MiB above -m + 16 MiB"));
    }
    if failures.is_empty() {
        println!("soak passed");
        Ok(())
    } else {
        Err(failures.join("; "))
    }
}
