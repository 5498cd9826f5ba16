//! `cargo xtask bench syscalls`: the system calls each server makes per request (memcached,
//! mc-server, and mc-server with `-o io_uring`), over the same measured window of the same `mc-bench` workload (90% get / 10% set of 32-byte values, 50
//! connections, not pipelined, `-t 1`, servers on core 0 and the generator on core 1).
//!
//! `strace -c -f` is attached to the running server just before the window opens and detached
//! just after it closes; the server's own `cmd_get + cmd_set` over the window (which must
//! equal the generator's count) is the number of requests. strace slows the traced server, so
//! the throughput of these runs means nothing; the counts per request are what is measured.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use crate::bench_server::{run_mc_bench_observed, WORKLOADS};
use crate::pinning;
use crate::servers::{self, IoPath, Placement, Proc};
use crate::task_args::TaskArgs;
use crate::Result;

/// One server's system calls over the window: (name, calls), most frequent first.
type Counts = Vec<(String, u64)>;

/// Parse `strace -c`'s summary table.
fn parse_summary(text: &str) -> Counts {
    let mut counts: Counts = text
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // `% time  seconds  usecs/call  calls  [errors]  syscall`
            if fields.len() < 5 || fields[0].parse::<f64>().is_err() {
                return None;
            }
            let name = fields.last()?;
            if *name == "total" {
                return None;
            }
            Some((name.to_string(), fields[3].parse().ok()?))
        })
        .collect();
    counts.sort_by_key(|c| std::cmp::Reverse(c.1));
    counts
}

/// Run the workload against `server` with strace attached over the window.
fn measure(server: &Proc, seconds: f64, pin: bool) -> Result<(Counts, u64)> {
    let out = crate::results_dir()?.join(format!("strace-{}.txt", server.name));
    let pid = server.process.pid().to_string();
    let tracer: std::cell::RefCell<Option<Child>> = std::cell::RefCell::new(None);
    let workload = WORKLOADS
        .iter()
        .find(|w| w.name == "get90/set10 32B")
        .ok_or("workload missing")?;
    let run = run_mc_bench_observed(
        server,
        workload,
        seconds,
        pin,
        &mut || {
            let child = Command::new("strace")
                .args(["-c", "-f", "-p", &pid, "-o"])
                .arg(&out)
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("cannot run strace: {e} (apt-get install strace)"))?;
            *tracer.borrow_mut() = Some(child);
            // strace attaches to every thread before the window opens.
            std::thread::sleep(Duration::from_millis(500));
            Ok(())
        },
        &mut || {
            if let Some(mut child) = tracer.borrow_mut().take() {
                // SIGINT makes strace detach and write its summary (by PID: our own child).
                Command::new("kill")
                    .args(["-INT", &child.id().to_string()])
                    .status()
                    .map_err(|e| e.to_string())?;
                child.wait().map_err(|e| e.to_string())?;
            }
            Ok(())
        },
    )?;
    let text = std::fs::read_to_string(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let requests = run.counters.cmd_get + run.counters.cmd_set;
    if requests == 0 {
        return Err(format!("{}: no requests in the window", server.name));
    }
    Ok((parse_summary(&text), requests))
}

pub(crate) fn run(args: &[String]) -> Result {
    let options = TaskArgs::defaults(1, 5.0).parse(args, &["--seconds"], false)?;
    let mut build = crate::cargo();
    build.args(["build", "--release", "-p", "mc-server", "-p", "mc-bench"]);
    crate::run(build)?;
    let pin = pinning::available();
    let placement = if pin {
        Placement::Pinned
    } else {
        Placement::Free
    };
    let mut results = Vec::new();
    for server in [
        servers::memcached(1, 64, placement, &[])?,
        servers::mc_server(1, 64, placement)?,
        servers::mc_server_on(IoPath::Uring, 1, 64, placement)?,
    ] {
        let (counts, requests) = measure(&server, options.seconds, pin)?;
        results.push((server.name, counts, requests));
    }
    println!(
        "system calls per request, {}: 90% get / 10% set of 32 B, 50 connections, -t 1, {} s window",
        crate::today(),
        options.seconds
    );
    // Every call either server made at least once per thousand requests, in the order of the
    // first server's counts.
    let mut names: Vec<String> = Vec::new();
    for (_, counts, requests) in &results {
        for (name, calls) in counts {
            if *calls * 1000 >= *requests && !names.contains(name) {
                names.push(name.clone());
            }
        }
    }
    print!("{:<16}", "syscall");
    for (name, _, _) in &results {
        print!(" {name:>12}");
    }
    println!();
    let per_request = |counts: &Counts, requests: u64, name: &str| {
        let calls = counts.iter().find(|(n, _)| n == name).map_or(0, |c| c.1);
        calls as f64 / requests as f64
    };
    for name in names.iter().chain(std::iter::once(&"all".to_string())) {
        print!("{name:<16}");
        for (_, counts, requests) in &results {
            let value = if name == "all" {
                counts.iter().map(|c| c.1).sum::<u64>() as f64 / *requests as f64
            } else {
                per_request(counts, *requests, name)
            };
            print!(" {value:>12.3}");
        }
        println!();
    }
    let doc = json!({
        "date": crate::today(),
        "seconds": options.seconds,
        "servers": results.iter().map(|(name, counts, requests)| json!({
            "server": name,
            "requests": requests,
            "calls": counts.iter().map(|(n, c)| (n.clone(), json!(c))).collect::<serde_json::Map<String, Value>>(),
        })).collect::<Vec<_>>(),
    });
    crate::write_results("syscalls.json", &doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_strace_summaries_with_and_without_errors() {
        let text = "% time     seconds  usecs/call     calls    errors syscall\n\
                    ------ ----------- ----------- --------- --------- ----------------\n\
                    \x2048.84    0.436327        1504       290        48 futex\n\
                    \x2029.85    0.266674          15     17307           sendto\n\
                    ------ ----------- ----------- --------- --------- ----------------\n\
                    100.00    0.893412          25     35952        50 total\n";
        assert_eq!(
            parse_summary(text),
            vec![("sendto".to_string(), 17307), ("futex".to_string(), 290)]
        );
    }
}
