//! libmemcached's protocol conformance checker passes every test against mc-server, in the
//! text protocol (`memccapable -a`) and the binary protocol (`memccapable -b`), as it does
//! against memcached. Debian package `libmemcached-tools`.

use std::process::Command;

use mc_server::{Config, RunningServer};
use mc_testkit::{missing_peer, which};

#[test]
fn memccapable_passes_every_text_protocol_test() {
    memccapable("-a");
}

#[test]
fn memccapable_passes_every_binary_protocol_test() {
    memccapable("-b");
}

fn memccapable(protocol: &str) {
    let Some(memccapable) = which("memccapable").or_else(|| which("memcapable")) else {
        missing_peer("memccapable (apt-get install libmemcached-tools)");
        return;
    };
    let server = RunningServer::start(Config::ephemeral()).expect("server starts");
    let addr = server.local_addr().expect("tcp address");
    let output = Command::new(memccapable)
        .args([protocol, "-h", "127.0.0.1", "-p", &addr.port().to_string()])
        .output()
        .expect("run memccapable");
    let report = String::from_utf8_lossy(&output.stdout);
    println!("{report}");
    assert!(
        output.status.success(),
        "memccapable failed:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let passed = report.lines().filter(|l| l.ends_with("[pass]")).count();
    let failed = report.lines().filter(|l| l.ends_with("[FAIL]")).count();
    assert_eq!(failed, 0, "{report}");
    // memccapable 1.1.4 runs 27 tests of each protocol.
    assert_eq!(passed, 27, "{report}");
    assert!(report.contains("All tests passed"), "{report}");
}
