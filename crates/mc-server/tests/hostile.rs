//! Hostile input against a running server: each input gets the same answer as memcached gives
//! (or the same clean close), and the server keeps serving everybody else. Each test runs on
//! both I/O paths (with `-o io_uring` where the kernel gives one).

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use mc_server::{Config, RunningServer};
use mc_testkit::{read_some, send_and_read, Memcached};

/// (name, input): answers compared with memcached's.
fn cases() -> Vec<(&'static str, Vec<u8>)> {
    let mut too_large = b"set big 0 0 2097152\r\n".to_vec();
    too_large.extend(std::iter::repeat(b'x').take(2_097_152));
    too_large.extend_from_slice(b"\r\nget big\r\n");
    let mut garbage = Vec::new();
    let mut x: u32 = 0x1234_5678;
    for _ in 0..4096 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        garbage.push((x >> 24) as u8);
    }
    // Garbage without newlines reaches the line limit: both servers close.
    let mut keys = b"get".to_vec();
    for i in 0..10_000 {
        keys.extend_from_slice(format!(" k{i}").as_bytes());
    }
    keys.extend_from_slice(b"\r\n");
    vec![
        ("value over -I, data sent", too_large),
        (
            "length over INT_MAX",
            b"set big 0 0 4294967297\r\nx\r\n".to_vec(),
        ),
        (
            "length shorter than the data",
            b"set a 0 0 3\r\nabcdefgh\r\nget a\r\n".to_vec(),
        ),
        (
            "length longer than the data",
            b"set a 0 0 10\r\nabc\r\nget a\r\n".to_vec(),
        ),
        ("no newline past the line limit", vec![b'x'; 3000]),
        ("binary garbage", garbage),
        (
            "NUL in a key",
            b"set a\x00b 0 0 1\r\nx\r\nget a\r\n".to_vec(),
        ),
        (
            "control bytes in a key",
            b"set k\x01\x02 0 0 1\r\nx\r\nget k\x01\x02\r\n".to_vec(),
        ),
        ("10,000 keys in one get", keys),
        ("negative flags", b"set a -1 0 1\r\nx\r\n".to_vec()),
        (
            "overflowing exptime",
            b"set a 0 99999999999999999999 1\r\nx\r\n".to_vec(),
        ),
        (
            "overflowing delta",
            b"set n 0 0 1\r\n1\r\nincr n 18446744073709551616\r\n".to_vec(),
        ),
        (
            "negative delta",
            b"set n 0 0 1\r\n1\r\ndecr n -5\r\n".to_vec(),
        ),
        (
            "overflowing cas",
            b"set c 0 0 1\r\n1\r\ncas c 0 0 1 18446744073709551616\r\nx\r\n".to_vec(),
        ),
        (
            "HTTP on the memcached port",
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        ),
    ]
}

