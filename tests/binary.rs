//! The `session-demo` binary as an operator runs it: secrets checked at start, logs on stderr
//! (one line per request, no colour codes when redirected), SIGTERM and Ctrl-C (SIGINT)
//! finishing the requests in flight and exiting 0.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_session-demo");

/// The demo process, killed (by PID) if a test fails before it exits.
struct DemoProcess {
    child: Child,
    lines: mpsc::Receiver<String>,
    log: Vec<String>,
}

impl Drop for DemoProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl DemoProcess {
    fn start(envs: &[(&str, &[u8])]) -> DemoProcess {
        DemoProcess::start_with(envs, &[])
    }

    fn start_with(envs: &[(&str, &[u8])], args: &[&str]) -> DemoProcess {
        use std::os::unix::ffi::OsStrExt;
        let mut cmd = Command::new(BIN);
        cmd.args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env_remove("SESSION_SECRET")
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (name, value) in envs {
            cmd.env(name, std::ffi::OsStr::from_bytes(value));
        }
        let mut child = cmd.spawn().expect("start session-demo");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        DemoProcess {
            child,
            lines,
            log: Vec::new(),
        }
    }

    /// Read log lines until one contains `needle`; returns it.
    fn wait_for_line(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.log.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!("no log line with {needle:?}; got {:#?}", self.log),
            }
        }
    }

    fn address(&mut self) -> String {
        let line = self.wait_for_line("session demo on http://");
        line.split("http://")
            .nth(1)
            .expect("address")
            .trim()
            .to_string()
    }

    fn signal(&self, signal: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, signal).expect("signal");
    }

    fn wait_exit(&mut self) -> Option<i32> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                    self.log.push(line);
                }
                return status.code();
            }
            assert!(Instant::now() < deadline, "still running: {:#?}", self.log);
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn run_with_secret(secret: &[u8]) -> (Option<i32>, String) {
    use std::os::unix::ffi::OsStrExt;
    let output = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0"])
        .env("SESSION_SECRET", std::ffi::OsStr::from_bytes(secret))
        .output()
        .expect("run");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn bad_secrets_stop_the_demo_with_a_clear_message() {
    let (code, stderr) = run_with_secret(b"\xff\xfe not UTF-8 but long enough to be a secret");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("SESSION_SECRET is not valid UTF-8"),
        "{stderr}"
    );
    assert!(!stderr.contains("is not set"), "{stderr}");
    let (code, stderr) = run_with_secret(b"short");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("5 bytes long: it must be at least 32"),
        "{stderr}"
    );
}

/// The form a request in flight sends (its token is wrong: the answer is a 403).
const BODY: &str = "action=set&key=k&val=v&csrf=x";

/// Send a POST whose body is not all there yet (10 of its bytes); returns the connection.
fn half_sent_post(address: &str) -> TcpStream {
    let mut conn = TcpStream::connect(address).expect("connect");
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let body = BODY;
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        body.len(),
        &body[..10]
    );
    conn.write_all(head.as_bytes()).expect("write");
    conn
}

