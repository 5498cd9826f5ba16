//! `cargo xtask bench client`: our client against the crates.io `memcache` crate, on the same
//! four mc-servers.

use std::process::Command;

use crate::bench_server::start_mc_server;
use crate::{workspace_root, Result};

pub(crate) fn run(args: &[String]) -> Result {
    let mut seconds = "3".to_string();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--seconds" => seconds = iter.next().cloned().ok_or("--seconds S")?,
            other => return Err(format!("unknown option {other}")),
        }
    }
    let mut build = crate::cargo();
    build.args(["build", "--release", "-p", "mc-server", "-p", "mc-bench"]);
    crate::run(build)?;
    let target = workspace_root().join("target/release");
    let servers = (0..4)
        .map(|_| start_mc_server(&target.join("mc-server"), 1, 64))
        .collect::<Result<Vec<_>>>()?;
    let list: Vec<String> = servers.iter().map(|s| s.addr.to_string()).collect();
    let output = Command::new(target.join("mc-client-bench"))
        .args(["--servers", &list.join(","), "--seconds", &seconds])
        .output()
        .map_err(|e| format!("cannot run mc-client-bench: {e}"))?;
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    if !output.status.success() {
        return Err("mc-client-bench failed".into());
    }
    let out = workspace_root().join("target/bench");
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    std::fs::write(out.join("client.json"), &output.stdout).map_err(|e| e.to_string())?;
    println!("results written to {}", out.join("client.json").display());
    Ok(())
}
