//! Developer tasks for the workspace: `cargo xtask <task>`.
//!
//! * `ci` — formatting check, clippy with warnings denied, every test, and the docs; what CI runs.
//! * `compat` — write docs/compatibility.md from mc-server's compatibility table.
//! * `fuzz [--seconds N] [TARGET...]` — run each fuzz target for a bounded time (needs
//!   `cargo install cargo-fuzz`; the stable toolchain is used with `RUSTC_BOOTSTRAP=1`).
//! * `bench proto` — the codec's criterion benchmarks.
//! * `bench server [--rounds N] [--seconds S]` — mc-server against Debian's memcached, side by
//!   side with the same load generator; throughput, latency, CPU efficiency, memory.
//! * `bench store [gets-only | sets-only] [--rounds N] [--seconds S]` — the store's scaling from one thread to two, in
//!   process, the server's design beside a single lock.
//! * `bench syscalls [--seconds S]` — system calls per request of both servers (strace).
//! * `bench restart [--rounds N]` — the restartable cache (-e) of both servers: save and restore time,
//!   file size.
//! * `bench scan [--rounds N]` — other clients' waits during a metadump of 500,000 items,
//!   mc-server against memcached.
//! * `bench client [--seconds S]` — mc-client against the crates.io `memcache` crate.
//! * `bench session` — `wrk` against the session demo's `GET /` with a session cookie.
//! * `bench --plot` — SVG charts in docs/charts from the results in target/bench.
//! * `soak [--seconds N]` — bounded mixed load on mc-server, then memory and statistics checks.

mod bench_client;
mod bench_memory;
mod bench_restart;
mod bench_scan;
mod bench_server;
mod bench_session;
mod bench_store;
mod bench_syscalls;
mod pinning;
mod plot;
mod servers;
mod soak;
mod spread;
mod task_args;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("fuzz") => fuzz(&args[1..]),
        Some("bench") => bench(&args[1..]),
        Some("soak") => soak::run(&args[1..]),
        Some("compat") => compat(),
        _ => {
            eprintln!(
                "usage: cargo xtask <ci | compat | fuzz [--seconds N] [TARGET...] | bench proto | bench server [--rounds N] [--seconds S] | bench store [gets-only | sets-only] [--rounds N] [--seconds S] | bench syscalls [--seconds S] | bench restart [--rounds N] | bench scan [--rounds N] | bench client | bench session | bench --plot | soak [--seconds N]>"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

pub(crate) type Result<T = ()> = std::result::Result<T, String>;

/// `compat`: write docs/compatibility.md from `mc_server::compatibility` (through the test
/// that checks it, which writes the file when `MC_BLESS` is set).
fn compat() -> Result {
    let status = Command::new(env!("CARGO"))
        .args([
            "test",
            "-p",
            "mc-server",
            "--test",
            "compatibility_table",
            "the_docs_table_is_generated_from_the_code",
        ])
        .env("MC_BLESS", "1")
        .current_dir(workspace_root())
        .status()
        .map_err(|e| format!("cargo test: {e}"))?;
    if !status.success() {
        return Err("writing docs/compatibility.md failed".into());
    }
    println!("wrote docs/compatibility.md");
    Ok(())
}

/// Today's date (UTC), for reports: every figure says when it was measured.
pub(crate) fn today() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "unknown date".into())
}

/// The version of the memcached on `PATH`.
pub(crate) fn memcached_version() -> String {
    Command::new("memcached")
        .arg("-V")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "memcached (version unknown)".into())
}

pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// Where benchmarks leave their results (and `bench --plot` reads them).
pub(crate) fn results_dir() -> Result<PathBuf> {
    let dir = workspace_root().join("target/bench");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    Ok(dir)
}

/// Write a benchmark's results as `target/bench/<name>` (pretty JSON) and say where.
pub(crate) fn write_results(name: &str, doc: &serde_json::Value) -> Result {
    let path = results_dir()?.join(name);
    let text = serde_json::to_string_pretty(doc).map_err(|e| e.to_string())?;
    std::fs::write(&path, text).map_err(|e| e.to_string())?;
    println!("results written to {}", path.display());
    Ok(())
}