#[test]
fn sigterm_and_ctrl_c_finish_requests_in_flight_then_exit_0() {
    for signal in [
        nix::sys::signal::Signal::SIGTERM,
        nix::sys::signal::Signal::SIGINT,
    ] {
        let mut demo = DemoProcess::start(&[(
            "SESSION_SECRET",
            b"a test secret that is at least thirty-two bytes",
        )]);
        let address = demo.address();
        // A page view, to see the request log line.
        let mut get = TcpStream::connect(&address).expect("connect");
        get.write_all(
            format!("GET / HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .expect("write");
        let mut page = String::new();
        get.read_to_string(&mut page).expect("read");
        assert!(page.starts_with("HTTP/1.1 200"), "{page}");
        let mut in_flight = half_sent_post(&address);
        std::thread::sleep(Duration::from_millis(200));
        demo.signal(signal);
        demo.wait_for_line("shutting down");
        // The request in flight is still answered.
        in_flight
            .write_all(&BODY.as_bytes()[10..])
            .expect("the connection is still open");
        let mut answer = String::new();
        in_flight.read_to_string(&mut answer).expect("read");
        assert!(answer.starts_with("HTTP/1.1 403"), "{signal}: {answer}");
        assert_eq!(demo.wait_exit(), Some(0), "{signal}: {:#?}", demo.log);
        let log = demo.log.join("\n");
        assert!(
            !log.contains('\u{1b}'),
            "colour codes in a redirected log:\n{log}"
        );
        let request_lines: Vec<&String> = demo
            .log
            .iter()
            .filter(|l| l.contains("finished processing request"))
            .collect();
        assert_eq!(request_lines.len(), 2, "one line per request:\n{log}");
        assert!(request_lines[0].contains(" INFO "), "{}", request_lines[0]);
        assert!(
            request_lines[0].contains("method=GET uri=/"),
            "{}",
            request_lines[0]
        );
        assert!(
            request_lines[0].contains("status=200"),
            "{}",
            request_lines[0]
        );
        assert!(
            request_lines[1].contains("status=403"),
            "{}",
            request_lines[1]
        );
    }
}

#[test]
fn the_page_says_when_sessions_end_with_the_process() {
    let mut demo = DemoProcess::start(&[]);
    let address = demo.address();
    let mut get = TcpStream::connect(&address).expect("connect");
    get.write_all(
        format!("GET / HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .expect("write");
    let mut page = String::new();
    get.read_to_string(&mut page).expect("read");
    assert!(
        page.contains("they last only while it runs"),
        "the embedded server's limits are said plainly: {page}"
    );
    assert!(
        demo.log
            .iter()
            .any(|l| l.contains("SESSION_SECRET is not set")),
        "{:#?}",
        demo.log
    );
}

/// The CSRF token in a page's form.
fn csrf_token(page: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = page.find(marker).expect("a form token") + marker.len();
    let end = start + page[start..].find('"').expect("token end");
    page[start..end].to_string()
}

#[test]
fn with_a_state_file_sessions_survive_a_restart_of_the_demo() {
    const SECRET: &[u8] = b"a test secret that is at least thirty-two bytes";
    let dir = if std::path::Path::new("/dev/shm").is_dir() {
        std::path::PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let state = dir.join(format!("session-demo-state-{}", std::process::id()));
    let _ = std::fs::remove_file(&state);
    let state_arg = state.display().to_string();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let page = |url: &str| {
        runtime.block_on(async {
            let answer = browser.get(url).send().await.expect("GET");
            answer.text().await.expect("body")
        })
    };

    let mut demo =
        DemoProcess::start_with(&[("SESSION_SECRET", SECRET)], &["--state-file", &state_arg]);
    let url = format!("http://{}/", demo.address());
    let first = page(&url);
    assert!(first.contains("restored when it starts again"), "{first}");
    let token = csrf_token(&first);
    let stored = runtime.block_on(async {
        let form = [
            ("action", "set"),
            ("key", "name"),
            ("val", "kept across restarts"),
            ("csrf", &token),
        ];
        let answer = browser.post(&url).form(&form).send().await.expect("POST");
        answer.text().await.expect("body")
    });
    assert!(stored.contains("kept across restarts"), "{stored}");
    demo.signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(demo.wait_exit(), Some(0), "{:#?}", demo.log);
    assert!(state.exists(), "saved on the way out: {:#?}", demo.log);

    let mut demo =
        DemoProcess::start_with(&[("SESSION_SECRET", SECRET)], &["--state-file", &state_arg]);
    let url = format!("http://{}/", demo.address());
    // The same browser, the same cookie, a new process: the same session.
    let again = page(&url);
    assert!(again.contains("kept across restarts"), "{again}");
    demo.signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(demo.wait_exit(), Some(0));
    let _ = std::fs::remove_file(&state);
}

#[test]
fn a_state_file_with_memcached_servers_is_refused() {
    let output = Command::new(BIN)
        .args([
            "--memcached",
            "127.0.0.1:1",
            "--state-file",
            "/dev/shm/unused",
        ])
        .env_remove("SESSION_SECRET")
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--state-file"));
}
