//! `-o io_uring`: connections served through io_uring behave as on the default path — big
//! values, deep pipelines, a reader slower than the server, idle timeouts, shutdown, other
//! transports on the same workers, the connection count, and the binary's flag. (The edge-case
//! table and the random differential session run on both paths in their own files.)
//!
//! Where the kernel refuses an io_uring (an old kernel, a sandbox that filters the system call),
//! each test says so and skips: the server then refuses `-o io_uring` at start, which
//! `the_binary_starts_with_the_flag_or_says_why_not` checks either way.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use mc_server::{Config, RunningServer, ServerError};
use mc_testkit::{exchange, read_some, running_as_root, stat_u64, stats, ServerProcess};

const BIN: &str = env!("CARGO_BIN_EXE_mc-server");

/// A server on the io_uring path, or `None` (said why) where the kernel gives no io_uring.
fn uring_server(config: Config) -> Option<RunningServer> {
    match RunningServer::start(Config {
        io_uring: true,
        ..config
    }) {
        Ok(server) => Some(server),
        Err(ServerError::IoUring(e)) => {
            eprintln!("skipped: this kernel refuses an io_uring ({e})");
            None
        }
        Err(e) => panic!("server does not start: {e}"),
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream
}

/// Read until `total` bytes have come, failing on an early close.
fn read_exactly(stream: &mut TcpStream, total: usize) -> Vec<u8> {
    let mut answer = Vec::with_capacity(total);
    let mut buf = vec![0u8; 1 << 16];
    while answer.len() < total {
        let n = read_some(stream, &mut buf).expect("read");
        assert!(n > 0, "closed after {} of {total} bytes", answer.len());
        answer.extend_from_slice(&buf[..n]);
    }
    answer
}

#[test]
fn values_larger_than_any_buffer_and_deep_pipelines_are_answered_byte_for_byte() {
    let Some(server) = uring_server(Config::ephemeral()) else {
        return;
    };
    let addr = server.local_addr().expect("tcp address");
    // 1 MiB minus a little: more than the 2 KiB an idle connection reads into, and more than
    // one 16 KiB read.
    let value: Vec<u8> = (0..1_000_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let mut stream = connect(addr);
    let mut set = format!("set big 7 0 {}\r\n", value.len()).into_bytes();
    set.extend_from_slice(&value);
    set.extend_from_slice(b"\r\n");
    stream.write_all(&set).expect("write");
    assert_eq!(read_exactly(&mut stream, 8), b"STORED\r\n");
    stream.write_all(b"get big\r\n").expect("write");
    let mut expected = format!("VALUE big 7 {}\r\n", value.len()).into_bytes();
    expected.extend_from_slice(&value);
    expected.extend_from_slice(b"\r\nEND\r\n");
    assert!(read_exactly(&mut stream, expected.len()) == expected);
    // 2,000 requests in one write: the answers come back in order.
    let mut pipeline = Vec::new();
    let mut answers = Vec::new();
    for i in 0..2000 {
        pipeline.extend_from_slice(
            format!("set k{i} {i} 0 3\r\nv{:02}\r\nget k{i}\r\n", i % 100).as_bytes(),
        );
        answers.extend_from_slice(
            format!("STORED\r\nVALUE k{i} {i} 3\r\nv{:02}\r\nEND\r\n", i % 100).as_bytes(),
        );
    }
    stream.write_all(&pipeline).expect("write");
    assert_eq!(
        String::from_utf8_lossy(&read_exactly(&mut stream, answers.len())),
        String::from_utf8_lossy(&answers)
    );
    server.shutdown();
}

#[test]
fn a_client_that_reads_slower_than_the_server_writes_gets_every_byte() {
    let Some(server) = uring_server(Config::ephemeral()) else {
        return;
    };
    let addr = server.local_addr().expect("tcp address");
    let value = vec![b'x'; 500_000];
    let mut stream = connect(addr);
    let mut set = format!("set big 0 0 {}\r\n", value.len()).into_bytes();
    set.extend_from_slice(&value);
    set.extend_from_slice(b"\r\n");
    stream.write_all(&set).expect("write");
    assert_eq!(read_exactly(&mut stream, 8), b"STORED\r\n");
    // 40 answers of 500 kB asked at once, then nothing read for a while: the server's writes
    // wait for the socket instead of failing or dropping the connection.
    stream.write_all(&b"get big\r\n".repeat(40)).expect("write");
    std::thread::sleep(Duration::from_millis(500));
    let one = b"VALUE big 0 500000\r\n".len() + value.len() + b"\r\nEND\r\n".len();
    let answer = read_exactly(&mut stream, 40 * one);
    assert!(answer.starts_with(b"VALUE big 0 500000\r\nxxx"));
    assert!(answer.ends_with(b"xxx\r\nEND\r\n"));
    // And the connection still serves.
    stream.write_all(b"version\r\n").expect("write");
    assert_eq!(read_exactly(&mut stream, 16), b"VERSION 1.6.18\r\n");
    server.shutdown();
}

#[test]
fn an_idle_connection_is_closed_at_its_timeout_and_counted() {
    let Some(server) = uring_server(Config {
        idle_timeout: 1,
        ..Config::ephemeral()
    }) else {
        return;
    };
    let addr = server.local_addr().expect("tcp address");
    let mut stream = connect(addr);
    let began = Instant::now();
    let mut buf = [0u8; 16];
    // The client sees the end of the connection (its read was still submitted, and must not
    // keep the socket open until the client next sends).
    let n = stream.read(&mut buf).unwrap_or(0);
    let waited = began.elapsed();
    assert_eq!(n, 0, "the server answered an idle connection");
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(5),
        "closed after {waited:?}, idle_timeout 1 s"
    );
    let counted = stats(addr).expect("stats");
    assert_eq!(stat_u64(&counted, "idle_kicks"), 1);
    server.shutdown();
}

#[test]
fn shutdown_ends_the_connections_it_holds() {
    let Some(server) = uring_server(Config::ephemeral()) else {
        return;
    };
    let addr = server.local_addr().expect("tcp address");
    let mut idle = connect(addr);
    let (answer, _) = exchange(addr, b"set k 0 0 1\r\nv\r\n");
    assert_eq!(answer, b"STORED\r\n");
    let began = Instant::now();
    server.shutdown();
    let mut buf = [0u8; 16];
    let n = idle.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0);
    assert!(began.elapsed() < Duration::from_secs(5));
}

