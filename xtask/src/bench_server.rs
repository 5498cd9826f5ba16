//! `cargo xtask bench server`: mc-server and Debian's memcached side by side, same threads,
//! same memory, with two load generators: ours (`mc-bench`) and libmemcached's `memcaslap`.
//!
//! Every measurement checks itself:
//! - `mc-bench` runs in handshake mode: the server's CPU time and `stats` are read at the exact
//!   edges of the window whose requests it counts (after the preload and the warm-up), and the
//!   server's own count of requests in that window must equal the generator's;
//! - any error answer makes the generator, and so the benchmark, fail;
//! - the two servers' hit ratios in the window (`get_hits / cmd_get`) must agree within one
//!   point, or the comparison is refused: a server that misses more would look faster.
//!
//! Rounds alternate which server goes first; each figure is given as median [min–max], and the
//! ratio is computed per round (ours / memcached in the same round) before taking its spread.
//! At `-t 1` the servers run on core 0 and the generators on core 1; at `-t 2` nothing is
//! pinned (the server needs both cores).
//!
//! `cargo xtask bench server io-uring` runs mc-server with `-o io_uring` instead (results in
//! `target/bench/server-io-uring.json`; the memory comparison, the same on either path, is
//! left to the default run).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use mc_testkit::CpuTimes;
use serde_json::{json, Value};

use crate::pinning;
use crate::servers::{self, IoPath, Placement, Proc};
use crate::spread::Spread;
use crate::task_args::TaskArgs;
use crate::Result;

/// A workload for `mc-bench`.
pub(crate) struct Workload {
    pub(crate) name: &'static str,
    args: &'static [&'static str],
}

pub(crate) const WORKLOADS: &[Workload] = &[
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
            "--preload",
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
            "--preload",
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

/// A workload for `memcaslap` (it has no pipelining): its configuration file's contents.
struct SlapWorkload {
    name: &'static str,
    /// `key`, `value` and `cmd` sections of memcaslap's `-F` file.
    config: &'static str,
}

const SLAP_WORKLOADS: &[SlapWorkload] = &[
    SlapWorkload {
        name: "get90/set10 32B",
        config: "key\n16 16 1\nvalue\n32 32 1\ncmd\n0 0.1\n1 0.9\n",
    },
    SlapWorkload {
        name: "set 1KiB",
        config: "key\n16 16 1\nvalue\n1024 1024 1\ncmd\n0 1.0\n1 0.0\n",
    },
];

/// The server's counters in a window.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Counters {
    pub(crate) cmd_get: u64,
    pub(crate) cmd_set: u64,
    get_hits: u64,
    get_misses: u64,
    evictions: u64,
}

impl Counters {
    fn read(stats: &HashMap<String, String>) -> Counters {
        let n = |name| mc_testkit::stat_u64(stats, name);
        Counters {
            cmd_get: n("cmd_get"),
            cmd_set: n("cmd_set"),
            get_hits: n("get_hits"),
            get_misses: n("get_misses"),
            evictions: n("evictions"),
        }
    }

    fn since(self, before: Counters) -> Counters {
        Counters {
            cmd_get: self.cmd_get - before.cmd_get,
            cmd_set: self.cmd_set - before.cmd_set,
            get_hits: self.get_hits - before.get_hits,
            get_misses: self.get_misses - before.get_misses,
            evictions: self.evictions - before.evictions,
        }
    }

    fn hit_ratio(self) -> f64 {
        if self.cmd_get == 0 {
            1.0
        } else {
            self.get_hits as f64 / self.cmd_get as f64
        }
    }

    fn to_json(self) -> Value {
        json!({"cmd_get": self.cmd_get, "cmd_set": self.cmd_set, "get_hits": self.get_hits,
               "get_misses": self.get_misses, "evictions": self.evictions})
    }
}

/// One measurement of one server.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    pub(crate) ops_per_sec: f64,
    /// Latency percentiles (µs), when the generator reports them.
    p50_us: Option<f64>,
    p99_us: Option<f64>,
    /// The server's user and system time per request over the window, in µs.
    user_us_per_op: f64,
    system_us_per_op: f64,
    pub(crate) counters: Counters,
}

impl Run {
    /// A run of `ops` requests in `seconds`, for which the server used `cpu`.
    fn of(ops: f64, seconds: f64, cpu: CpuTimes, counters: Counters) -> Run {
        let per_op = |t: f64| if ops > 0.0 { t * 1e6 / ops } else { 0.0 };
        Run {
            ops_per_sec: ops / seconds,
            p50_us: None,
            p99_us: None,
            user_us_per_op: per_op(cpu.user),
            system_us_per_op: per_op(cpu.system),
            counters,
        }
    }

