//! A server that lies gets a typed error and a dropped connection; a wrong value is never
//! returned. The fake server here answers each connection's first request with a scripted lie.

use std::io::Write;

use mc_testkit::read_some;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use mc_client::blocking::Client;
use mc_client::{Error, Options};

/// Serve `lies` in order, one per connection; a `None` lie never answers (a black hole).
fn liar(lies: Vec<Option<&'static [u8]>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    std::thread::spawn(move || {
        for lie in lies {
            let Ok((mut conn, _)) = listener.accept() else {
                return;
            };
            let mut buf = [0u8; 1024];
            let _ = read_some(&mut conn, &mut buf);
            match lie {
                Some(bytes) => {
                    let _ = conn.write_all(bytes);
                    // Keep the socket open a little: the client must not wait for more.
                    std::thread::sleep(Duration::from_millis(300));
                }
                None => std::thread::sleep(Duration::from_secs(3)),
            }
        }
    });
    addr
}

fn client(addr: &str) -> Client {
    let options = Options {
        io_timeout: Duration::from_millis(500),
        dead_retry: Duration::from_millis(1),
        ..Options::default()
    };
    Client::with_options([addr], options).expect("client")
}

#[test]
fn lies_are_typed_errors_never_values() {
    let addr = liar(vec![
        Some(b"VALUE other 0 5\r\nwrong\r\nEND\r\n"),
        Some(b"VALUE k 0 5\r\nabc\r\nEND\r\n"),
        Some(b"HELLO THERE\r\n"),
        Some(b"VALUE k 0 1099511627776\r\n"),
        Some(b"STORED\r\n"),
    ]);
    let mc = client(&addr);
    for i in 0..4 {
        match mc.get::<String>("k") {
            Err(Error::Protocol(_)) => {}
            other => panic!("lie {i} must be a protocol error, got {other:?}"),
        }
    }
    // A wrong answer to a get: STORED where VALUE/END is due.
    assert!(matches!(mc.get::<String>("k"), Err(Error::Protocol(_))));
}

#[test]
fn a_black_hole_times_out() {
    let addr = liar(vec![None]);
    let mc = client(&addr);
    let started = Instant::now();
    assert!(matches!(mc.get::<String>("k"), Err(Error::Timeout(_))));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "within the I/O timeout"
    );
}

/// A request that times out closes its connection: the server reads end-of-stream while the
/// client lives on (nothing keeps waiting on a socket nobody trusts any more).
#[test]
fn a_timed_out_connection_is_closed() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().expect("accept");
        conn.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut buf = [0u8; 1024];
        let request = read_some(&mut conn, &mut buf).expect("the request");
        assert!(request > 0);
        // Never answer; the next read ends when the client closes.
        let started = Instant::now();
        let after = read_some(&mut conn, &mut buf);
        (after.map_err(|e| e.kind()), started.elapsed())
    });
    let mc = client(&addr);
    assert!(matches!(mc.get::<String>("k"), Err(Error::Timeout(_))));
    let (after, waited) = server.join().expect("server thread");
    assert_eq!(after, Ok(0), "end of stream, not a timeout");
    assert!(waited < Duration::from_secs(4), "closed at the timeout");
    drop(mc);
}

/// A server whose first connection lies once and whose other connections answer honestly
/// (misses); counts the connections it accepted.
fn one_liar_connection() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::BufRead;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { return };
            let n = counter.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || {
                let mut writer = conn.try_clone().expect("clone");
                let mut lines = std::io::BufReader::new(conn).lines();
                let mut first = true;
                while let Some(Ok(_line)) = lines.next() {
                    let answer: &[u8] = if n == 0 && first {
                        b"VALUE other 0 1\r\nx\r\nEND\r\n"
                    } else {
                        b"END\r\n"
                    };
                    first = false;
                    if writer.write_all(answer).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, accepted)
}

