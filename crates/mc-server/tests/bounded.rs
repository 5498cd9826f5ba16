//! Per-request bounds, measured side by side with memcached on the same script: one request
//! that names a 1 MB value hundreds of times, through every retrieval command and a pipeline of
//! `mg`, must not grow the server by more than 64 MiB while its client does not read, must be
//! answered completely and correctly once the client reads, and must not make another client
//! wait; a metadump of the whole cache must not stall other clients either. mc-server is held
//! to these on both of its I/O paths (with `-o io_uring` where the kernel gives one).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use mc_testkit::{exchange, read_some, ServerProcess};

const BIN: &str = env!("CARGO_BIN_EXE_mc-server");

/// Size of the value named over and over.
const VALUE_LEN: usize = 1_000_000;
/// How many times one request names it: a 300 MB answer.
const REPEATS: usize = 300;
/// The most a server may grow while the answer waits for its reader.
const GROWTH_LIMIT_KIB: u64 = 64 * 1024;

fn servers() -> Vec<(&'static str, ServerProcess)> {
    let ours = ServerProcess::spawn(Path::new(BIN), "-1", &["-m", "64", "-t", "2"])
        .expect("start mc-server");
    let mut servers = vec![("mc-server", ours)];
    // The bounds hold on both I/O paths.
    if mc_testkit::io_paths(mc_server::io_uring_available()).contains(&true) {
        let uring = ServerProcess::spawn(
            Path::new(BIN),
            "-1",
            &["-m", "64", "-t", "2", "-o", "io_uring"],
        )
        .expect("start mc-server -o io_uring");
        servers.push(("mc-server -o io_uring", uring));
    }
    if let Some(memcached) = mc_testkit::Memcached::start_with(&["-m", "64", "-t", "2"]) {
        servers.push(("memcached", memcached));
    }
    servers
}

fn value() -> Vec<u8> {
    (0..VALUE_LEN).map(|i| b'a' + (i % 23) as u8).collect()
}

/// Set the big value `a` and a small value `small`.
fn load(addr: SocketAddr) {
    let mut request = format!("set a 0 0 {VALUE_LEN}\r\n").into_bytes();
    request.extend_from_slice(&value());
    request.extend_from_slice(b"\r\nset small 0 0 5\r\nhello\r\n");
    let (answer, closed) = exchange(addr, &request);
    assert!(!closed);
    assert_eq!(answer, b"STORED\r\nSTORED\r\n");
}

/// Latencies (µs, sorted) of `n` `get small` round trips on a fresh connection.
fn probe_latencies(addr: SocketAddr, n: usize) -> Vec<u64> {
    let mut conn = TcpStream::connect(addr).expect("connect");
    conn.set_nodelay(true).expect("nodelay");
    conn.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let expected = b"VALUE small 0 5\r\nhello\r\nEND\r\n";
    let mut times = Vec::with_capacity(n);
    let mut buf = [0u8; 64];
    for _ in 0..n {
        let started = Instant::now();
        conn.write_all(b"get small\r\n").expect("write");
        let mut got = 0;
        while got < expected.len() {
            let read = read_some(&mut conn, &mut buf[got..]).expect("another client is answered");
            assert!(read > 0, "closed");
            got += read;
        }
        times.push(started.elapsed().as_micros() as u64);
        assert_eq!(&buf[..got], expected);
    }
    times.sort_unstable();
    times
}

fn p99(sorted: &[u64]) -> u64 {
    sorted[(sorted.len() * 99 / 100).min(sorted.len() - 1)]
}

