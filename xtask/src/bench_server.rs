//! `cargo xtask bench server`: mc-server and Debian's memcached side by side, same threads,
//! same memory, same load generator (`mc-bench`), rounds alternated, medians and ratios reported.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::{workspace_root, Result};

/// A server process under test, stopped by PID when dropped.
pub(crate) struct Proc {
    pub(crate) name: &'static str,
    child: Child,
    pub(crate) addr: SocketAddr,
    _port_file: Option<PathBuf>,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    /// utime + stime of the process, in seconds.
    fn cpu_seconds(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the command name (which is in parentheses and may hold spaces).
        let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<&str> = after.split_whitespace().collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the name.
        (ticks(11) + ticks(12)) / clock_ticks()
    }

    pub(crate) fn rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            .map_or(0.0, |kib| kib / 1024.0)
    }
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

fn as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

pub(crate) fn start_memcached(threads: usize, memory_mb: usize) -> Result<Proc> {
    let port_file =
        std::env::temp_dir().join(format!("xtask-bench-memcached-{}.port", std::process::id()));
    let _ = std::fs::remove_file(&port_file);
    let mut cmd = crate::pinning::server_command("memcached");
    cmd.args(["-l", "127.0.0.1", "-p", "-1", "-U", "0", "-c", "4096"])
        .args(["-t", &threads.to_string(), "-m", &memory_mb.to_string()])
        .env("MEMCACHED_PORT_FILENAME", &port_file)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if as_root() {
        cmd.args(["-u", "memcache"]);
    }
    let child = cmd
        .spawn()
        .map_err(|e| format!("cannot start memcached (apt-get install memcached): {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(port) = std::fs::read_to_string(&port_file).ok().and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("TCP INET: ")?.trim().parse::<u16>().ok())
        }) {
            return Ok(Proc {
                name: "memcached",
                child,
                addr: SocketAddr::from(([127, 0, 0, 1], port)),
                _port_file: Some(port_file),
            });
        }
        if Instant::now() > deadline {
            return Err("memcached did not report its port".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub(crate) fn start_mc_server(bin: &Path, threads: usize, memory_mb: usize) -> Result<Proc> {
    let mut cmd = crate::pinning::server_command(bin);
    cmd.args(["-l", "127.0.0.1", "-p", "0", "-U", "0", "-c", "4096", "-v"])
        .args(["-t", &threads.to_string(), "-m", &memory_mb.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if as_root() {
        cmd.args(["-u", "memcache"]);
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start mc-server: {e}"))?;
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let mut lines = BufReader::new(stderr).lines();
    let addr = loop {
        let line = lines
            .next()
            .ok_or("mc-server exited before listening")?
            .map_err(|e| e.to_string())?;
        if let Some(addr) = line.split("listening on ").nth(1) {
            break addr
                .trim()
                .parse::<SocketAddr>()
                .map_err(|e| e.to_string())?;
        }
    };
    // Keep draining its log so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Ok(Proc {
        name: "mc-server",
        child,
        addr,
        _port_file: None,
    })
}

struct Workload {
    name: &'static str,
    args: &'static [&'static str],
}

const WORKLOADS: &[Workload] = &[
    Workload {
        name: "get90/set10 32B",
        args: &[
            "--conns",
            "50",
            "--get-ratio",
            "0.9",
            "--value-size",
            "32",
            "--keys",
            "100000",
        ],
    },
    Workload {
        name: "get90/set10 32B pipeline 16",
        args: &[
            "--conns",
            "50",
            "--pipeline",
            "16",
            "--get-ratio",
            "0.9",
            "--value-size",
            "32",
            "--keys",
            "100000",
        ],
    },
    Workload {
        name: "set 1KiB",
        args: &[
            "--conns",
            "50",
            "--get-ratio",
            "0",
            "--value-size",
            "1024",
            "--keys",
            "20000",
        ],
    },
    Workload {
        name: "get preloaded 32B",
        args: &[
            "--conns",
            "50",
            "--get-ratio",
            "1",
            "--value-size",
            "32",
            "--keys",
            "100000",
            "--preload",
        ],
    },
];

fn bench_once(bench: &Path, server: &Proc, workload: &Workload, seconds: f64) -> Result<Value> {
    let cpu_before = server.cpu_seconds();
    let output = Command::new(bench)
        .args([
            "--addr",
            &server.addr.to_string(),
            "--json",
            "--duration",
            &seconds.to_string(),
        ])
        .args(workload.args)
        .output()
        .map_err(|e| format!("cannot run mc-bench: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "mc-bench failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let cpu = server.cpu_seconds() - cpu_before;
    let mut result: Value = serde_json::from_slice(&output.stdout).map_err(|e| e.to_string())?;
    let ops = result["ops"].as_f64().unwrap_or(0.0);
    result["server_cpu_s"] = json!(cpu);
    result["ops_per_cpu_s"] = json!(if cpu > 0.0 { ops / cpu } else { 0.0 });
    Ok(result)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

/// Send sets of `value_size` bytes, `batch` at a time, until `until` says stop.
pub(crate) fn fill(
    addr: SocketAddr,
    value_size: usize,
    mut until: impl FnMut(u64, SocketAddr) -> bool,
) -> Result<u64> {
    let mut conn = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    let value = vec![b'v'; value_size];
    let mut i = 0u64;
    let batch = 500;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let mut wire = Vec::new();
        for _ in 0..batch {
            wire.extend_from_slice(format!("set {:016} 0 0 {value_size}\r\n", i).as_bytes());
            wire.extend_from_slice(&value);
            wire.extend_from_slice(b"\r\n");
            i += 1;
        }
        conn.write_all(&wire).map_err(|e| e.to_string())?;
        let mut answers = 0;
        let mut pending = Vec::new();
        while answers < batch {
            let n = conn.read(&mut buf).map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("server closed".into());
            }
            pending.extend_from_slice(&buf[..n]);
            while let Some(pos) = pending.iter().position(|&b| b == b'\n') {
                pending.drain(..=pos);
                answers += 1;
            }
        }
        if until(i, addr) {
            return Ok(i);
        }
    }
}

fn stat(addr: SocketAddr, name: &str) -> Result<u64> {
    let mut conn = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    conn.write_all(b"stats\r\n").map_err(|e| e.to_string())?;
    let mut text = String::new();
    let mut buf = [0u8; 8192];
    while !text.ends_with("END\r\n") {
        let n = conn.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("STAT {name} ")))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| format!("no stat {name}"))
}

fn memory(bin: &Path) -> Result<Value> {
    let mut results = Vec::new();
    for which in ["memcached", "mc-server"] {
        let server = if which == "memcached" {
            start_memcached(2, 64)?
        } else {
            start_mc_server(bin, 2, 64)?
        };
        // Items of 16-byte keys and 32-byte values held before the first eviction.
        fill(server.addr, 32, |i, addr| {
            i % 20_000 == 0 && stat(addr, "evictions").unwrap_or(0) > 0
        })?;
        let items = stat(server.addr, "curr_items")?;
        // Then write ten times -m in 1 KiB values and look at the process size.
        let target = 10 * 64 * 1024 * 1024 / 1024;
        fill(server.addr, 1024, |i, _| i >= target)?;
        let rss = server.rss_mib();
        println!("{:>10}: {items} items of 16B keys/32B values before evicting; RSS {rss:.1} MiB after writing 10x -m", server.name);
        results.push(json!({"server": server.name, "items_before_eviction": items, "rss_mib_after_10x": rss}));
    }
    Ok(json!(results))
}

pub(crate) fn run(args: &[String]) -> Result {
    let mut rounds = 5;
    let mut seconds = 3.0;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--rounds" => {
                rounds = iter
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or("--rounds N")?
            }
            "--seconds" => {
                seconds = iter
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or("--seconds S")?
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    let mut build = crate::cargo();
    build.args(["build", "--release", "-p", "mc-server", "-p", "mc-bench"]);
    crate::run(build)?;
    let target = workspace_root().join("target/release");
    let (server_bin, bench_bin) = (target.join("mc-server"), target.join("mc-bench"));

    let mut report = Vec::new();
    println!(
        "{:<32} {:>3} {:>12} {:>12} {:>7} {:>9} {:>9} {:>12} {:>12} {:>7}",
        "workload",
        "-t",
        "memcached",
        "mc-server",
        "ratio",
        "p99 mc",
        "p99 ours",
        "ops/cpu-s mc",
        "ops/cpu-s us",
        "ratio"
    );
    for threads in [1, 2] {
        let memcached = start_memcached(threads, 64)?;
        let ours = start_mc_server(&server_bin, threads, 64)?;
        for workload in WORKLOADS {
            let mut runs: [Vec<Value>; 2] = [Vec::new(), Vec::new()];
            for round in 0..rounds {
                // Alternate which server goes first.
                let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
                for i in order {
                    let server = if i == 0 { &memcached } else { &ours };
                    runs[i].push(bench_once(&bench_bin, server, workload, seconds)?);
                }
            }
            let med = |i: usize, field: &str| {
                median(
                    runs[i]
                        .iter()
                        .map(|r| r[field].as_f64().unwrap_or(0.0))
                        .collect(),
                )
            };
            let (mc_ops, our_ops) = (med(0, "ops_per_sec"), med(1, "ops_per_sec"));
            let (mc_cpu, our_cpu) = (med(0, "ops_per_cpu_s"), med(1, "ops_per_cpu_s"));
            let (mc_p99, our_p99) = (med(0, "p99_us"), med(1, "p99_us"));
            println!(
                "{:<32} {:>3} {:>12.0} {:>12.0} {:>7.2} {:>9.0} {:>9.0} {:>12.0} {:>12.0} {:>7.2}",
                workload.name,
                threads,
                mc_ops,
                our_ops,
                our_ops / mc_ops,
                mc_p99,
                our_p99,
                mc_cpu,
                our_cpu,
                our_cpu / mc_cpu
            );
            report.push(json!({
                "workload": workload.name, "threads": threads, "rounds": rounds, "seconds": seconds,
                "memcached": {"ops_per_sec": mc_ops, "p50_us": med(0, "p50_us"), "p99_us": mc_p99, "ops_per_cpu_s": mc_cpu},
                "mc_server": {"ops_per_sec": our_ops, "p50_us": med(1, "p50_us"), "p99_us": our_p99, "ops_per_cpu_s": our_cpu},
                "ratio_ops": our_ops / mc_ops, "ratio_ops_per_cpu": our_cpu / mc_cpu,
            }));
        }
    }
    let memory = memory(&server_bin)?;
    let out = workspace_root().join("target/bench");
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    let path = out.join("server.json");
    let doc = json!({"throughput": report, "memory": memory});
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    println!("results written to {}", path.display());
    Ok(())
}
