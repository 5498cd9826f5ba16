//! mc-bench cannot flatter a server by accident: an error answer fails the run, and the window
//! it counts is exactly the window a harness measures the server in.

use std::io::{BufRead, BufReader, Write};

use mc_testkit::read_some;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_mc-bench");

/// A server that answers every command `SERVER_ERROR out of memory` (skipping data blocks).
fn failing_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut writer = conn.try_clone().expect("clone");
                let mut reader = BufReader::new(conn);
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                    if line.starts_with("set ") {
                        let mut data = String::new();
                        let _ = reader.read_line(&mut data);
                    }
                    if writer.write_all(b"SERVER_ERROR out of memory\r\n").is_err() {
                        break;
                    }
                    line.clear();
                }
            });
        }
    });
    addr
}

#[test]
fn error_answers_fail_the_run() {
    let addr = failing_server();
    for ratio in ["1", "0"] {
        let output = Command::new(BIN)
            .args([
                "--addr",
                &addr.to_string(),
                "--conns",
                "4",
                "--duration",
                "0.3",
            ])
            .args(["--warmup", "0.1", "--get-ratio", ratio])
            .output()
            .expect("run mc-bench");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "get ratio {ratio}: {stderr}");
        assert!(
            stderr.contains("SERVER_ERROR") || stderr.contains("ServerError"),
            "{stderr}"
        );
    }
}

fn counted_requests(addr: SocketAddr) -> u64 {
    let mut conn = TcpStream::connect(addr).expect("connect");
    conn.write_all(b"stats\r\n").expect("write");
    let mut text = String::new();
    let mut buf = [0u8; 8192];
    while !text.ends_with("END\r\n") {
        let n = read_some(&mut conn, &mut buf).expect("read");
        assert!(n > 0);
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    ["cmd_get", "cmd_set"]
        .iter()
        .map(|name| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("STAT {name} ")))
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or_else(|| panic!("no {name}"))
        })
        .sum()
}

#[test]
fn the_counted_window_is_the_window_the_server_sees() {
    let server =
        mc_server::RunningServer::start(mc_server::Config::ephemeral()).expect("mc-server");
    let addr = server.local_addr().expect("addr");
    // A heavy preload and a warm-up come first; none of it may fall in the window.
    let mut bench = Command::new(BIN)
        .args([
            "--addr",
            &addr.to_string(),
            "--conns",
            "8",
            "--keys",
            "50000",
        ])
        .args([
            "--preload",
            "--warmup",
            "0.3",
            "--duration",
            "0.5",
            "--json",
            "--handshake",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run mc-bench");
    let mut markers = BufReader::new(bench.stderr.take().expect("stderr")).lines();
    let mut next_marker = || markers.next().expect("a marker").expect("stderr line");
    assert_eq!(next_marker(), "mc-bench: window ready");
    let at_ready = counted_requests(addr);
    assert!(at_ready >= 50_000, "the preload went before the window");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        counted_requests(addr),
        at_ready,
        "nothing is sent while it waits"
    );
    bench
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"go\n")
        .expect("start the window");
    assert_eq!(next_marker(), "mc-bench: window done");
    let at_done = counted_requests(addr);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        counted_requests(addr),
        at_done,
        "nothing is sent after the window"
    );
    let output = bench.wait_with_output().expect("mc-bench ends");
    assert!(output.status.success());
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("a JSON report");
    assert_eq!(
        report["ops"].as_u64(),
        Some(at_done - at_ready),
        "mc-bench counted exactly the requests the server saw in the window"
    );
    assert_eq!(
        report["misses"].as_u64(),
        Some(0),
        "every key was preloaded"
    );
}
