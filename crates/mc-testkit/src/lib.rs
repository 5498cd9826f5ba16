//! Test support shared by the crates' integration tests: the real peers they compare against
//! (Debian's `memcached`, `memccapable`, python-memcached), started on loopback ephemeral ports
//! and stopped by PID, and a raw connection helper.
//!
//! A test that needs a missing peer calls [`missing_peer`]: it skips with the reason, or fails
//! when `MC_REQUIRE_PEERS=1` (as CI sets it).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A server process started by a test (memcached, or the `mc-server` binary), stopped by PID
/// when dropped. It reports its ephemeral port through memcached's `MEMCACHED_PORT_FILENAME`.
pub struct ServerProcess {
    child: Child,
    port_file: PathBuf,
    /// Where it listens.
    pub addr: SocketAddr,
}

/// The reference memcached.
pub type Memcached = ServerProcess;

impl ServerProcess {
    /// Start `program` on 127.0.0.1 with an ephemeral port and extra `args`; `ephemeral_port`
    /// is the port argument that means "any port" to it (memcached: `-1`, mc-server: `0`).
    /// As root, `-u memcache` is added, as both refuse root without `-u`.
    pub fn spawn(
        program: &std::path::Path,
        ephemeral_port: &str,
        args: &[&str],
    ) -> std::io::Result<ServerProcess> {
        ServerProcess::launch(Command::new(program), ephemeral_port, args)
    }

    /// [`ServerProcess::spawn`] with the command given whole (e.g. `taskset -c 0 memcached`):
    /// the listen address, port, `-U 0`, `args` and (as root) `-u memcache` are appended. Fails
    /// when the server exits or does not report its port within 10 s.
    pub fn launch(
        cmd: Command,
        ephemeral_port: &str,
        args: &[&str],
    ) -> std::io::Result<ServerProcess> {
        ServerProcess::launch_within(cmd, ephemeral_port, args, Duration::from_secs(10))
    }