    /// Requests per second of the server's CPU time (0 when none was measured).
    fn ops_per_cpu_s(&self) -> f64 {
        let us = self.user_us_per_op + self.system_us_per_op;
        if us > 0.0 {
            1e6 / us
        } else {
            0.0
        }
    }

    fn to_json(&self) -> Value {
        json!({"ops_per_sec": self.ops_per_sec, "p50_us": self.p50_us, "p99_us": self.p99_us,
               "ops_per_cpu_s": self.ops_per_cpu_s(), "user_us_per_op": self.user_us_per_op,
               "system_us_per_op": self.system_us_per_op,
               "server_counters": self.counters.to_json()})
    }
}

/// The server's CPU time and counters now.
fn snapshot(server: &Proc) -> Result<(CpuTimes, Counters)> {
    Ok((server.cpu_times(), Counters::read(&server.stats()?)))
}

/// Run `mc-bench` in handshake mode against `server`.
fn run_mc_bench(server: &Proc, workload: &Workload, seconds: f64, pin: bool) -> Result<Run> {
    run_mc_bench_observed(server, workload, seconds, pin, &mut || Ok(()), &mut || {
        Ok(())
    })
}

/// [`run_mc_bench`], calling `at_start` just before the measured window opens and `at_end`
/// just after it closes (to observe the server over exactly that window).
pub(crate) fn run_mc_bench_observed(
    server: &Proc,
    workload: &Workload,
    seconds: f64,
    pin: bool,
    at_start: &mut dyn FnMut() -> Result,
    at_end: &mut dyn FnMut() -> Result,
) -> Result<Run> {
    let bench = servers::release_binary("mc-bench");
    let mut cmd = if pin {
        pinning::load_command(&bench)
    } else {
        Command::new(&bench)
    };
    let mut child = cmd
        .args(["--addr", &server.addr.to_string(), "--json", "--handshake"])
        .args(["--duration", &seconds.to_string()])
        .args(workload.args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run mc-bench: {e}"))?;
    let mut stderr = BufReader::new(child.stderr.take().ok_or("no stderr")?);
    let mut log = String::new();
    let mut wait_for = |marker: &str, log: &mut String| -> Result {
        loop {
            let mut line = String::new();
            if stderr.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
                return Err(format!("mc-bench ended before {marker:?}: {log}"));
            }
            if line.trim_end() == marker {
                return Ok(());
            }
            log.push_str(&line);
        }
    };
    wait_for("mc-bench: window ready", &mut log)?;
    at_start()?;
    let (cpu_before, before) = snapshot(server)?;
    child
        .stdin
        .take()
        .ok_or("no stdin")?
        .write_all(b"go\n")
        .map_err(|e| e.to_string())?;
    wait_for("mc-bench: window done", &mut log)?;
    let (cpu_after, after) = snapshot(server)?;
    at_end()?;
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut stderr, &mut rest);
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err(format!(
            "mc-bench failed against {} ({}): {log}{rest}",
            server.name, workload.name
        ));
    }
    let report: Value = serde_json::from_slice(&output.stdout).map_err(|e| e.to_string())?;
    let ops = report["ops"].as_u64().ok_or("mc-bench reported no ops")?;
    let window = report["window_s"].as_f64().ok_or("no window")?;
    let counters = after.since(before);
    let seen = counters.cmd_get + counters.cmd_set;
    if seen != ops {
        return Err(format!(
            "{} counted {seen} requests in the window, mc-bench {ops}: the window leaks",
            server.name
        ));
    }
    Ok(Run {
        p50_us: report["p50_us"].as_f64(),
        p99_us: report["p99_us"].as_f64(),
        ..Run::of(ops as f64, window, cpu_after.since(cpu_before), counters)
    })
}