#[test]
fn two_workers_serve_concurrent_clients_and_count_them() {
    let Some(server) = uring_server(Config {
        threads: 2,
        ..Config::ephemeral()
    }) else {
        return;
    };
    let addr = server.local_addr().expect("tcp address");
    // Connections are dealt to the two workers in turn; each client works on its own keys.
    let clients: Vec<_> = (0..6)
        .map(|c| {
            std::thread::spawn(move || {
                let mut stream = connect(addr);
                for i in 0..200 {
                    let request = format!("set c{c}k{i} 0 0 4\r\n{i:04}\r\nget c{c}k{i}\r\n");
                    stream.write_all(request.as_bytes()).expect("write");
                    let expected = format!("STORED\r\nVALUE c{c}k{i} 0 4\r\n{i:04}\r\nEND\r\n");
                    assert_eq!(
                        read_exactly(&mut stream, expected.len()),
                        expected.as_bytes()
                    );
                }
                stream
            })
        })
        .collect();
    let open: Vec<TcpStream> = clients
        .into_iter()
        .map(|c| c.join().expect("client"))
        .collect();
    let counted = stats(addr).expect("stats");
    // The six clients and the one asking.
    assert_eq!(stat_u64(&counted, "curr_connections"), 7);
    assert_eq!(stat_u64(&counted, "cmd_set"), 1200);
    assert_eq!(stat_u64(&counted, "get_hits"), 1200);
    drop(open);
    server.shutdown();
}

