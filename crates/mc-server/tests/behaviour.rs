//! Server behaviours beyond single commands: connection limits, pipelining, large values,
//! meta flags that depend on history, stats.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use mc_server::{Config, RunningServer};
use mc_testkit::{exchange, read_some};

fn server(config: Config) -> RunningServer {
    RunningServer::start(config).expect("server starts")
}

fn ask(server: &RunningServer, input: &[u8]) -> String {
    let (answer, closed) = exchange(server.local_addr().expect("addr"), input);
    assert!(!closed, "closed after {:?}", String::from_utf8_lossy(input));
    String::from_utf8_lossy(&answer).into_owned()
}

fn stat(server: &RunningServer, name: &str) -> u64 {
    let stats = ask(server, b"stats\r\n");
    stats
        .lines()
        .find_map(|l| l.strip_prefix(&format!("STAT {name} ")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no stat {name} in {stats}"))
}

#[test]
fn connections_over_the_limit_are_told_and_closed() {
    let server = server(Config {
        max_connections: 2,
        ..Config::ephemeral()
    });
    let addr = server.local_addr().expect("addr");
    let mut held: Vec<TcpStream> = Vec::new();
    for _ in 0..2 {
        let mut conn = TcpStream::connect(addr).expect("connect");
        conn.write_all(b"version\r\n").expect("write");
        let mut buf = [0u8; 64];
        let n = read_some(&mut conn, &mut buf).expect("read");
        assert!(buf[..n].starts_with(b"VERSION "));
        held.push(conn);
    }
    let mut extra = TcpStream::connect(addr).expect("the kernel accepts");
    extra
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut answer = Vec::new();
    extra.read_to_end(&mut answer).expect("read until close");
    assert_eq!(answer, b"ERROR Too many open connections\r\n");
    drop(held);
    // Slots free up again.
    std::thread::sleep(Duration::from_millis(100));
    assert!(ask(&server, b"version\r\n").starts_with("VERSION "));
    assert!(stat(&server, "rejected_connections") >= 1);
}

#[test]
fn deep_pipelines_and_large_values_round_trip() {
    let server = server(Config::ephemeral());
    let big = vec![b'z'; 1_048_516];
    // 1,048,516 bytes is the largest value -I 1m allows under a 1-byte key, as in memcached.
    let mut input = format!("set b 0 0 {}\r\n", big.len()).into_bytes();
    input.extend_from_slice(&big);
    input.extend_from_slice(b"\r\n");
    assert_eq!(
        ask(&server, &input),
        "STORED\r\n",
        "the largest value -I 1m allows"
    );
    let mut too_big = format!("set b 0 0 {}\r\n", big.len() + 1).into_bytes();
    too_big.extend_from_slice(&[b'y'; 1_048_517]);
    too_big.extend_from_slice(b"\r\n");
    assert_eq!(
        ask(&server, &too_big),
        "SERVER_ERROR object too large for cache\r\n"
    );
    assert_eq!(
        ask(&server, b"get big\r\n"),
        "END\r\n",
        "a failed set drops the old value"
    );

    let mut pipeline = Vec::new();
    for i in 0..2000 {
        pipeline.extend_from_slice(format!("set p{i} 0 0 4\r\n{i:04}\r\n").as_bytes());
    }
    for i in 0..2000 {
        pipeline.extend_from_slice(format!("get p{i}\r\n").as_bytes());
    }
    let answer = ask(&server, &pipeline);
    assert_eq!(answer.matches("STORED\r\n").count(), 2000);
    for i in [0, 777, 1999] {
        assert!(answer.contains(&format!("VALUE p{i} 0 4\r\n{i:04}\r\nEND\r\n")));
    }
}

#[test]
fn meta_hit_and_last_access_flags_follow_history() {
    let server = server(Config::ephemeral());
    assert_eq!(ask(&server, b"ms m 2 T0\r\nhi\r\n"), "HD\r\n");
    assert_eq!(
        ask(&server, b"mg m h\r\n"),
        "HD h0\r\n",
        "never read before"
    );
    assert_eq!(ask(&server, b"mg m h l\r\n"), "HD h1 l0\r\n");
    assert_eq!(
        ask(&server, b"mg m s v t f\r\n"),
        "VA 2 s2 t-1 f0\r\nhi\r\n"
    );
    assert_eq!(
        ask(&server, b"mg none v q\r\nmg none v k O7\r\n"),
        "EN knone O7\r\n"
    );
    assert_eq!(ask(&server, b"md m q\r\nmg m\r\n"), "EN\r\n");
    // Vivify: the first client to miss gets W (go fill it), the next one sees Z.
    assert_eq!(ask(&server, b"mg lease N30 t\r\n"), "HD t30 W\r\n");
    assert_eq!(ask(&server, b"mg lease N30\r\n"), "HD Z\r\n");
    // Invalidate: the item is served stale (X) and one client wins the refresh.
    assert_eq!(ask(&server, b"ms s 1\r\nx\r\n"), "HD\r\n");
    assert_eq!(ask(&server, b"md s I T30\r\n"), "HD\r\n");
    assert_eq!(ask(&server, b"mg s v\r\n"), "VA 1 X W\r\nx\r\n");
    assert_eq!(ask(&server, b"mg s v\r\n"), "VA 1 Z X\r\nx\r\n");
    // Arithmetic with vivify.
    assert_eq!(ask(&server, b"ma cnt N0 J10 v\r\n"), "VA 2\r\n10\r\n");
    assert_eq!(ask(&server, b"ma cnt MD D3 v\r\n"), "VA 1\r\n7\r\n");
    assert!(ask(&server, b"me cnt\r\n").starts_with("ME cnt exp=-1 la=0 cas="));
}

#[test]
fn stats_account_for_what_happened() {
    let server = server(Config::ephemeral());
    ask(
        &server,
        b"set a 0 0 1\r\n1\r\nget a b\r\ndelete a\r\ndelete a\r\nincr n 1\r\ntouch x 1\r\n",
    );
    assert_eq!(stat(&server, "cmd_get"), 2);
    assert_eq!(stat(&server, "get_hits"), 1);
    assert_eq!(stat(&server, "get_misses"), 1);
    assert_eq!(stat(&server, "cmd_set"), 1);
    assert_eq!(stat(&server, "delete_hits"), 1);
    assert_eq!(stat(&server, "delete_misses"), 1);
    assert_eq!(stat(&server, "incr_misses"), 1);
    assert_eq!(stat(&server, "touch_misses"), 1);
    assert_eq!(stat(&server, "curr_items"), 0);
    assert_eq!(stat(&server, "total_items"), 1);
    assert_eq!(stat(&server, "limit_maxbytes"), 64 * 1024 * 1024);
    assert_eq!(stat(&server, "threads"), 2);
    assert!(stat(&server, "curr_connections") >= 1);
    assert_eq!(ask(&server, b"stats reset\r\n"), "RESET\r\n");
    assert_eq!(stat(&server, "get_hits"), 0);
    let settings = ask(&server, b"stats settings\r\n");
    assert!(settings.contains("STAT maxconns 1024\r\n"), "{settings}");
    assert!(
        settings.contains("STAT item_size_max 1048576\r\n"),
        "{settings}"
    );
    ask(&server, b"set s 0 0 5\r\nhello\r\n");
    let items = ask(&server, b"stats items\r\n");
    assert!(items.contains(":number 1\r\n"), "{items}");
    let slabs = ask(&server, b"stats slabs\r\n");
    assert!(slabs.contains("STAT active_slabs 1\r\n"), "{slabs}");
    assert_eq!(ask(&server, b"stats nonsense\r\n"), "ERROR\r\n");
}

#[test]
fn shutdown_command_needs_enabling() {
    let server = server(Config::ephemeral());
    assert_eq!(
        ask(&server, b"shutdown\r\n"),
        "ERROR: shutdown not enabled\r\n"
    );
    let server = RunningServer::start(Config {
        enable_shutdown: true,
        ..Config::ephemeral()
    })
    .expect("start");
    let addr = server.local_addr().expect("addr");
    let (_, closed) = exchange(addr, b"shutdown\r\n");
    assert!(closed);
    // The server stops by itself.
    server.wait();
    assert!(TcpStream::connect(addr).is_err(), "no longer listening");
}

#[test]
/// 200 connections that made one request and went idle stay open and are counted. (Their
/// memory cost is measured by `cargo xtask`-style runs in docs/reliability.md: 5,000 idle
/// connections add about 7 MiB.)
fn many_idle_connections_stay_open_and_counted() {
    let server = server(Config::ephemeral());
    let addr = server.local_addr().expect("addr");
    let conns: Vec<TcpStream> = (0..200)
        .map(|_| {
            let mut c = TcpStream::connect(addr).expect("connect");
            c.write_all(b"get nothing\r\n").expect("write");
            let mut buf = [0u8; 16];
            let n = read_some(&mut c, &mut buf).expect("read");
            assert_eq!(&buf[..n], b"END\r\n");
            c
        })
        .collect();
    assert_eq!(stat(&server, "curr_connections"), 201);
    drop(conns);
}

#[test]
fn metadump_lists_every_live_item() {
    let server = server(Config::ephemeral());
    ask(
        &server,
        b"set a 0 0 1\r\n1\r\nset b/c 5 100 2\r\nxy\r\nset gone 0 -1 1\r\nx\r\nget a\r\n",
    );
    let dump = ask(&server, b"lru_crawler metadump all\r\n");
    let lines: Vec<&str> = dump.lines().collect();
    assert_eq!(lines.len(), 3, "{dump}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("key=a exp=-1 la=") && l.contains(" fetch=yes ")),
        "{dump}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("key=b%2Fc exp=") && l.contains(" fetch=no ")),
        "{dump}"
    );
    assert_eq!(lines[2], "END");
    assert_eq!(stat(&server, "curr_items"), 2);
}

#[test]
fn every_way_a_connection_ends_gives_its_slot_back() {
    let server = server(Config {
        max_connections: 3,
        ..Config::ephemeral()
    });
    let addr = server.local_addr().expect("addr");
    let endings: [&[u8]; 6] = [
        b"quit\r\n",
        // Past the line limit: the server closes.
        &[b'x'; 3000],
        // HTTP: the server closes.
        b"GET / HTTP/1.1\r\n\r\n",
        // Half a request, then the client goes away.
        b"set k 0 0 100\r\nabc",
        // A binary request, then the client goes away.
        &[
            0x80, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ],
        // A large answer the client never reads.
        b"get a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a\r\n",
    ];
    let mut set = b"set a 0 0 100000\r\n".to_vec();
    set.extend_from_slice(&[b'v'; 100_000]);
    set.extend_from_slice(b"\r\n");
    assert_eq!(ask(&server, &set), "STORED\r\n");
    for round in 0..5 {
        for ending in endings {
            let mut conn = TcpStream::connect(addr).expect("connect");
            let _ = conn.write_all(ending);
            if round % 2 == 0 {
                let mut sink = [0u8; 1024];
                conn.set_read_timeout(Some(Duration::from_millis(50)))
                    .expect("timeout");
                let _ = read_some(&mut conn, &mut sink);
            }
        }
    }
    // All three slots are free again (the server notices closed peers on its own schedule):
    // three clients are served at once.
    let try_three = || -> Option<Vec<TcpStream>> {
        let mut held = Vec::new();
        for _ in 0..3 {
            let mut conn = TcpStream::connect(addr).ok()?;
            conn.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
            conn.write_all(b"version\r\n").ok()?;
            let mut buf = [0u8; 64];
            let n = read_some(&mut conn, &mut buf).ok()?;
            if !buf[..n].starts_with(b"VERSION ") {
                return None;
            }
            held.push(conn);
        }
        Some(held)
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if try_three().is_some() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "slots leaked");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn memory_limits_beyond_what_item_ids_address_are_refused() {
    let server = server(Config::ephemeral());
    assert_eq!(
        ask(&server, b"cache_memlimit 70000\r\n"),
        "MEMLIMIT_ADJUST_FAILED out of bounds or unable to adjust\r\n"
    );
    assert_eq!(ask(&server, b"cache_memlimit 65536\r\n"), "OK\r\n");
    assert_eq!(stat(&server, "limit_maxbytes"), 65536 << 20);
}