/// Run `memcaslap` against `server`; the server's CPU and counters are read just before it
/// starts and just after it exits (memcaslap has no warm-up and no handshake).
fn run_memcaslap(server: &Proc, workload: &SlapWorkload, seconds: f64, pin: bool) -> Result<Run> {
    let config = std::env::temp_dir().join(format!("xtask-memcaslap-{}.cfg", std::process::id()));
    std::fs::write(&config, workload.config).map_err(|e| e.to_string())?;
    let mut cmd = if pin {
        pinning::load_command("memcaslap")
    } else {
        Command::new("memcaslap")
    };
    cmd.args(["-s", &server.addr.to_string(), "-T", "1", "-c", "50"])
        .arg(format!("-t{}s", seconds.round().max(1.0)))
        .arg("-F")
        .arg(&config);
    let (cpu_before, before) = snapshot(server)?;
    let output = cmd
        .output()
        .map_err(|e| format!("cannot run memcaslap (apt-get install libmemcached-tools): {e}"))?;
    let (cpu_after, after) = snapshot(server)?;
    let _ = std::fs::remove_file(&config);
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        return Err(format!("memcaslap failed against {}: {text}", server.name));
    }
    // "Run time: 3.0s Ops: 266863 TPS: 88941 Net_rate: 7.5M/s"
    let summary = text
        .lines()
        .find(|l| l.starts_with("Run time:"))
        .ok_or_else(|| format!("no summary from memcaslap: {text}"))?;
    let field = |name: &str| -> Result<f64> {
        summary
            .split_whitespace()
            .skip_while(|w| *w != name)
            .nth(1)
            .map(|v| v.trim_end_matches('s'))
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("no {name} in {summary:?}"))
    };
    let (ops, run_time) = (field("Ops:")?, field("time:")?);
    let counters = after.since(before);
    let seen = (counters.cmd_get + counters.cmd_set) as f64;
    // memcaslap counts what it completed; the server may have seen the last few in flight.
    if (seen - ops).abs() > ops * 0.005 + 100.0 {
        return Err(format!(
            "{} counted {seen} requests, memcaslap {ops}: answers went missing",
            server.name
        ));
    }
    Ok(Run::of(
        ops,
        run_time,
        cpu_after.since(cpu_before),
        counters,
    ))
}

/// Both servers' runs of one workload, round by round.
struct Comparison {
    generator: &'static str,
    workload: &'static str,
    threads: usize,
    /// `[memcached, mc-server]` per round.
    rounds: Vec<[Run; 2]>,
}

impl Comparison {
    fn spread(&self, server: usize, metric: impl Fn(&Run) -> Option<f64>) -> Spread {
        Spread::of(self.rounds.iter().filter_map(|r| metric(&r[server])))
    }

    fn ratio(&self, metric: impl Fn(&Run) -> f64) -> Spread {
        Spread::of(self.rounds.iter().map(|r| metric(&r[1]) / metric(&r[0])))
    }

    /// Refuse a comparison in which the servers did not do the same work.
    fn check_hit_ratios(&self) -> Result {
        let hits = |i: usize| self.spread(i, |r| Some(r.counters.hit_ratio())).median;
        let (theirs, ours) = (hits(0), hits(1));
        if (theirs - ours).abs() > 0.01 {
            return Err(format!(
                "{} {} -t {}: hit ratios differ ({:.3} memcached, {:.3} mc-server); not comparable",
                self.generator, self.workload, self.threads, theirs, ours
            ));
        }
        Ok(())
    }

    fn print(&self) {
        let ops = |i| self.spread(i, |r| Some(r.ops_per_sec));
        let p99 = |i| self.spread(i, |r| r.p99_us);
        let hits = |i| self.spread(i, |r| Some(r.counters.hit_ratio())).median;
        // The server's CPU per request, user + system (medians), to show where it goes.
        let split = |i| {
            format!(
                "{:.2}+{:.2}",
                self.spread(i, |r| Some(r.user_us_per_op)).median,
                self.spread(i, |r| Some(r.system_us_per_op)).median
            )
        };
        let p99s = if self.rounds[0][0].p99_us.is_some() {
            format!("{:>7.0} {:>7.0}", p99(0).median, p99(1).median)
        } else {
            format!("{:>7} {:>7}", "-", "-")
        };
        println!(
            "{:<9} {:<28} {:>2} {:>26} {:>26} {:>18} {p99s} {:>18} {:>18} {:>18} {:>5.3} {:>5.3}",
            self.generator,
            self.workload,
            self.threads,
            ops(0).show(0),
            ops(1).show(0),
            self.ratio(|r| r.ops_per_sec).show(2),
            self.ratio(Run::ops_per_cpu_s).show(2),
            split(0),
            split(1),
            hits(0),
            hits(1),
        );
    }

    fn to_json(&self) -> Value {
        let server = |i: usize| {
            json!({
                "ops_per_sec": self.spread(i, |r| Some(r.ops_per_sec)).to_json(),
                "p50_us": self.spread(i, |r| r.p50_us).to_json(),
                "p99_us": self.spread(i, |r| r.p99_us).to_json(),
                "ops_per_cpu_s": self.spread(i, |r| Some(r.ops_per_cpu_s())).to_json(),
                "user_us_per_op": self.spread(i, |r| Some(r.user_us_per_op)).to_json(),
                "system_us_per_op": self.spread(i, |r| Some(r.system_us_per_op)).to_json(),
                "hit_ratio": self.spread(i, |r| Some(r.counters.hit_ratio())).to_json(),
            })
        };
        json!({
            "generator": self.generator, "workload": self.workload, "threads": self.threads,
            "memcached": server(0), "mc_server": server(1),
            "ratio_ops": self.ratio(|r| r.ops_per_sec).to_json(),
            "ratio_ops_per_cpu": self.ratio(Run::ops_per_cpu_s).to_json(),
            "rounds": self.rounds.iter().map(|r| json!({"memcached": r[0].to_json(), "mc_server": r[1].to_json()})).collect::<Vec<_>>(),
        })
    }
}