#[test]
fn a_watch_connection_streams_events_and_ends_when_its_client_leaves() {
    let Some(server) = uring_server(Config::ephemeral()) else {
        return;
    };
    let addr = server.local_addr().expect("tcp address");
    let mut watcher = connect(addr);
    watcher.write_all(b"watch mutations\r\n").expect("watch");
    assert_eq!(read_exactly(&mut watcher, 4), b"OK\r\n");
    // Each event is written while the watcher's read of its client is still submitted; what
    // the client sends meanwhile is ignored.
    let mut writer = connect(addr);
    let mut logged = String::new();
    let mut buf = vec![0u8; 1 << 16];
    for round in 0..3 {
        for i in 0..100 {
            writer
                .write_all(format!("set r{round}k{i} 0 0 1\r\nv\r\n").as_bytes())
                .expect("write");
            assert_eq!(read_exactly(&mut writer, 8), b"STORED\r\n");
        }
        watcher.write_all(b"ignored\r\n").expect("write");
        while logged.lines().filter(|l| l.starts_with("ts=")).count() < 100 * (round + 1) {
            let n = read_some(&mut watcher, &mut buf).expect("read");
            assert!(n > 0, "the watch ended");
            logged.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    }
    assert!(logged.contains("key=r2k99"), "{logged}");
    // The client leaves: the server sees it, without another event to write.
    drop(watcher);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let counted = stats(addr).expect("stats");
        // The writer and the one asking.
        if stat_u64(&counted, "curr_connections") == 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the watch connection outlived its client"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    server.shutdown();
}

/// A `watch` connection waits for its client (to see it leave) while it writes the log; an
/// io_uring read it abandoned for every line would stay submitted, holding its buffer, until
/// the client sent something. 20,000 events one at a time must not grow the server by a
/// buffer each.
#[test]
fn a_watch_connection_keeps_one_read_however_many_lines_it_writes() {
    if !mc_testkit::io_paths(mc_server::io_uring_available()).contains(&true) {
        return;
    }
    const EVENTS: usize = 20_000;
    let server = ServerProcess::spawn(Path::new(BIN), "-1", &["-o", "io_uring", "-t", "1"])
        .expect("mc-server -o io_uring");
    let addr = server.addr;
    let mut watcher = connect(addr);
    watcher.write_all(b"watch mutations\r\n").expect("watch");
    assert_eq!(read_exactly(&mut watcher, 4), b"OK\r\n");
    let drain = std::thread::spawn(move || {
        let mut buf = vec![0u8; 1 << 16];
        let mut lines = 0;
        while lines < EVENTS {
            let n = read_some(&mut watcher, &mut buf).expect("read the log");
            assert!(n > 0, "the watch ended");
            lines += buf[..n].iter().filter(|&&b| b == b'\n').count();
        }
    });
    let mut writer = connect(addr);
    let mut one = |i: usize| {
        writer
            .write_all(format!("set k{} 0 0 1\r\nv\r\n", i % 100).as_bytes())
            .expect("write");
        assert_eq!(read_exactly(&mut writer, 8), b"STORED\r\n");
    };
    // Warm up (buffers, the log, the index), then measure.
    for i in 0..1000 {
        one(i);
    }
    let before = server.rss_kib();
    for i in 1000..EVENTS {
        one(i);
    }
    drain.join().expect("watcher");
    let grown = server.rss_kib().saturating_sub(before);
    assert!(
        grown < 4 * 1024,
        "the server grew {grown} KiB over {} watch events",
        EVENTS - 1000
    );
}

/// `stats settings` names the path that serves, on both paths.
#[test]
fn stats_settings_say_which_io_path_serves() {
    for io_uring in mc_testkit::io_paths(mc_server::io_uring_available()) {
        let server = RunningServer::start(Config {
            io_uring,
            ..Config::ephemeral()
        })
        .expect("server starts");
        let (settings, _) = exchange(server.local_addr().expect("tcp"), b"stats settings\r\n");
        let settings = String::from_utf8_lossy(&settings);
        let line = if io_uring {
            "STAT io_uring yes\r\nEND"
        } else {
            "STAT io_uring no\r\nEND"
        };
        assert!(settings.ends_with(&format!("{line}\r\n")), "{settings}");
        server.shutdown();
    }
}

#[test]
fn unix_socket_connections_are_served_beside_it() {
    let path = std::env::temp_dir().join(format!("mc-uring-{}.sock", std::process::id()));
    let Some(server) = uring_server(Config {
        unix_socket: Some(path.clone()),
        ..Config::ephemeral()
    }) else {
        return;
    };
    let mut stream = std::os::unix::net::UnixStream::connect(&path).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    stream
        .write_all(b"set k 0 0 2\r\nhi\r\nget k\r\n")
        .expect("write");
    let expected = b"STORED\r\nVALUE k 0 2\r\nhi\r\nEND\r\n";
    let mut answer = Vec::new();
    let mut buf = [0u8; 256];
    while answer.len() < expected.len() {
        let n = read_some(&mut stream, &mut buf).expect("read");
        assert!(n > 0, "closed");
        answer.extend_from_slice(&buf[..n]);
    }
    assert_eq!(answer, expected);
    server.shutdown();
    let _ = std::fs::remove_file(&path);
}

#[test]
fn the_binary_starts_with_the_flag_or_says_why_not() {
    match mc_server::io_uring_available() {
        Ok(()) => {
            let server = ServerProcess::spawn(Path::new(BIN), "-1", &["-o", "io_uring"])
                .expect("mc-server -o io_uring starts");
            let (answer, closed) = exchange(server.addr, b"set k 0 0 1\r\nv\r\nget k\r\n");
            assert_eq!(answer, b"STORED\r\nVALUE k 0 1\r\nv\r\nEND\r\n");
            assert!(!closed);
        }
        Err(e) => {
            // Refused at start, saying why, rather than served some other way.
            let mut args = vec!["-p", "0", "-U", "0", "-o", "io_uring"];
            if running_as_root() {
                args.extend(["-u", "memcache"]);
            }
            let output = std::process::Command::new(BIN)
                .args(args)
                .output()
                .expect("run mc-server");
            let said = String::from_utf8_lossy(&output.stderr);
            // EX_OSERR, as docs/server.md says.
            assert_eq!(output.status.code(), Some(71), "{said}");
            assert!(said.contains("io_uring"), "{said}");
            eprintln!("this kernel refuses an io_uring ({e}); the refusal was checked");
        }
    }
}