    /// [`ServerProcess::launch`], waiting up to `patience` for the port (a server restoring
    /// a large restart file reports it late).
    pub fn launch_within(
        mut cmd: Command,
        ephemeral_port: &str,
        args: &[&str],
        patience: Duration,
    ) -> std::io::Result<ServerProcess> {
        static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let port_file =
            std::env::temp_dir().join(format!("mc-testkit-{}-{n}.port", std::process::id()));
        let _ = std::fs::remove_file(&port_file);
        cmd.args(["-l", "127.0.0.1", "-p", ephemeral_port, "-U", "0"])
            .args(args)
            .env("MEMCACHED_PORT_FILENAME", &port_file)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if running_as_root() {
            cmd.args(["-u", "memcache"]);
        }
        let shown = format!("{cmd:?}");
        let child = cmd.spawn()?;
        let mut server = ServerProcess {
            child,
            port_file,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let deadline = Instant::now() + patience;
        while Instant::now() < deadline {
            if let Ok(text) = std::fs::read_to_string(&server.port_file) {
                let port = text
                    .lines()
                    .find_map(|l| l.strip_prefix("TCP INET: "))
                    .and_then(|p| p.trim().parse::<u16>().ok());
                if let Some(port) = port {
                    server.addr.set_port(port);
                    return Ok(server);
                }
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(std::io::Error::other(format!(
                    "{shown} exited early with {status}"
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(std::io::Error::other(format!(
            "{shown} did not report its port within {patience:?}"
        )))
    }

    /// Send the process `signal` (a `kill` name such as `USR1`) and wait up to `patience` for
    /// it to exit; `None` when it did not.
    pub fn stop_with(
        &mut self,
        signal: &str,
        patience: Duration,
    ) -> std::io::Result<Option<std::process::ExitStatus>> {
        Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()?;
        let deadline = Instant::now() + patience;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                return Ok(Some(status));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(None)
    }

    /// CPU time (user + system) the process has used, in seconds.
    pub fn cpu_seconds(&self) -> f64 {
        cpu_seconds(self.pid())
    }

    /// CPU time the process has used, split into user and system time.
    pub fn cpu_times(&self) -> CpuTimes {
        cpu_times(self.pid())
    }

    /// Start `memcached` on 127.0.0.1 with an ephemeral port, or `None` when it is not installed.
    pub fn start() -> Option<Memcached> {
        Memcached::start_with(&["-m", "64", "-t", "1"])
    }

    /// Start `memcached` with extra arguments (e.g. `-m`, `-t`, `-I`), or `None` (after
    /// [`missing_peer`]) when it cannot be started.
    pub fn start_with(args: &[&str]) -> Option<Memcached> {
        if which("memcached").is_none() {
            missing_peer("memcached is not installed (apt-get install memcached)");
            return None;
        }
        match ServerProcess::spawn(std::path::Path::new("memcached"), "-1", args) {
            Ok(server) => Some(server),
            Err(e) => panic!("memcached did not start: {e}"),
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The resident set size of the process, in KiB (0 once it is gone).
    pub fn rss_kib(&self) -> u64 {
        rss_kib(self.pid())
    }

    /// Send `input` on a fresh connection followed by `mn`, and read until the server answers
    /// `MN` (or closes). Returns the answer without the final `MN\r\n`, and whether it closed.
    pub fn exchange(&self, input: &[u8]) -> (Vec<u8>, bool) {
        exchange(self.addr, input)
    }
}

/// CPU time (user + system) process `pid` has used, in seconds (0 when it cannot be read).
pub fn cpu_seconds(pid: u32) -> f64 {
    cpu_times(pid).total()
}

/// CPU time a process has used, in seconds, as the kernel accounts it (in clock ticks).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuTimes {
    /// Time running the process's own code.
    pub user: f64,
    /// Time in the kernel on its behalf (system calls, the network stack it drives).
    pub system: f64,
}

impl CpuTimes {
    /// User and system time together.
    pub fn total(&self) -> f64 {
        self.user + self.system
    }

    /// The time used between `earlier` and this reading.
    pub fn since(&self, earlier: CpuTimes) -> CpuTimes {
        CpuTimes {
            user: self.user - earlier.user,
            system: self.system - earlier.system,
        }
    }
}

/// CPU time process `pid` has used, split (zeros when it cannot be read).
pub fn cpu_times(pid: u32) -> CpuTimes {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces: utime
    // and stime are the 14th and 15th fields of the line, the 12th and 13th after the name.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    CpuTimes {
        user: ticks(11) / clock_ticks_per_second(),
        system: ticks(12) / clock_ticks_per_second(),
    }
}

/// The kernel's clock ticks per second (`getconf CLK_TCK`; 100 when it cannot be asked).
pub fn clock_ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// One `read`, retried when a signal interrupts it. A socket read with a timeout
/// (`SO_RCVTIMEO`) fails with `EINTR` on any signal, even one whose handler asks for restarts,
/// and also when the process is stopped and continued (a debugger, a frozen CI container), so a
/// test that reads with a timeout must not take `Interrupted` for the server's answer.
pub fn read_some(source: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    retrying(|| source.read(buf))
}

/// Run a socket operation until a signal does not interrupt it (see [`read_some`]); for
/// those that are not a `Read`, such as a UDP socket's `recv`.
pub fn retrying<T>(mut op: impl FnMut() -> std::io::Result<T>) -> std::io::Result<T> {
    loop {
        match op() {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// A server's `stats`, by name.
pub fn stats(addr: SocketAddr) -> std::io::Result<std::collections::HashMap<String, String>> {
    let mut conn = TcpStream::connect(addr)?;
    conn.set_read_timeout(Some(Duration::from_secs(5)))?;
    conn.write_all(b"stats\r\n")?;
    let mut text = Vec::new();
    let mut buf = [0u8; 16384];
    while !text.ends_with(b"END\r\n") {
        let n = read_some(&mut conn, &mut buf)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        text.extend_from_slice(&buf[..n]);
    }
    Ok(String::from_utf8_lossy(&text)
        .lines()
        .filter_map(|l| l.strip_prefix("STAT "))
        .filter_map(|l| l.split_once(' '))
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect())
}

/// One statistic as a number (0 when absent or not a number).
pub fn stat_u64(stats: &std::collections::HashMap<String, String>, name: &str) -> u64 {
    stats.get(name).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// The resident set size of process `pid`, in KiB (0 when it cannot be read).
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

/// The number in environment variable `name`, or `default` when it is unset or not a number:
/// randomized tests widen their search locally this way (`MC_DIFF_SEED`, `MC_DIFF_OPS`); CI
/// runs the defaults.
pub fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// memcached 1.6.18 checks a number of 2^63 or more for a minus sign with `strchr` from the
/// start of the value, which reads on past the value's end into whatever its slab chunk holds
/// next, so it sometimes calls such a stored number non-numeric. True when `stored`, the value
/// memcached holds, is such a number: its refusal to count on it is that defect, not a
/// difference between the servers.
pub fn memcached_misreads_as_non_numeric(stored: &[u8]) -> bool {
    std::str::from_utf8(stored)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n >= 1 << 63)
}

/// True when tests must fail rather than skip for a missing peer.
pub fn peers_required() -> bool {
    std::env::var("MC_REQUIRE_PEERS").is_ok_and(|v| v == "1")
}

/// Skip (or, under `MC_REQUIRE_PEERS=1`, fail) with a reason.
pub fn missing_peer(reason: &str) {
    if peers_required() {
        panic!("required peer missing: {reason}");
    }
    println!("skipped: {reason} (set MC_REQUIRE_PEERS=1 to make this a failure)");
}

/// The server's I/O paths a test should run on, as `io_uring` switches: the default (false)
/// always, and io_uring (true) when `io_uring_available` (mc-server's check) says the kernel
/// gives one; otherwise the skip is said, with the kernel's reason. (A kernel feature, not a
/// peer: `MC_REQUIRE_PEERS` does not turn it into a failure.)
pub fn io_paths(io_uring_available: std::io::Result<()>) -> Vec<bool> {
    match io_uring_available {
        Ok(()) => vec![false, true],
        Err(e) => {
            println!("skipped: the io_uring path, as this kernel refuses an io_uring ({e})");
            vec![false]
        }
    }
}

/// True when the tests run as root (then memcached needs `-u`).
pub fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// Send `input` on a fresh connection to `addr` followed by `mn`, and read until the server
/// answers `MN` (or closes). Returns the answer without the final `MN\r\n`, and whether the
/// server closed the connection.
pub fn exchange(addr: SocketAddr, input: &[u8]) -> (Vec<u8>, bool) {
    let mut stream = TcpStream::connect(addr).expect("connect to server");
    stream
        .set_read_timeout(Some(Duration::from_secs(3)))
        .expect("set timeout");
    let mut wire = input.to_vec();
    wire.extend_from_slice(b"mn\r\n");
    // The server may close before reading everything; that is part of the answer.
    let _ = stream.write_all(&wire);
    let mut answer = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        match read_some(&mut stream, &mut buf) {
            Ok(0) => return (answer, true),
            Ok(n) => {
                answer.extend_from_slice(&buf[..n]);
                if answer.ends_with(b"MN\r\n") {
                    answer.truncate(answer.len() - 4);
                    return (answer, false);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return (answer, true),
            Err(e) => panic!(
                "no MN from {addr} for {:?}: {e}; got {:?}",
                String::from_utf8_lossy(input),
                String::from_utf8_lossy(&answer)
            ),
        }
    }
}

/// Send `input` and read until `done` accepts the answer, the server closes, or `timeout`
/// passes; once accepted, keep reading for a moment so that anything extra the server sends is
/// caught. Returns the bytes read and whether the server closed.
pub fn send_and_read(
    addr: SocketAddr,
    input: &[u8],
    timeout: Duration,
    mut done: impl FnMut(&[u8]) -> bool,
) -> (Vec<u8>, bool) {
    const SETTLE: Duration = Duration::from_millis(30);
    let mut stream = TcpStream::connect(addr).expect("connect to server");
    let _ = stream.write_all(input);
    let mut deadline = Instant::now() + timeout;
    let mut settling = false;
    let mut answer = Vec::new();
    let mut buf = [0u8; 65536];
    while Instant::now() < deadline {
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        stream.set_read_timeout(Some(left)).expect("set timeout");
        match read_some(&mut stream, &mut buf) {
            Ok(0) => return (answer, true),
            Ok(n) => {
                answer.extend_from_slice(&buf[..n]);
                if !settling && done(&answer) {
                    settling = true;
                    deadline = Instant::now() + SETTLE;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return (answer, true),
            Err(_) => break,
        }
    }
    (answer, false)
}

/// The path of an executable on `PATH`, if there is one.
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// The Python interpreter that has python-memcached (`import memcache`), if any.
pub fn python_with_memcache() -> Option<PathBuf> {
    ["/usr/bin/python3", "python3"].iter().find_map(|python| {
        let ok = Command::new(python)
            .args(["-c", "import memcache"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| PathBuf::from(python))
    })
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.port_file);
    }
}

/// memcached 1.6.18's measured answers to edge-case requests (JSON; strings are latin-1, one
/// char per byte; CAS uniques shown as `<cas>`, the version as `<v>`), captured from Debian's
/// memcached on a fresh connection per case after its `setup` requests.
pub const EDGE_CASES_JSON: &str = include_str!("../data/memcached-1.6.18-edge-cases.json");

/// Strings in the conformance data are latin-1: one char per byte.
pub fn latin1(s: &str) -> Vec<u8> {
    s.chars().map(|c| c as u32 as u8).collect()
}

/// python-memcached 1.58's key hash, bucket list and server choice (with the rehash sequence
/// used when a server is dead) for a weighted 4-server pool, plus its value flags (JSON).
pub const PYTHON_PLACEMENT_JSON: &str =
    include_str!("../data/python-memcached-1.58-placement.json");

/// libmemcached 1.1.4's weighted ketama placement of 200 keys on three pools (JSON).
pub const KETAMA_JSON: &str = include_str!("../data/ketama-libmemcached-1.1.4.json");

/// A small deterministic generator (xorshift64*) for generated tests: failures reproduce from
/// their seed on every machine.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// One of `items`.
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}
