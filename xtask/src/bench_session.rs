//! `cargo xtask bench session`: `wrk` (Debian) against the demo's `GET /` with a session
//! cookie, 16 connections, 10 s.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{workspace_root, Result};

/// Stops the demo (by PID) however the benchmark ends.
struct Demo(std::process::Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Create a session with one key and return its cookie.
fn session_cookie(addr: &str) -> Result<String> {
    let mut conn = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    let body = "action=set&key=user&val=ferris";
    write!(
        conn,
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .map_err(|e| e.to_string())?;
    let mut answer = String::new();
    conn.read_to_string(&mut answer)
        .map_err(|e| e.to_string())?;
    answer
        .lines()
        .find_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or_else(|| l.strip_prefix("Set-Cookie: "))
        })
        .and_then(|c| c.split(';').next())
        .map(str::to_string)
        .ok_or_else(|| "the demo set no cookie".to_string())
}

pub(crate) fn run(_args: &[String]) -> Result {
    let mut build = crate::cargo();
    build.args(["build", "--release", "--bin", "session-demo"]);
    crate::run(build)?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = Command::new(workspace_root().join("target/release/session-demo"))
        .args(["--listen", &addr])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    if let Some(stderr) = child.stderr.take() {
        std::thread::spawn(move || for _ in BufReader::new(stderr).lines() {});
    }
    let _demo = Demo(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(&addr).is_err() {
        if Instant::now() > deadline {
            return Err("the demo did not start".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let cookie = session_cookie(&addr)?;
    let output = Command::new("wrk")
        .args([
            "-t",
            "2",
            "-c",
            "16",
            "-d",
            "10s",
            "--latency",
            "-H",
            &format!("Cookie: {cookie}"),
        ])
        .arg(format!("http://{addr}/"))
        .output()
        .map_err(|e| format!("cannot run wrk (apt-get install wrk): {e}"))?;
    let report = String::from_utf8_lossy(&output.stdout).into_owned();
    println!("{report}");
    let rps = report
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .map(|v| v.trim().to_string())
        .unwrap_or_default();
    let p99 = report
        .lines()
        .find_map(|l| l.trim().strip_prefix("99%"))
        .map(|v| v.trim().to_string())
        .unwrap_or_default();
    let out = workspace_root().join("target/bench");
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    let json = format!("{{\"requests_per_sec\": \"{rps}\", \"p99\": \"{p99}\", \"connections\": 16, \"seconds\": 10}}\n");
    std::fs::write(out.join("session.json"), json).map_err(|e| e.to_string())?;
    println!("GET / with a session: {rps} requests/s, p99 {p99}");
    Ok(())
}