/// Hide CAS uniques, which legitimately differ.
fn normalize(answer: &[u8]) -> String {
    String::from_utf8_lossy(answer)
        .split("\r\n")
        .map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            if fields.first() == Some(&"VALUE") && fields.len() == 5 {
                format!(
                    "{} {} {} {} <cas>",
                    fields[0], fields[1], fields[2], fields[3]
                )
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\r\n")
}

fn still_serving(addr: SocketAddr) {
    let mut conn = TcpStream::connect(addr).expect("connect");
    conn.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    conn.write_all(b"set alive 0 0 2\r\nok\r\nget alive\r\n")
        .expect("write");
    let mut answer = Vec::new();
    let mut buf = [0u8; 256];
    while !answer.ends_with(b"END\r\n") {
        let n = read_some(&mut conn, &mut buf).expect("read");
        assert!(n > 0, "the server stopped serving");
        answer.extend_from_slice(&buf[..n]);
    }
    assert_eq!(answer, b"STORED\r\nVALUE alive 0 2\r\nok\r\nEND\r\n");
}

#[test]
fn hostile_inputs_get_memcacheds_answers_and_harm_nobody() {
    for io_uring in mc_testkit::io_paths(mc_server::io_uring_available()) {
        hostile_inputs_get_memcacheds_answers_and_harm_nobody_on(io_uring);
    }
}

fn hostile_inputs_get_memcacheds_answers_and_harm_nobody_on(io_uring: bool) {
    let server = RunningServer::start(Config {
        io_uring,
        ..Config::ephemeral()
    })
    .expect("server");
    let ours = server.local_addr().expect("addr");
    let reference = Memcached::start();
    for (name, input) in cases() {
        let wait = Duration::from_millis(400);
        let (answer, closed) = send_and_read(ours, &input, wait, |_| false);
        if let Some(memcached) = &reference {
            let (expected, their_close) = send_and_read(memcached.addr, &input, wait, |_| false);
            assert_eq!(
                normalize(&answer),
                normalize(&expected),
                "{name}: answer differs from memcached"
            );
            assert_eq!(closed, their_close, "{name}: close differs from memcached");
        }
        still_serving(ours);
    }
}

/// A declared length of 2 GB is refused at once and its data skipped as it arrives, never
/// buffered. (memcached answers only after all the declared bytes have come in.)
#[test]
fn a_huge_declared_length_is_refused_without_buffering() {
    for io_uring in mc_testkit::io_paths(mc_server::io_uring_available()) {
        a_huge_declared_length_is_refused_without_buffering_on(io_uring);
    }
}

fn a_huge_declared_length_is_refused_without_buffering_on(io_uring: bool) {
    let server = RunningServer::start(Config {
        io_uring,
        ..Config::ephemeral()
    })
    .expect("server");
    let addr = server.local_addr().expect("addr");
    let mut conn = TcpStream::connect(addr).expect("connect");
    conn.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    conn.write_all(b"set big 0 0 2147483000\r\n")
        .expect("write");
    let mut buf = [0u8; 128];
    let n = read_some(&mut conn, &mut buf).expect("read");
    assert_eq!(&buf[..n], b"SERVER_ERROR object too large for cache\r\n");
    let before = rss_mib();
    let chunk = vec![b'z'; 1 << 20];
    for _ in 0..64 {
        conn.write_all(&chunk)
            .expect("the server keeps reading and dropping");
    }
    assert!(
        rss_mib() - before < 32.0,
        "64 MiB of refused data must not be kept"
    );
    still_serving(addr);
}

#[test]
fn half_sent_requests_then_disconnect_leave_nothing_behind() {
    for io_uring in mc_testkit::io_paths(mc_server::io_uring_available()) {
        half_sent_requests_then_disconnect_leave_nothing_behind_on(io_uring);
    }
}

fn half_sent_requests_then_disconnect_leave_nothing_behind_on(io_uring: bool) {
    let server = RunningServer::start(Config {
        io_uring,
        ..Config::ephemeral()
    })
    .expect("server");
    let addr = server.local_addr().expect("addr");
    for i in 0..200 {
        let mut conn = TcpStream::connect(addr).expect("connect");
        let partial: &[u8] = match i % 4 {
            0 => b"set k 0 0 10\r\nabc",
            1 => b"get k",
            2 => b"set big 0 0 900000\r\n",
            _ => b"mg k v",
        };
        conn.write_all(partial).expect("write");
        drop(conn);
    }
    still_serving(addr);
    // Closed connections are noticed asynchronously: give the server a moment.
    let mut open = u64::MAX;
    for _ in 0..50 {
        let (stats, _) = send_and_read(addr, b"stats\r\n", Duration::from_secs(2), |a| {
            a.ends_with(b"END\r\n")
        });
        open = String::from_utf8_lossy(&stats)
            .lines()
            .find_map(|l| l.strip_prefix("STAT curr_connections "))
            .and_then(|v| v.parse().ok())
            .expect("curr_connections");
        if open == 1 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(open, 1, "only the stats connection is left open");
}

#[test]
fn over_the_connection_limit_by_fifty() {
    for io_uring in mc_testkit::io_paths(mc_server::io_uring_available()) {
        over_the_connection_limit_by_fifty_on(io_uring);
    }
}

fn over_the_connection_limit_by_fifty_on(io_uring: bool) {
    let limit = 20;
    let server = RunningServer::start(Config {
        max_connections: limit,
        io_uring,
        ..Config::ephemeral()
    })
    .expect("server");
    let addr = server.local_addr().expect("addr");
    let mut accepted = Vec::new();
    let mut refused = 0;
    for _ in 0..limit + 50 {
        let mut conn = TcpStream::connect(addr).expect("the kernel accepts");
        conn.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        conn.write_all(b"version\r\n").expect("write");
        let mut buf = [0u8; 64];
        let n = read_some(&mut conn, &mut buf).unwrap_or(0);
        if buf[..n].starts_with(b"VERSION ") {
            accepted.push(conn);
        } else {
            assert_eq!(&buf[..n], b"ERROR Too many open connections\r\n");
            refused += 1;
        }
    }
    assert_eq!(accepted.len(), limit);
    assert_eq!(refused, 50);
    drop(accepted);
    std::thread::sleep(Duration::from_millis(200));
    still_serving(addr);
}

#[test]
fn a_reader_that_never_reads_does_not_grow_the_server() {
    for io_uring in mc_testkit::io_paths(mc_server::io_uring_available()) {
        a_reader_that_never_reads_does_not_grow_the_server_on(io_uring);
    }
}

fn a_reader_that_never_reads_does_not_grow_the_server_on(io_uring: bool) {
    let server = RunningServer::start(Config {
        io_uring,
        ..Config::ephemeral()
    })
    .expect("server");
    let addr = server.local_addr().expect("addr");
    let big = vec![b'v'; 512 * 1024];
    let mut setup = format!("set big 0 0 {}\r\n", big.len()).into_bytes();
    setup.extend_from_slice(&big);
    setup.extend_from_slice(b"\r\n");
    let (answer, _) = send_and_read(addr, &setup, Duration::from_secs(5), |a| {
        a.ends_with(b"\r\n")
    });
    assert_eq!(answer, b"STORED\r\n");
    // Ask for 2,000 copies of a 512 KiB value (1 GiB of answers) and never read them.
    let mut slow = TcpStream::connect(addr).expect("connect");
    slow.set_write_timeout(Some(Duration::from_secs(3)))
        .expect("timeout");
    let request = b"get big\r\n".repeat(2000);
    let _ = slow.write_all(&request);
    std::thread::sleep(Duration::from_millis(500));
    let rss = rss_mib();
    // The server stops reading that client once its own buffers are full: memory stays flat.
    for _ in 0..5 {
        std::thread::sleep(Duration::from_millis(200));
        let _ = slow.write_all(b"get big\r\n");
    }
    let grown = rss_mib() - rss;
    assert!(
        grown < 64.0,
        "RSS grew {grown:.1} MiB for a client that does not read"
    );
    still_serving(addr);
    drop(slow);
}

fn rss_mib() -> f64 {
    mc_testkit::rss_kib(std::process::id()) as f64 / 1024.0
}
