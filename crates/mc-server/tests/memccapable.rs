//! libmemcached's protocol conformance checker, `memccapable -a` (text protocol), passes every
//! test against mc-server. Debian package `libmemcached-tools`.

use std::process::Command;

use mc_server::{Config, RunningServer};
use mc_testkit::{missing_peer, which};

#[test]
fn memccapable_passes_every_text_protocol_test() {
    let Some(memccapable) = which("memccapable").or_else(|| which("memcapable")) else {
        missing_peer("memccapable (apt-get install libmemcached-tools)");
        return;
    };
    let server = RunningServer::start(Config::ephemeral()).expect("server starts");
    let addr = server.local_addr().expect("tcp address");
    let output = Command::new(memccapable)
        .args(["-a", "-h", "127.0.0.1", "-p", &addr.port().to_string()])
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
    // memccapable 1.1.4 runs 27 text-protocol tests.
    assert_eq!(passed, 27, "{report}");
    assert!(report.contains("All tests passed"), "{report}");
}
