//! `cargo xtask bench session`: the session demo against the tutorial's own app (Tornado +
//! python-memcached, `xtask/tutorial_app`), both keeping sessions in the same Debian memcached,
//! both measured with the same `wrk` command (`GET /` with a session cookie) in the same run.
//!
//! The apps and memcached run on core 0, `wrk` on core 1. Rounds alternate which app goes
//! first; requests/s and p99 are given as median [min–max], and the ratio per round. Any
//! non-2xx answer or socket error fails the benchmark.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::pinning;
use crate::servers::{self, Placement};
use crate::spread::Spread;
use crate::task_args::TaskArgs;
use crate::{workspace_root, Result};

/// Stops an app (by PID) however the benchmark ends.
struct App {
    name: &'static str,
    child: Child,
    addr: String,
    cookie: String,
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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

fn post(addr: &str, cookie: &str, body: &str) -> Result<String> {
    exchange(
        addr,
        &format!(
            "POST / HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

/// Create a session in the demo as a browser does (load the form for its token, post it) and
/// return the session cookie.
fn demo_session(addr: &str) -> Result<String> {
    let page = exchange(
        addr,
        &format!("GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )?;
    let anchor = set_cookies(&page).join("; ");
    let token = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .ok_or("the demo's page has no CSRF token")?;
    let answer = post(
        addr,
        &anchor,
        &format!("action=set&key=user&val=ferris&csrf={token}"),
    )?;
    if !answer.starts_with("HTTP/1.1 303") {
        return Err(format!(
            "the demo refused the form: {}",
            answer.lines().next().unwrap_or("")
        ));
    }
    set_cookies(&answer)
        .into_iter()
        .find(|c| c.starts_with("uc="))
        .ok_or_else(|| "the demo set no session cookie".to_string())
}

/// Create a session in the tutorial's app (its POST stores a key and sets the `uc` cookie).
fn tutorial_session(addr: &str) -> Result<String> {
    let answer = post(addr, "", "action=set&key=user&val=ferris")?;
    if !answer.starts_with("HTTP/1.1 200") {
        return Err(format!(
            "the tutorial app answered {}",
            answer.lines().next().unwrap_or("")
        ));
    }
    set_cookies(&answer)
        .into_iter()
        .find(|c| c.starts_with("uc="))
        .ok_or_else(|| "the tutorial app set no cookie".to_string())
}

fn free_port() -> Result<u16> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

fn wait_for_port(addr: &str, child: &mut Child, name: &str) -> Result {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(addr).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("{name} exited with {status}"));
        }
        if Instant::now() > deadline {
            return Err(format!("{name} did not start"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// Tornado and python-memcached for Debian's python3, installed when missing.
fn ensure_tutorial_dependencies() -> Result {
    let python = "/usr/bin/python3";
    let present = || {
        Command::new(python)
            .args(["-c", "import tornado, memcache"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if present() {
        return Ok(());
    }
    eprintln!("xtask: installing python3-tornado and python3-memcache for the tutorial's app");
    let _ = Command::new("apt-get")
        .args([
            "install",
            "-y",
            "-qq",
            "python3-tornado",
            "python3-memcache",
        ])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status();
    if !present() {
        let _ = Command::new(python)
            .args([
                "-m",
                "pip",
                "install",
                "--user",
                "tornado",
                "python-memcached",
            ])
            .status();
    }
    if present() {
        Ok(())
    } else {
        Err("the tutorial's app needs Tornado and python-memcached: apt-get install python3-tornado python3-memcache".into())
    }
}

/// One wrk run: requests/s and p99 (ms).
fn wrk(app: &App, seconds: u64) -> Result<(f64, f64)> {
    let output = pinning::load_command("wrk")
        .args([
            "-t",
            "1",
            "-c",
            "16",
            "-d",
            &format!("{seconds}s"),
            "--latency",
        ])
        .args(["-H", &format!("Cookie: {}", app.cookie)])
        .arg(format!("http://{}/", app.addr))
        .output()
        .map_err(|e| format!("cannot run wrk (apt-get install wrk): {e}"))?;
    let report = String::from_utf8_lossy(&output.stdout).into_owned();
    // Every answer must be a page: errors would make a benchmark look faster than it is.
    if let Some(line) = report.lines().find(|l| {
        l.contains("Non-2xx or 3xx responses") || l.trim_start().starts_with("Socket errors")
    }) {
        return Err(format!(
            "wrk saw failures against {}: {}",
            app.name,
            line.trim()
        ));
    }
    let rps = report
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .ok_or_else(|| format!("no Requests/sec in wrk's report: {report}"))?;
    let p99 = report
        .lines()
        .find_map(|l| l.trim().strip_prefix("99%"))
        .map(str::trim)
        .and_then(parse_latency_ms)
        .ok_or_else(|| format!("no p99 in wrk's report: {report}"))?;
    Ok((rps, p99))
}

/// wrk's latency (`812.00us`, `3.65ms`, `1.02s`) in milliseconds.
fn parse_latency_ms(text: &str) -> Option<f64> {
    let (number, scale) = if let Some(n) = text.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1000.0)
    } else {
        return None;
    };
    number.parse::<f64>().ok().map(|n| n * scale)
}

fn start_app(name: &'static str, mut cmd: Command, port: u16) -> Result<App> {
    let addr = format!("127.0.0.1:{port}");
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {name}: {e}"))?;
    wait_for_port(&addr, &mut child, name)?;
    Ok(App {
        name,
        child,
        addr,
        cookie: String::new(),
    })
}

pub(crate) fn run(args: &[String]) -> Result {
    let options = TaskArgs::defaults(3, 10.0).parse(args, &["--rounds", "--seconds"], false)?;
    let (rounds, seconds) = (options.rounds, options.seconds.round() as u64);
    let mut build = crate::cargo();
    build.args(["build", "--release", "--bin", "session-demo"]);
    crate::run(build)?;
    ensure_tutorial_dependencies()?;
    let memcached = servers::memcached(1, 64, Placement::Pinned, &[])?;
    let memcached_addr = memcached.addr.to_string();

    let demo_port = free_port()?;
    let mut demo_cmd = pinning::server_command(servers::release_binary("session-demo"));
    demo_cmd
        .args(["--listen", &format!("127.0.0.1:{demo_port}")])
        .args(["--memcached", &memcached_addr])
        .env("RUST_LOG", "warn")
        .env(
            "SESSION_SECRET",
            "a benchmark secret of at least thirty-two bytes",
        );
    let mut demo = start_app("session demo", demo_cmd, demo_port)?;
    demo.cookie = demo_session(&demo.addr)?;

    let app_dir = workspace_root().join("xtask/tutorial_app");
    let tutorial_port = free_port()?;
    let mut tutorial_cmd = pinning::server_command("/usr/bin/python3");
    tutorial_cmd
        .arg(Path::new("app.py"))
        .args([&tutorial_port.to_string(), &memcached_addr])
        .current_dir(&app_dir);
    let mut tutorial = start_app("tutorial app", tutorial_cmd, tutorial_port)?;
    tutorial.cookie = tutorial_session(&tutorial.addr)?;

    let apps = [&tutorial, &demo];
    let mut results: [Vec<(f64, f64)>; 2] = [Vec::new(), Vec::new()];
    for round in 0..rounds {
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for i in order {
            let measured = wrk(apps[i], seconds)?;
            println!(
                "round {}: {:<14} {:>10.0} requests/s, p99 {:.2} ms",
                round + 1,
                apps[i].name,
                measured.0,
                measured.1
            );
            results[i].push(measured);
        }
    }
    let rps = |i: usize| Spread::of(results[i].iter().map(|r| r.0));
    let p99 = |i: usize| Spread::of(results[i].iter().map(|r| r.1));
    let ratio = Spread::of(
        results[1]
            .iter()
            .zip(&results[0])
            .map(|(ours, theirs)| ours.0 / theirs.0),
    );
    let date = crate::today();
    println!(
        "GET / with a session, wrk -t1 -c16 -d{seconds}s, {rounds} rounds on {date} (apps and memcached on core 0, wrk on core 1):"
    );
    for (i, app) in apps.iter().enumerate() {
        println!(
            "  {:<14} {} requests/s, p99 {} ms",
            app.name,
            rps(i).show(0),
            p99(i).show(2)
        );
    }
    println!(
        "  ratio (demo / tutorial app, per round): {}",
        ratio.show(1)
    );
    let report = json!({
        "date": date, "rounds": rounds, "seconds": seconds,
        "command": format!("wrk -t1 -c16 -d{seconds}s --latency -H 'Cookie: <session>' http://APP/"),
        "memcached": crate::memcached_version(),
        "tutorial_app": {"requests_per_sec": rps(0).to_json(), "p99_ms": p99(0).to_json()},
        "session_demo": {"requests_per_sec": rps(1).to_json(), "p99_ms": p99(1).to_json()},
        "ratio": ratio.to_json(),
    });
    crate::write_results("session.json", &report)
}
