//! The tutorial's python-memcached session (python3-memcache, the reference client) runs
//! against mc-server with the same results, line for line, as against Debian's memcached.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use mc_server::{Config, RunningServer};
use mc_testkit::{missing_peer, python_with_memcache, Memcached};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/tutorial.py");

fn run(python: &Path, addr: SocketAddr) -> String {
    let output = Command::new(python)
        .arg(SCRIPT)
        .arg(addr.to_string())
        .output()
        .expect("run python");
    assert!(
        output.status.success(),
        "tutorial failed against {addr}:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 output")
}

#[test]
fn tutorial_session_matches_memcached() {
    let Some(python) = python_with_memcache() else {
        missing_peer("python3 with python-memcached (apt-get install python3-memcache)");
        return;
    };
    let Some(memcached) = Memcached::start() else {
        return;
    };
    let server = RunningServer::start(Config::ephemeral()).expect("server starts");
    let addr = server.local_addr().expect("tcp address");
    // Both sessions sleep for the expiry step; run them side by side.
    let reference = std::thread::spawn({
        let python = python.clone();
        let addr = memcached.addr;
        move || run(&python, addr)
    });
    let ours = run(&python, addr);
    let reference = reference.join().expect("reference run");
    assert_eq!(ours, reference);
    assert!(ours.ends_with("tutorial done\n"));
    println!("{ours}");
}
