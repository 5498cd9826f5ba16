//! The restartable cache (`-e PATH`): a graceful stop saves every live item, the next start
//! with the same file puts them back byte for byte (values, flags, CAS uniques, expiry); a
//! stop that is not graceful, an interrupted save, a damaged, truncated or foreign file, or
//! other `-m` start empty.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mc_server::{Config, RunningServer};
use mc_testkit::exchange;

const BIN: &str = env!("CARGO_BIN_EXE_mc-server");

/// A restart file path of this test's own, in a directory any user may write (the binary
/// test drops root to `nobody` before it saves).
fn scratch_file(name: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = if Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let path = dir.join(format!("mc-restart-{}-{name}-{n}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

fn config(path: &Path, megabytes: usize) -> Config {
    let mut config = Config::ephemeral();
    config.store.max_bytes = megabytes << 20;
    config.tuning.memory_file = Some(path.to_path_buf());
    config
}

fn ask(addr: SocketAddr, request: &[u8]) -> String {
    String::from_utf8_lossy(&exchange(addr, request).0).into_owned()
}

fn curr_items(addr: SocketAddr) -> u64 {
    ask(addr, b"stats\r\n")
        .lines()
        .find_map(|l| l.strip_prefix("STAT curr_items "))
        .and_then(|n| n.trim().parse().ok())
        .expect("curr_items")
}

/// Keys, flags, values and TTLs of every kind the cache holds: empty to -I, no flags to all
/// bits, no expiry, a long one, and one that passes while the server is down.
fn fill(addr: SocketAddr) -> Vec<String> {
    let near_limit = 1024 * 1024 - 512;
    let items: Vec<(String, u32, usize, i64)> = vec![
        ("empty".into(), 0, 0, 0),
        ("one".into(), 1, 1, 0),
        ("small".into(), u32::MAX, 100, 0),
        ("page".into(), 7, 5_000, 1000),
        ("large".into(), 42, 200_000, 0),
        ("at-limit".into(), 3, near_limit, 0),
        ("short-lived".into(), 5, 10, 2),
    ];
    let mut keys = Vec::new();
    for (key, flags, len, ttl) in &items {
        let value: Vec<u8> = (0..*len).map(|i| b'a' + (i % 26) as u8).collect();
        let mut request = format!("set {key} {flags} {ttl} {len}\r\n").into_bytes();
        request.extend_from_slice(&value);
        request.extend_from_slice(b"\r\n");
        assert_eq!(ask(addr, &request), "STORED\r\n", "{key}");
        keys.push(key.clone());
    }
    for i in 0..2000 {
        let key = format!("many:{i}");
        let request = format!("set {key} {i} 0 {}\r\nv{i:07}\r\n", 8);
        assert_eq!(ask(addr, request.as_bytes()), "STORED\r\n");
        keys.push(key);
    }
    keys
}

/// `gets` of every key, one answer per key.
fn read_all(addr: SocketAddr, keys: &[String]) -> Vec<String> {
    keys.iter()
        .map(|k| ask(addr, format!("gets {k}\r\n").as_bytes()))
        .collect()
}

fn cas_of(answer: &str) -> u64 {
    answer
        .lines()
        .next()
        .and_then(|l| l.split(' ').nth(4))
        .and_then(|c| c.parse().ok())
        .expect("a VALUE line with a CAS unique")
}

#[test]
fn a_graceful_stop_keeps_every_item_with_its_flags_cas_and_expiry() {
    let path = scratch_file("keep");
    let first = RunningServer::start(config(&path, 64)).expect("server");
    let addr = first.local_addr().expect("addr");
    let filling = Instant::now();
    let keys = fill(addr);
    let before = read_all(addr, &keys);
    let highest = before
        .iter()
        .filter(|a| a.starts_with("VALUE"))
        .map(|a| cas_of(a))
        .max()
        .expect("values");
    first.shutdown_graceful();
    assert!(path.exists(), "the cache was saved");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "readable by the server's user only");
    // The short-lived item's two seconds pass while the server is down.
    std::thread::sleep(Duration::from_millis(2_200));

    let second = RunningServer::start(config(&path, 64)).expect("server");
    let addr = second.local_addr().expect("addr");
    assert!(
        !path.exists(),
        "the file is consumed by the start that reads it"
    );
    let after = read_all(addr, &keys);
    for ((key, was), now) in keys.iter().zip(&before).zip(&after) {
        if key == "short-lived" {
            assert_eq!(now, "END\r\n", "expired while the server was down");
        } else {
            assert_eq!(now, was, "{key} comes back identical, CAS unique included");
        }
    }
    // The long TTL kept counting in wall-clock time.
    let ttl: i64 = ask(addr, b"mg page t\r\n")
        .trim()
        .strip_prefix("HD t")
        .and_then(|t| t.parse().ok())
        .expect("a TTL");
    // At least the two seconds down were counted; at most the whole time since the set
    // (plus the servers' one-second clock granularity), however slow the machine.
    let since_set = i64::try_from(filling.elapsed().as_secs()).unwrap_or(i64::MAX);
    assert!(
        ttl <= 998 && ttl >= 1000 - since_set - 2,
        "ttl {ttl}, {since_set} s since the set"
    );
    // A unique read before the restart no longer matches once the item changed after it,
    // and new versions get uniques above every restored one.
    let old = cas_of(&before[2]);
    assert_eq!(ask(addr, b"set small 0 0 1\r\nx\r\n"), "STORED\r\n");
    assert_eq!(
        ask(addr, format!("cas small 0 0 1 {old}\r\ny\r\n").as_bytes()),
        "EXISTS\r\n"
    );
    let fresh = cas_of(&ask(addr, b"gets small\r\n"));
    assert!(
        fresh > highest,
        "new unique {fresh} above restored {highest}"
    );
    second.shutdown();
}

#[test]
fn the_shutdown_graceful_command_saves_too() {
    let path = scratch_file("command");
    let mut with_shutdown = config(&path, 64);
    with_shutdown.enable_shutdown = true;
    let first = RunningServer::start(with_shutdown.clone()).expect("server");
    let addr = first.local_addr().expect("addr");
    assert_eq!(ask(addr, b"set k 0 0 1\r\nx\r\n"), "STORED\r\n");
    let mut conn = std::net::TcpStream::connect(addr).expect("connect");
    conn.write_all(b"shutdown graceful\r\n").expect("write");
    first.wait();
    assert!(path.exists(), "saved");
    let second = RunningServer::start(with_shutdown).expect("server");
    let addr = second.local_addr().expect("addr");
    assert_eq!(ask(addr, b"get k\r\n"), "VALUE k 0 1\r\nx\r\nEND\r\n");
    second.shutdown();
}

#[test]
fn a_stop_that_is_not_graceful_saves_nothing() {
    let path = scratch_file("abrupt");
    let first = RunningServer::start(config(&path, 64)).expect("server");
    let addr = first.local_addr().expect("addr");
    fill(addr);
    first.shutdown();
    assert!(!path.exists());
    let second = RunningServer::start(config(&path, 64)).expect("server");
    assert_eq!(curr_items(second.local_addr().expect("addr")), 0);
    second.shutdown();
}

/// Save a full file at `path` and return how many items it holds.
fn saved_file(path: &Path) -> u64 {
    let server = RunningServer::start(config(path, 64)).expect("server");
    let addr = server.local_addr().expect("addr");
    fill(addr);
    let items = curr_items(addr);
    server.shutdown_graceful();
    assert!(path.exists());
    items
}

/// Shorten the file at `path` to `keep(its length)` bytes.
fn cut(path: &Path, keep: impl Fn(u64) -> u64) {
    let len = std::fs::metadata(path).expect("meta").len();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .expect("open");
    file.set_len(keep(len)).expect("truncate");
}

#[test]
fn damaged_truncated_foreign_or_interrupted_files_start_empty() {
    type Damage = fn(&Path);
    let damages: [(&str, Damage); 6] = [
        ("a flipped bit", |p| {
            let mut bytes = std::fs::read(p).expect("read");
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0x10;
            std::fs::write(p, bytes).expect("write");
        }),
        ("truncated", |p| cut(p, |len| len * 2 / 3)),
        ("the trailer cut off", |p| cut(p, |len| len - 10)),
        ("bytes after the end", |p| {
            let mut file = std::fs::OpenOptions::new()
                .append(true)
                .open(p)
                .expect("open");
            file.write_all(b"more").expect("append");
        }),
        ("a foreign file", |p| {
            std::fs::write(p, b"VALUE k 0 1\r\nx\r\nEND\r\n").expect("write");
        }),
        ("a save cut short", |p| {
            // What a crash during the save leaves: the temporary file, no complete one.
            let mut tmp = p.as_os_str().to_owned();
            tmp.push(".tmp");
            let tmp = PathBuf::from(&tmp);
            std::fs::rename(p, &tmp).expect("rename");
            cut(&tmp, |_| 1000);
        }),
    ];
    for (name, damage) in damages {
        let path = scratch_file("damaged");
        assert!(saved_file(&path) > 2000);
        damage(&path);
        let server = RunningServer::start(config(&path, 64)).expect("server");
        let addr = server.local_addr().expect("addr");
        assert_eq!(curr_items(addr), 0, "{name}: the cache starts empty");
        assert_eq!(ask(addr, b"get many:1\r\n"), "END\r\n", "{name}");
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        assert!(
            !path.exists() && !PathBuf::from(tmp).exists(),
            "{name}: removed"
        );
        server.shutdown();
    }
}

#[test]
fn another_memory_limit_starts_empty() {
    let path = scratch_file("other-m");
    saved_file(&path);
    let server = RunningServer::start(config(&path, 32)).expect("server");
    assert_eq!(curr_items(server.local_addr().expect("addr")), 0);
    server.shutdown();
}

fn running_as_root() -> bool {
    nix::unistd::Uid::effective().is_root()
}

/// Start the binary with `-e path` (and `-v`, which logs saves and restores, when `verbose`);
/// returns it once it answers, with its port.
fn start_binary(path: &Path, verbose: bool) -> (std::process::Child, u16) {
    let (child, port) = spawn_binary(path, verbose, &[]);
    // Ready once it answers, not once its port accepts: the port listens before the restart
    // file is read and before the server serves.
    let began = Instant::now();
    while !answers_version(port) {
        assert!(
            began.elapsed() < Duration::from_secs(10),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    (child, port)
}

/// Spawn the binary as [`start_binary`] does, with `extra` arguments, without waiting for it.
fn spawn_binary(path: &Path, verbose: bool, extra: &[&str]) -> (std::process::Child, u16) {
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("probe");
        probe.local_addr().expect("addr").port()
    };
    let mut args = vec![
        "-l".to_string(),
        "127.0.0.1".to_string(),
        "-p".to_string(),
        port.to_string(),
        "-U".to_string(),
        "0".to_string(),
        "-m".to_string(),
        "64".to_string(),
        "-e".to_string(),
        path.display().to_string(),
    ];
    if running_as_root() {
        args.extend(["-u".to_string(), "nobody".to_string()]);
    }
    if verbose {
        args.push("-v".to_string());
    }
    args.extend(extra.iter().map(|a| a.to_string()));
    let child = Command::new(BIN)
        .env_remove("RUST_LOG")
        .args(&args)
        .stderr(Stdio::piped())
        .spawn()
        .expect("start mc-server");
    (child, port)
}

/// Whether a server on `port` answers `version`.
fn answers_version(port: u16) -> bool {
    let Ok(mut conn) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
    let mut answer = [0u8; 64];
    conn.write_all(b"version\r\n").is_ok()
        && mc_testkit::read_some(&mut conn, &mut answer)
            .is_ok_and(|n| answer[..n].starts_with(b"VERSION "))
}

/// Stop the child with `signal` and return what it wrote to stderr.
fn stop_binary(mut child: std::process::Child, signal: nix::sys::signal::Signal) -> String {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, signal).expect("signal");
    let began = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if began.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("mc-server did not stop on {signal}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_string(&mut stderr);
    }
    stderr
}

#[test]
fn the_binary_saves_on_sigusr1_and_says_in_one_warn_line_why_a_file_is_refused() {
    use nix::sys::signal::Signal;
    let path = scratch_file("binary");
    let (child, port) = start_binary(&path, true);
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    assert_eq!(ask(addr, b"set kept 9 0 5\r\nhello\r\n"), "STORED\r\n");
    let before = ask(addr, b"gets kept\r\n");
    let log = stop_binary(child, Signal::SIGUSR1);
    assert!(log.contains("saved 1 items"), "{log}");
    assert!(path.exists());

    let (child, port) = start_binary(&path, true);
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    assert_eq!(ask(addr, b"gets kept\r\n"), before);
    // SIGTERM stops without saving: nothing to restore next time.
    let log = stop_binary(child, Signal::SIGTERM);
    assert!(log.contains("restored 1 items"), "{log}");
    assert!(!path.exists());

    // What an operator sees by default when the file cannot be trusted: one warn line.
    std::fs::write(&path, b"not a cache").expect("write");
    let (child, _) = start_binary(&path, false);
    let log = stop_binary(child, Signal::SIGTERM);
    let warnings: Vec<&str> = log.lines().filter(|l| l.contains("WARN")).collect();
    assert_eq!(warnings.len(), 1, "{log}");
    assert!(
        warnings[0].contains("not an mc-server restart file"),
        "{log}"
    );
}

/// A SIGTERM that arrives while the binary is still reading its restart file (its port already
/// listens) stops it cleanly once the restore is done: exit status 0, its pid file removed,
/// both in the log. Wherever the signal lands the outcome must be the same; before signals
/// were caught ahead of the restore, one landing during it killed the server outright.
#[test]
fn a_sigterm_during_the_restore_stops_cleanly_once_it_is_done() {
    use nix::sys::signal::Signal;
    let path = scratch_file("slow-restore");
    // Enough items that reading them back takes a while.
    let (child, port) = start_binary(&path, false);
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut sets = Vec::new();
    for i in 0..150_000 {
        sets.extend_from_slice(format!("set key:{i} 0 0 8 noreply\r\nvvvvvvvv\r\n").as_bytes());
    }
    sets.extend_from_slice(b"version\r\n");
    assert!(ask(addr, &sets).starts_with("VERSION "));
    assert_eq!(curr_items(addr), 150_000);
    stop_binary(child, Signal::SIGUSR1);
    assert!(path.exists());

    let pid_file = scratch_file("slow-restore-pid");
    let pid_arg = pid_file.display().to_string();
    let (mut child, port) = spawn_binary(&path, true, &["-P", &pid_arg]);
    let began = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(began.elapsed() < Duration::from_secs(10), "never listened");
        std::thread::sleep(Duration::from_millis(2));
    }
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, Signal::SIGTERM).expect("signal");
    let status = child.wait().expect("wait");
    let mut log = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_string(&mut log);
    }
    assert!(status.success(), "{status}: {log}");
    assert!(log.contains("SIGTERM"), "{log}");
    assert!(log.contains("restored 150000 items"), "{log}");
    assert!(log.contains("shut down"), "{log}");
    assert!(!pid_file.exists(), "the pid file is removed");
}
