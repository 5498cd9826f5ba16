//! `cargo xtask bench client`: our client against the `memcache` crate (as its builder makes
//! it, and tuned to its best) and `async-memcached`, on the same four mc-servers (`-t 1`).
//! The comparison itself is `mc-client-bench` (crates/mc-bench/src/bin/client_bench.rs).

use std::process::Command;

use crate::servers::{self, Placement};
use crate::task_args::TaskArgs;
use crate::Result;

pub(crate) fn run(args: &[String]) -> Result {
    let options = TaskArgs::defaults(3, 3.0).parse(args, &["--seconds", "--rounds"], false)?;
    let (seconds, rounds) = (options.seconds.to_string(), options.rounds.to_string());
    let mut build = crate::cargo();
    build.args(["build", "--release", "-p", "mc-server", "-p", "mc-bench"]);
    crate::run(build)?;
    let servers = (0..4)
        .map(|_| servers::mc_server(1, 64, Placement::Free))
        .collect::<Result<Vec<_>>>()?;
    let list: Vec<String> = servers.iter().map(|s| s.addr.to_string()).collect();
    println!(
        "clients on {}: four mc-servers (-t 1), 32-byte values, {seconds} s per measurement, {rounds} rounds",
        crate::today()
    );
    let output = Command::new(servers::release_binary("mc-client-bench"))
        .args([
            "--servers",
            &list.join(","),
            "--seconds",
            &seconds,
            "--rounds",
            &rounds,
        ])
        .output()
        .map_err(|e| format!("cannot run mc-client-bench: {e}"))?;
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    if !output.status.success() {
        return Err("mc-client-bench failed".into());
    }
    let mut report: serde_json::Value =
        serde_json::from_slice(&output.stdout).map_err(|e| e.to_string())?;
    report["date"] = crate::today().into();
    crate::write_results("client.json", &report)
}
