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

/// One HTTP/1.1 exchange on a fresh connection; the whole answer (head and body).
fn exchange(addr: &str, request: &str) -> Result<String> {
    let mut conn = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    conn.write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut answer = String::new();
    conn.read_to_string(&mut answer)
        .map_err(|e| e.to_string())?;
    Ok(answer)
}

/// The `name=value` of every cookie an answer sets.
fn set_cookies(answer: &str) -> Vec<String> {
    answer
        .lines()
        .take_while(|l| !l.is_empty())
        .filter_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or_else(|| l.strip_prefix("Set-Cookie: "))
        })
        .filter_map(|c| c.split(';').next())
        .map(str::to_string)
        .collect()
}

/// Create a session with one key as a browser does (load the form for its token, post it)
/// and return the session cookie.
fn session_cookie(addr: &str) -> Result<String> {
    let page = exchange(
        addr,
        &format!("GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )?;
    let anchor = set_cookies(&page).join("; ");
    let token = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .ok_or("the page has no CSRF token")?;
    let body = format!("action=set&key=user&val=ferris&csrf={token}");
    let answer = exchange(
        addr,
        &format!(
            "POST / HTTP/1.1\r\nHost: {addr}\r\nCookie: {anchor}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )?;
    if !answer.starts_with("HTTP/1.1 303") {
        return Err(format!(
            "the form was not accepted: {}",
            answer.lines().next().unwrap_or("")
        ));
    }
    set_cookies(&answer)
        .into_iter()
        .find(|c| c.starts_with("uc="))
        .ok_or_else(|| "the demo set no session cookie".to_string())
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
    // Every answer must be a page: errors would make a benchmark look faster than it is.
    if let Some(line) = report.lines().find(|l| {
        l.contains("Non-2xx or 3xx responses") || l.trim_start().starts_with("Socket errors")
    }) {
        return Err(format!("wrk saw failures: {}", line.trim()));
    }
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
