//! The `mc-server` binary: memcached's flags, daemon mode, pid file, privileges, signals.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use mc_testkit::{read_some, running_as_root};

const BIN: &str = env!("CARGO_BIN_EXE_mc-server");

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("run mc-server")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A scratch directory any user may write to (the server may drop to another user).
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mc-server-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    dir
}

fn wait_for(what: &str, timeout: Duration, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn bad_flags_fail_with_a_clear_message() {
    let output = run(&["--bogus"]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("--bogus"), "{}", stderr(&output));

    let output = run(&["-m", "4", "-I", "4m"]);
    assert_eq!(output.status.code(), Some(64));
    assert!(
        stderr(&output).contains("1/2 of memory"),
        "{}",
        stderr(&output)
    );

    let output = run(&["-p", "notaport"]);
    assert!(!output.status.success());
}

#[test]
fn version_and_help() {
    let output = run(&["-V"]);
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains(env!("CARGO_PKG_VERSION")));
    let output = run(&["-h"]);
    let help = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success());
    for flag in [
        "-p", "-l", "-m", "-c", "-t", "-I", "-d", "-P", "-u", "-U", "-s", "-v",
    ] {
        assert!(help.contains(flag), "help lacks {flag}:\n{help}");
    }
    assert!(
        help.contains("127.0.0.1"),
        "help must say where it listens by default"
    );
}

#[test]
fn root_needs_a_user_like_memcached() {
    if !running_as_root() {
        println!("skipped: not running as root");
        return;
    }
    let output = run(&["-p", "0"]);
    assert_eq!(output.status.code(), Some(64));
    assert!(stderr(&output).contains("can't run as root without the -u switch"));
}

#[test]
fn a_taken_port_is_reported() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    let mut args = vec!["-l", "127.0.0.1", "-p", &port];
    if running_as_root() {
        args.extend(["-u", "nobody"]);
    }
    let output = run(&args);
    assert_eq!(output.status.code(), Some(71), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("failed to listen on 127.0.0.1"),
        "{}",
        stderr(&output)
    );
}

fn ask(socket: &Path, request: &[u8]) -> Vec<u8> {
    let mut conn = UnixStream::connect(socket).expect("connect to the unix socket");
    conn.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    conn.write_all(request).expect("write");
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !answer.ends_with(b"\r\n") {
        let n = read_some(&mut conn, &mut buf).expect("read");
        assert!(n > 0, "closed");
        answer.extend_from_slice(&buf[..n]);
    }
    answer
}

fn process_uid(pid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn daemon_writes_and_removes_its_pid_file_and_drops_root() {
    let dir = scratch("daemon");
    let pid_file = dir.join("mc.pid");
    let socket = dir.join("mc.sock");
    let mut args = vec![
        "-d".to_string(),
        "-P".to_string(),
        pid_file.display().to_string(),
        "-s".to_string(),
        socket.display().to_string(),
    ];
    if running_as_root() {
        args.extend(["-u".to_string(), "nobody".to_string()]);
    }
    let status = Command::new(BIN)
        .args(&args)
        .status()
        .expect("start daemon");
    assert!(
        status.success(),
        "the foreground part exits 0 once detached"
    );
    wait_for("the pid file", Duration::from_secs(10), || {
        pid_file.exists()
    });
    let pid: u32 = std::fs::read_to_string(&pid_file)
        .expect("pid file")
        .trim()
        .parse()
        .expect("a pid");
    wait_for("the socket", Duration::from_secs(10), || socket.exists());
    assert_eq!(ask(&socket, b"version\r\n"), b"VERSION 1.6.18\r\n");
    assert_eq!(ask(&socket, b"set k 0 0 1\r\nx\r\n"), b"STORED\r\n");
    if running_as_root() {
        let nobody = nix::unistd::User::from_name("nobody")
            .ok()
            .flatten()
            .expect("user nobody");
        assert_eq!(
            process_uid(pid),
            Some(nobody.uid.as_raw()),
            "runs as nobody after binding"
        );
    }
    // Stop it the way an init script does: SIGTERM to the pid in the file.
    let pid = nix::unistd::Pid::from_raw(pid as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("signal the daemon");
    wait_for("the daemon to exit", Duration::from_secs(10), || {
        nix::sys::signal::kill(pid, None).is_err()
    });
    assert!(
        !pid_file.exists(),
        "the pid file is removed on a clean exit"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn memory_beyond_what_item_ids_address_is_refused() {
    let output = run(&["-m", "100000"]);
    assert_eq!(output.status.code(), Some(64), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("at most 65536 megabytes"),
        "{}",
        stderr(&output)
    );
}

/// The pid file lives directly in the system's temporary directory (sticky, world-writable),
/// as in `memcached -d -P /tmp/x.pid -u memcache`: after dropping root, the server may only
/// remove a file there that it owns.
#[test]
fn the_pid_file_is_removed_however_the_server_is_stopped() {
    for stop in ["SIGTERM", "SIGINT", "shutdown"] {
        let pid_file =
            std::env::temp_dir().join(format!("mc-server-{stop}-{}.pid", std::process::id()));
        let _ = std::fs::remove_file(&pid_file);
        let dir = scratch(&format!("pid-{stop}"));
        let socket = dir.join("mc.sock");
        let mut args = vec![
            "-d".to_string(),
            "-A".to_string(),
            "-P".to_string(),
            pid_file.display().to_string(),
            "-s".to_string(),
            socket.display().to_string(),
        ];
        if running_as_root() {
            args.extend(["-u".to_string(), "memcache".to_string()]);
        }
        let status = Command::new(BIN).args(&args).status().expect("start");
        assert!(status.success());
        wait_for("the pid file", Duration::from_secs(10), || {
            pid_file.exists()
        });
        wait_for("the socket", Duration::from_secs(10), || socket.exists());
        let pid: i32 = std::fs::read_to_string(&pid_file)
            .expect("pid file")
            .trim()
            .parse()
            .expect("a pid");
        let pid = nix::unistd::Pid::from_raw(pid);
        match stop {
            "SIGTERM" => {
                nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("signal")
            }
            "SIGINT" => {
                nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("signal")
            }
            _ => {
                let mut conn = UnixStream::connect(&socket).expect("connect");
                conn.write_all(b"shutdown\r\n").expect("write");
            }
        }
        wait_for("the server to exit", Duration::from_secs(10), || {
            nix::sys::signal::kill(pid, None).is_err()
        });
        assert!(
            !pid_file.exists(),
            "{stop}: the pid file {} is left behind",
            pid_file.display()
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