#[test]
fn only_the_connection_that_lied_is_dropped() {
    let (addr, accepted) = one_liar_connection();
    let options = Options {
        io_timeout: Duration::from_secs(2),
        connections_per_server: 2,
        ..Options::default()
    };
    let mc = Client::with_options([addr.as_str()], options).expect("client");
    // Requests alternate between the two connections: the first goes to the liar.
    assert!(matches!(mc.get::<String>("k"), Err(Error::Protocol(_))));
    assert_eq!(mc.get::<String>("k").expect("honest connection"), None);
    assert_eq!(mc.get::<String>("k").expect("a fresh connection"), None);
    assert_eq!(
        mc.get::<String>("k").expect("honest connection again"),
        None
    );
    // The liar was replaced (a third connection); the honest one was kept.
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 3);
}

/// A server that accepts but never reads: a large store fills the socket buffers and its
/// write waits, but only until the I/O timeout.
#[test]
fn a_server_that_never_reads_times_the_write_out() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let server = std::thread::spawn(move || {
        let (conn, _) = listener.accept().expect("accept");
        std::thread::sleep(Duration::from_secs(2));
        drop(conn);
    });
    let options = Options {
        io_timeout: Duration::from_millis(300),
        max_value_length: 64 * 1024 * 1024,
        ..Options::default()
    };
    let mc = Client::with_options([addr.as_str()], options).expect("client");
    let value = vec![b'x'; 32 * 1024 * 1024];
    let started = Instant::now();
    assert!(matches!(mc.set("k", &value, 0), Err(Error::Timeout(_))));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "within the I/O timeout, took {:?}",
        started.elapsed()
    );
    drop(mc);
    server.join().expect("server thread");
}

/// Many calls queued behind one that is never answered all end by their own deadline, not
/// one timeout after another.
#[test]
fn calls_queued_behind_a_stuck_one_all_end_by_their_deadline() {
    let addr = liar(vec![None]);
    let options = Options {
        io_timeout: Duration::from_millis(300),
        dead_retry: Duration::from_millis(1),
        ..Options::default()
    };
    let mc = mc_client::Client::with_options([addr.as_str()], options);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let started = Instant::now();
    let outcomes = runtime.block_on(async {
        let calls: Vec<_> = (0..50)
            .map(|i| {
                let mc = mc.clone();
                tokio::spawn(async move { mc.get::<String>(&format!("k{i}")).await })
            })
            .collect();
        let mut outcomes = Vec::new();
        for call in calls {
            outcomes.push(call.await.expect("no panic"));
        }
        outcomes
    });
    let took = started.elapsed();
    assert!(
        outcomes.iter().all(|o| matches!(
            o,
            Err(Error::Timeout(_) | Error::Io { .. } | Error::NoServer)
        )),
        "{outcomes:?}"
    );
    assert!(
        outcomes.iter().any(|o| matches!(o, Err(Error::Timeout(_)))),
        "the stuck call times out"
    );
    assert!(took < Duration::from_secs(2), "all ended within {took:?}");
}

/// The reader keeps every call's deadline with one timer, re-armed when it fires for an
/// answer that already came: calls answered in time never time out, however long the
/// connection has been busy, and the first call left unanswered times out after its own
/// timeout, not at a deadline left over from an earlier call.
#[test]
fn deadlines_are_each_calls_own_on_a_long_busy_connection() {
    use std::io::BufRead;
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let answering = std::time::Duration::from_millis(1200);
    std::thread::spawn(move || {
        let (conn, _) = listener.accept().expect("accept");
        let mut writer = conn.try_clone().expect("clone");
        let mut lines = std::io::BufReader::new(conn);
        let started = Instant::now();
        let mut line = String::new();
        // Answer every `get` with a miss for a while, then go silent (socket kept open).
        while lines.read_line(&mut line).is_ok_and(|n| n > 0) {
            if started.elapsed() < answering {
                writer.write_all(b"END\r\n").expect("answer");
            }
            line.clear();
        }
    });
    let options = Options {
        io_timeout: Duration::from_millis(300),
        dead_retry: Duration::from_secs(60),
        ..Options::default()
    };
    let mc = Client::with_options([addr.as_str()], options).expect("client");
    let started = Instant::now();
    let mut answered = 0;
    let stuck = loop {
        let call = Instant::now();
        match mc.get::<String>("k") {
            Ok(None) => answered += 1,
            Err(Error::Timeout(_)) => break call.elapsed(),
            other => panic!("after {answered} answers: {other:?}"),
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the silent server never timed a call out"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        started.elapsed() > answering,
        "no call answered in time timed out ({answered} answered)"
    );
    assert!(
        stuck >= Duration::from_millis(250) && stuck < Duration::from_millis(1000),
        "the unanswered call timed out after {stuck:?}, its timeout is 300 ms"
    );
}

/// A server that answers its first request with `chunk` over and over, up to `limit` bytes,
/// then `END`; it stops when the client goes away and returns how many bytes it wrote.
fn endless_answer(chunk: String, limit: usize) -> (String, std::thread::JoinHandle<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().expect("accept");
        let mut request = [0u8; 1024];
        let _ = read_some(&mut conn, &mut request);
        let mut written = 0usize;
        while written < limit {
            if conn.write_all(chunk.as_bytes()).is_err() {
                return written;
            }
            written += chunk.len();
        }
        let _ = conn.write_all(b"END\r\n");
        written
    });
    (addr, server)
}