pub(crate) fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(workspace_root());
    cmd
}

/// Run a command, echoing it, and fail with its name when it fails.
pub(crate) fn run(mut cmd: Command) -> Result {
    let shown = format!("{cmd:?}");
    eprintln!("xtask: running {shown}");
    let started = Instant::now();
    let status = cmd
        .status()
        .map_err(|e| format!("cannot start {shown}: {e}"))?;
    eprintln!(
        "xtask: {shown} finished in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed with {status}"))
    }
}

fn ci() -> Result {
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--", "--check"]);
    run(fmt)?;

    let mut clippy = cargo();
    clippy.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--all-features",
        "--",
        "-D",
        "warnings",
    ]);
    run(clippy)?;

    let mut test = cargo();
    test.args(["test", "--workspace", "--all-features"]);
    run(test)?;

    let mut doc = cargo();
    doc.args(["doc", "--workspace", "--no-deps", "--all-features"])
        .env("RUSTDOCFLAGS", "-D warnings");
    run(doc)
}

/// Every fuzz crate in the workspace (`crates/*/fuzz`) and its targets.
fn fuzz_targets() -> Result<Vec<(PathBuf, String)>> {
    let mut found = Vec::new();
    let crates = workspace_root().join("crates");
    let entries = std::fs::read_dir(&crates).map_err(|e| format!("{}: {e}", crates.display()))?;
    for entry in entries.flatten() {
        let dir = entry.path().join("fuzz");
        let Ok(targets) = std::fs::read_dir(dir.join("fuzz_targets")) else {
            continue;
        };
        for target in targets.flatten() {
            let path = target.path();
            if path.extension().is_some_and(|e| e == "rs") {
                if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
                    found.push((dir.clone(), stem.to_string()));
                }
            }
        }
    }
    found.sort();
    Ok(found)
}

fn fuzz(args: &[String]) -> Result {
    let options = task_args::TaskArgs::defaults(1, 60.0).parse(args, &["--seconds"], true)?;
    let seconds = options.seconds.round() as u64;
    let wanted = options.rest;
    let has_cargo_fuzz = Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_cargo_fuzz {
        return Err("cargo-fuzz is missing: run `cargo install cargo-fuzz`".into());
    }
    let targets = fuzz_targets()?;
    let selected: Vec<_> = targets
        .iter()
        .filter(|(_, name)| wanted.is_empty() || wanted.contains(name))
        .collect();
    if selected.is_empty() {
        return Err(format!("no fuzz target matches {wanted:?}"));
    }
    for (dir, name) in selected {
        let mut cmd = Command::new("cargo");
        cmd.current_dir(dir)
            .env("RUSTC_BOOTSTRAP", "1")
            .args(["fuzz", "run", "-O", name, "--"])
            .arg(format!("-max_total_time={seconds}"))
            .arg("-rss_limit_mb=2048")
            .arg("-timeout=10");
        run(cmd)?;
    }
    Ok(())
}

fn bench(args: &[String]) -> Result {
    match args.first().map(String::as_str) {
        Some("server") => bench_server::run(&args[1..]),
        Some("store") => bench_store::run(&args[1..]),
        Some("syscalls") => bench_syscalls::run(&args[1..]),
        Some("restart") => bench_restart::run(&args[1..]),
        Some("scan") => bench_scan::run(&args[1..]),
        Some("client") => bench_client::run(&args[1..]),
        Some("session") => bench_session::run(&args[1..]),
        Some("--plot") => plot::run(),
        Some("proto") | None => {
            let mut cmd = cargo();
            cmd.args(["bench", "-p", "mc-proto", "--bench", "decode"]);
            cmd.args(&args[args.len().min(1)..]);
            run(cmd)
        }
        Some(other) => Err(format!(
            "unknown benchmark {other:?}; available: proto, server, store, syscalls, restart, scan, client, session"
        )),
    }
}