/// Read a stream of `header\r\n<value>\r\n` blocks, `REPEATS` of them, then `end`; check each.
fn read_answer(
    conn: TcpStream,
    header: impl Fn(&str) -> bool,
    end: &[u8],
    slow: bool,
) -> Result<(), String> {
    let mut reader = BufReader::with_capacity(64 * 1024, conn);
    let expected = value();
    let mut block = vec![0u8; VALUE_LEN + 2];
    let mut line = String::new();
    for i in 0..REPEATS {
        line.clear();
        reader
            .read_line(&mut line)
            .map_err(|e| format!("block {i}: {e}"))?;
        if !header(line.trim_end()) {
            return Err(format!("block {i}: unexpected line {line:?}"));
        }
        reader
            .read_exact(&mut block)
            .map_err(|e| format!("block {i}: {e}"))?;
        if block[..VALUE_LEN] != expected[..] || &block[VALUE_LEN..] != b"\r\n" {
            return Err(format!("block {i}: wrong value bytes"));
        }
        if slow && i < 20 {
            // A slow reader: the server has to wait on it between writes.
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    let mut tail = vec![0u8; end.len()];
    reader
        .read_exact(&mut tail)
        .map_err(|e| format!("end: {e}"))?;
    if tail != end {
        return Err(format!("ended with {:?}", String::from_utf8_lossy(&tail)));
    }
    Ok(())
}

struct Case {
    name: &'static str,
    request: Vec<u8>,
    header: fn(&str) -> bool,
    end: &'static [u8],
}

fn cases() -> Vec<Case> {
    let keys = " a".repeat(REPEATS);
    vec![
        Case {
            name: "get",
            request: format!("get{keys}\r\n").into_bytes(),
            header: |l| l == "VALUE a 0 1000000",
            end: b"END\r\n",
        },
        Case {
            name: "gets",
            request: format!("gets{keys}\r\n").into_bytes(),
            header: |l| l.starts_with("VALUE a 0 1000000 "),
            end: b"END\r\n",
        },
        Case {
            name: "gat",
            request: format!("gat 0{keys}\r\n").into_bytes(),
            header: |l| l == "VALUE a 0 1000000",
            end: b"END\r\n",
        },
        Case {
            name: "gats",
            request: format!("gats 0{keys}\r\n").into_bytes(),
            header: |l| l.starts_with("VALUE a 0 1000000 "),
            end: b"END\r\n",
        },
        Case {
            name: "mg pipeline",
            request: {
                let mut r = "mg a v\r\n".repeat(REPEATS).into_bytes();
                r.extend_from_slice(b"mn\r\n");
                r
            },
            header: |l| l == "VA 1000000",
            end: b"MN\r\n",
        },
    ]
}

#[test]
fn one_request_naming_a_large_value_many_times_is_bounded() {
    for (server_name, server) in servers() {
        load(server.addr);
        for case in cases() {
            let baseline = server.rss_kib();
            let mut conn = TcpStream::connect(server.addr).expect("connect");
            conn.set_read_timeout(Some(Duration::from_secs(60)))
                .expect("timeout");
            conn.write_all(&case.request).expect("send the request");
            // The client does not read: give the server time to fill what it would buffer.
            std::thread::sleep(Duration::from_millis(500));
            let peak = server.rss_kib().max(baseline);
            let latencies = probe_latencies(server.addr, 200);
            let peak = peak.max(server.rss_kib());
            let growth = peak - baseline;
            println!(
                "{server_name} {}: RSS {} -> {} MiB (+{} MiB) with the reader stalled; \
                 another client's get p99 {} µs, max {} µs",
                case.name,
                baseline / 1024,
                peak / 1024,
                growth / 1024,
                p99(&latencies),
                latencies[latencies.len() - 1],
            );
            let answered = read_answer(conn, case.header, case.end, true);
            assert_eq!(answered, Ok(()), "{server_name} {}", case.name);
            if server_name.starts_with("mc-server") {
                assert!(
                    growth < GROWTH_LIMIT_KIB,
                    "{server_name} {}: grew {growth} KiB",
                    case.name
                );
                assert!(
                    p99(&latencies) < 10_000,
                    "{server_name} {}: another client waited",
                    case.name
                );
            }
        }
    }
}

/// Fill a server with `n` small items through one pipelined connection.
fn fill(addr: SocketAddr, n: usize) {
    let mut conn = TcpStream::connect(addr).expect("connect");
    let mut batch = Vec::new();
    for i in 0..n {
        batch.extend_from_slice(format!("set key:{i:08} 0 0 10 noreply\r\n{i:010}\r\n").as_bytes());
        if batch.len() > 256 * 1024 {
            conn.write_all(&batch).expect("write");
            batch.clear();
        }
    }
    batch.extend_from_slice(b"mn\r\n");
    conn.write_all(&batch).expect("write");
    let mut reader = BufReader::new(conn);
    let mut line = String::new();
    reader.read_line(&mut line).expect("read");
    assert_eq!(line, "MN\r\n");
}

#[test]
fn a_metadump_of_the_whole_cache_is_streamed_and_does_not_stall_others() {
    const ITEMS: usize = 200_000;
    for (server_name, server) in servers() {
        fill(server.addr, ITEMS);
        load(server.addr);
        let mut dump = TcpStream::connect(server.addr).expect("connect");
        dump.set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        dump.write_all(b"lru_crawler metadump all\r\n")
            .expect("write");
        let mut reader = BufReader::with_capacity(4096, dump);
        // Read the dump slowly at first while another client measures its waits.
        let prober = {
            let addr = server.addr;
            std::thread::spawn(move || probe_latencies(addr, 300))
        };
        let mut keys = std::collections::HashSet::new();
        let mut line = Vec::new();
        let mut lines = 0usize;
        loop {
            line.clear();
            reader.read_until(b'\n', &mut line).expect("read the dump");
            assert!(!line.is_empty(), "{server_name}: the dump ended early");
            if line == b"END\r\n" {
                break;
            }
            lines += 1;
            if lines < 2000 && lines % 100 == 0 {
                std::thread::sleep(Duration::from_millis(5));
            }
            let text = String::from_utf8_lossy(&line);
            assert!(
                text.ends_with(" size=") || text.contains(" size="),
                "{text}"
            );
            assert!(text.ends_with('\n') && !text.ends_with("\r\n"), "{text:?}");
            let key = text
                .strip_prefix("key=")
                .and_then(|rest| rest.split(' ').next())
                .expect("key=")
                .to_string();
            assert!(keys.insert(key), "{server_name}: a key listed twice");
        }
        let latencies = prober.join().expect("prober");
        println!(
            "{server_name}: metadump of {} items; another client's get p99 {} µs, max {} µs",
            keys.len(),
            p99(&latencies),
            latencies[latencies.len() - 1]
        );
        if server_name.starts_with("mc-server") {
            assert_eq!(keys.len(), ITEMS + 2, "every item, once");
            assert!(p99(&latencies) < 10_000, "another client waited");
        } else {
            // memcached's crawler skips items it finds busy; it lists nearly all.
            assert!(
                keys.len() > ITEMS * 99 / 100,
                "{server_name}: {}",
                keys.len()
            );
        }
    }
}

#[test]
fn a_binary_request_is_answered_at_once() {
    // A binary `noop` header holds byte 0x0a (the opcode), which a line reader would take for
    // the end of a line; `version` holds no newline at all.
    for opcode in [0x0a_u8, 0x0b] {
        for (server_name, server) in servers() {
            let mut conn = TcpStream::connect(server.addr).expect("connect");
            conn.set_read_timeout(Some(Duration::from_secs(2)))
                .expect("timeout");
            let mut header = [0u8; 24];
            header[0] = 0x80;
            header[1] = opcode;
            header[12..16].copy_from_slice(&[9, 8, 7, 6]);
            conn.write_all(&header).expect("write");
            let mut answer = [0u8; 24];
            conn.read_exact(&mut answer)
                .unwrap_or_else(|e| panic!("{server_name}: no answer to opcode {opcode}: {e}"));
            assert_eq!(answer[0], 0x81, "{server_name}: a binary response");
            assert_eq!(answer[1], opcode, "{server_name}: echoes the opcode");
            assert_eq!(
                &answer[12..16],
                &[9, 8, 7, 6],
                "{server_name}: echoes the opaque"
            );
        }
    }
}

#[test]
fn the_executor_answers_in_pieces_no_larger_than_the_write_budget() {
    use mc_server::harness::{Harness, WRITE_BUDGET};
    let mut conn = Harness::new(mc_server::Config::ephemeral());
    let mut set = b"set v 0 0 60000\r\n".to_vec();
    set.extend_from_slice(&[b'x'; 60_000]);
    set.extend_from_slice(b"\r\n");
    assert_eq!(conn.feed(&set), b"STORED\r\n");
    // A 120 MB answer to one 4 KB request.
    let request = format!("get{}\r\n", " v".repeat(2000));
    let answer = conn.feed(request.as_bytes());
    assert_eq!(
        answer.len(),
        2000 * (b"VALUE v 0 60000\r\n".len() + 60_002) + 5
    );
    assert!(answer.ends_with(b"END\r\n"));
    assert!(
        conn.largest_write() <= WRITE_BUDGET + 60_000 + 64,
        "{} bytes buffered at once",
        conn.largest_write()
    );
}