/// Alternate the two servers over `rounds`, measuring each with `measure`.
fn compare(
    servers: &[Proc; 2],
    rounds: usize,
    mut measure: impl FnMut(&Proc) -> Result<Run>,
) -> Result<Vec<[Run; 2]>> {
    let mut all = Vec::new();
    for round in 0..rounds {
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        let mut pair: [Option<Run>; 2] = [None, None];
        for i in order {
            pair[i] = Some(measure(&servers[i])?);
        }
        if let [Some(theirs), Some(ours)] = pair {
            all.push([theirs, ours]);
        }
    }
    Ok(all)
}

pub(crate) fn run(args: &[String]) -> Result {
    let options =
        TaskArgs::defaults(5, 3.0).parse(args, &["--rounds", "--seconds", "--threads"], true)?;
    // `io-uring`: mc-server with `-o io_uring` instead of its default I/O path.
    let io = match options.rest.as_slice() {
        [] => IoPath::Tokio,
        [word] if word == "io-uring" => IoPath::Uring,
        other => {
            return Err(format!(
                "unknown arguments {other:?}; this task takes io-uring"
            ))
        }
    };
    let (rounds, seconds, threads_list) = (options.rounds, options.seconds, options.threads);
    let mut build = crate::cargo();
    build.args(["build", "--release", "-p", "mc-server", "-p", "mc-bench"]);
    crate::run(build)?;
    let date = crate::today();
    println!(
        "{} vs memcached {} on {date}: {rounds} rounds of {seconds} s, median [min–max]; ratios are mc-server / memcached per round",
        io.server_name(),
        crate::memcached_version()
    );
    println!(
        "{:<9} {:<28} {:>2} {:>26} {:>26} {:>18} {:>7} {:>7} {:>18} {:>18} {:>18} {:>5} {:>5}",
        "generator",
        "workload",
        "-t",
        "memcached ops/s",
        "mc-server ops/s",
        "ratio",
        "p99 mc",
        "p99 us",
        "ops/CPU-s ratio",
        "µs/req mc user+sys",
        "µs/req us user+sys",
        "hit mc",
        "hit us"
    );
    let mut comparisons = Vec::new();
    for &threads in &threads_list {
        let pin = threads == 1 && pinning::available();
        let placement = if pin {
            Placement::Pinned
        } else {
            Placement::Free
        };
        let servers = [
            servers::memcached(threads, 64, placement, &[])?,
            servers::mc_server_on(io, threads, 64, placement)?,
        ];
        for workload in WORKLOADS {
            let rounds = compare(&servers, rounds, |server| {
                run_mc_bench(server, workload, seconds, pin)
            })?;
            let comparison = Comparison {
                generator: "mc-bench",
                workload: workload.name,
                threads,
                rounds,
            };
            comparison.print();
            comparison.check_hit_ratios()?;
            comparisons.push(comparison);
        }
        for workload in SLAP_WORKLOADS {
            let rounds = compare(&servers, rounds, |server| {
                run_memcaslap(server, workload, seconds, pin)
            })?;
            let comparison = Comparison {
                generator: "memcaslap",
                workload: workload.name,
                threads,
                rounds,
            };
            comparison.print();
            comparison.check_hit_ratios()?;
            comparisons.push(comparison);
        }
    }
    if io == IoPath::Uring {
        // The store is the same on either path: its memory is measured by the default run.
        let doc = json!({
            "date": date,
            "memcached": crate::memcached_version(),
            "mc_server": io.server_name(),
            "pinning": if pinning::available() { "-t 1: servers on core 0, generators on core 1; -t 2: not pinned" } else { "not pinned" },
            "rounds": rounds, "seconds": seconds,
            "throughput": comparisons.iter().map(Comparison::to_json).collect::<Vec<_>>(),
        });
        return crate::write_results("server-io-uring.json", &doc);
    }
    let memory = crate::bench_memory::measure()?;
    let doc = json!({
        "date": date,
        "memcached": crate::memcached_version(),
        "pinning": if pinning::available() { "-t 1: servers on core 0, generators on core 1; -t 2: not pinned" } else { "not pinned" },
        "rounds": rounds, "seconds": seconds,
        "throughput": comparisons.iter().map(Comparison::to_json).collect::<Vec<_>>(),
        "memory": memory,
    });
    crate::write_results("server.json", &doc)
}