/// A server that answers a two-key `get_multi` with an endless run of values for one of the
/// keys: the read stops at the third value (more values than keys asked is a lie), so one
/// request costs at most what it asked for, not whatever the server sends before `END`.
#[test]
fn more_values_than_keys_asked_are_refused_as_they_arrive() {
    let item = format!("VALUE a 0 65536\r\n{}\r\n", "v".repeat(65536));
    let (addr, server) = endless_answer(item, 64 << 20);
    let options = Options {
        io_timeout: Duration::from_secs(10),
        ..Options::default()
    };
    let mc = Client::with_options([addr.as_str()], options).expect("client");
    let report = mc.get_multi_report::<String>(&["a", "b"]).expect("report");
    assert!(report.found.is_empty());
    assert_eq!(report.failed.len(), 2);
    assert!(
        report
            .failed
            .iter()
            .all(|(_, e)| matches!(e, Error::Protocol(_))),
        "{:?}",
        report.failed
    );
    drop(mc);
    let written = server.join().expect("server thread");
    assert!(
        written < 16 << 20,
        "the client read {written} bytes of a two-key answer"
    );
}

/// A blocking `get_multi` whose server lies (a value for a key nobody asked for) still succeeds,
/// with the server's keys reported as failed, and the connection it drops is closed then, not
/// at the client's next call: the server reads end of stream.
#[test]
fn a_call_that_succeeds_still_closes_the_connection_it_dropped() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let lying = listener.local_addr().expect("addr").to_string();
    let liar = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().expect("accept");
        conn.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut buf = [0u8; 4096];
        assert!(read_some(&mut conn, &mut buf).expect("the request") > 0);
        conn.write_all(b"VALUE nobody-asked 0 1\r\nx\r\nEND\r\n")
            .expect("the lie");
        let started = Instant::now();
        let after = read_some(&mut conn, &mut buf);
        (after.map_err(|e| e.kind()), started.elapsed())
    });
    let mc = Client::new([lying]).expect("client");
    let keys: Vec<String> = (0..20).map(|i| format!("k{i}")).collect();
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let report = mc
        .get_multi_report::<String>(&refs)
        .expect("the call succeeds");
    assert!(
        report
            .failed
            .iter()
            .any(|(_, e)| matches!(e, Error::Protocol(_))),
        "the lying server's keys failed: {:?}",
        report.failed
    );
    let (after, waited) = liar.join().expect("server thread");
    assert_eq!(after, Ok(0), "end of stream, not a read timeout");
    assert!(waited < Duration::from_secs(4), "closed by the call");
    drop(mc);
}

/// A server that answers `stats` with `STAT` lines without end: the answer is refused once it
/// passes 16 MiB, not held in memory until the server stops.
#[test]
fn an_endless_stats_answer_is_refused() {
    let line = format!("STAT filler {}\r\n", "x".repeat(1000));
    let (addr, server) = endless_answer(line.repeat(64), 128 << 20);
    let options = Options {
        io_timeout: Duration::from_secs(10),
        ..Options::default()
    };
    let mc = Client::with_options([addr.as_str()], options).expect("client");
    assert!(matches!(mc.get_stats(), Err(Error::Protocol(_))));
    drop(mc);
    let written = server.join().expect("server thread");
    assert!(
        written < 48 << 20,
        "the client read {written} bytes of a stats answer"
    );
}
