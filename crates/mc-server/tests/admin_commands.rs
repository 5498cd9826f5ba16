//! Stats and admin commands side by side with memcached 1.6.18: the same command lines, the
//! same requests, the same field names and answers (where they do not depend on timing or
//! memory layout), and memcached's tools reading both.

use std::collections::BTreeSet;
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use mc_testkit::{exchange, missing_peer, read_some, stat_u64, stats, which, ServerProcess};

const BIN: &str = env!("CARGO_BIN_EXE_mc-server");

/// memcached and mc-server started with the same arguments, or `None` without memcached.
fn both(args: &[&str]) -> Option<(ServerProcess, ServerProcess)> {
    if which("memcached").is_none() {
        missing_peer("memcached is not installed (apt-get install memcached)");
        return None;
    }
    let theirs =
        ServerProcess::spawn(Path::new("memcached"), "-1", args).expect("memcached starts");
    let ours = ServerProcess::spawn(Path::new(BIN), "-1", args).expect("mc-server starts");
    Some((theirs, ours))
}

fn ask(addr: SocketAddr, input: &[u8]) -> String {
    let (answer, _) = exchange(addr, input);
    String::from_utf8_lossy(&answer).into_owned()
}

/// The names of a stats answer, with per-class and per-connection numbers replaced by `N`,
/// so that two servers with different layouts compare.
fn names(answer: &str) -> BTreeSet<String> {
    answer
        .lines()
        .filter_map(|l| l.strip_prefix("STAT "))
        .map(|l| {
            let name = l.split(' ').next().unwrap_or_default();
            name.split(':')
                .map(|part| {
                    if part.chars().all(|c| c.is_ascii_digit()) {
                        "N"
                    } else {
                        part
                    }
                })
                .collect::<Vec<_>>()
                .join(":")
        })
        .collect()
}

const SETUP: &[u8] = b"set user:1 0 0 3\r\nbar\r\nset user:2 0 100 5\r\nhello\r\nget user:1 nosuch\r\ndelete user:2\r\nincr nosuch 1\r\n";

#[test]
fn every_stats_family_has_memcacheds_field_names() {
    let Some((theirs, ours)) = both(&["-o", "track_sizes"]) else {
        return;
    };
    // Fields memcached has that describe something this server does not have.
    let not_here: BTreeSet<String> = ["libevent"].iter().map(|s| s.to_string()).collect();
    // This server's own, after memcached's.
    let only_here: BTreeSet<String> = ["server", "slab_pages_bytes", "io_uring"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for server in [&theirs, &ours] {
        ask(server.addr, SETUP);
    }
    for family in [
        "stats",
        "stats settings",
        "stats items",
        "stats slabs",
        "stats conns",
        "stats sizes",
    ] {
        let request = format!("{family}\r\n");
        let a = names(&ask(theirs.addr, request.as_bytes()));
        let b = names(&ask(ours.addr, request.as_bytes()));
        let missing: Vec<_> = a
            .difference(&b)
            .filter(|n| !not_here.contains(*n))
            .collect();
        let extra: Vec<_> = b
            .difference(&a)
            .filter(|n| !only_here.contains(*n))
            .collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{family}: missing {missing:?}, extra {extra:?}"
        );
        assert!(!b.is_empty(), "{family} answered nothing");
    }
    // Order matters to scripts that read fields by position: memcached's order is kept.
    let order = |answer: &str| -> Vec<String> {
        answer
            .lines()
            .filter_map(|l| l.strip_prefix("STAT "))
            .filter_map(|l| l.split(' ').next())
            .filter(|n| !not_here.contains(*n) && !only_here.contains(*n))
            .map(str::to_string)
            .collect()
    };
    for family in ["stats", "stats settings"] {
        let request = format!("{family}\r\n");
        assert_eq!(
            order(&ask(theirs.addr, request.as_bytes())),
            order(&ask(ours.addr, request.as_bytes())),
            "{family}"
        );
    }
}

#[test]
fn settings_follow_the_command_line_as_memcacheds_do() {
    let args = [
        "-c", "77", "-R", "7", "-b", "99", "-f", "1.5", "-n", "64", "-D", "/", "-C", "-F", "-X",
        "-o", "idle_timeout=30,hashpower=16,tail_repair_time=60,lru_crawler_sleep=50,lru_crawler_tocrawl=9,watcher_logbuf_size=128,slab_chunk_max=262144,hot_lru_pct=10,warm_lru_pct=30,hot_max_factor=0.5,warm_max_factor=3.5,temporary_ttl=33,hash_algorithm=xxh3,no_maxconns_fast",
    ];
    let Some((theirs, ours)) = both(&args) else {
        return;
    };
    let a = stats_of(&theirs, "stats settings");
    let b = stats_of(&ours, "stats settings");
    // Values that name this instance, or that are deliberately this server's own.
    let differ = [
        "tcpport",
        "inter",
        "growth_factor",
        "ssl_chain_cert",
        "ssl_key",
    ];
    for (name, value) in &a {
        if differ.contains(&name.as_str()) {
            continue;
        }
        assert_eq!(b.get(name), Some(value), "stats settings {name}");
    }
    assert_eq!(b.get("growth_factor").map(String::as_str), Some("1.50"));
}

fn stats_of(server: &ServerProcess, family: &str) -> std::collections::BTreeMap<String, String> {
    ask(server.addr, format!("{family}\r\n").as_bytes())
        .lines()
        .filter_map(|l| l.strip_prefix("STAT "))
        .filter_map(|l| l.split_once(' '))
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

#[test]
fn admin_answers_match_memcached() {
    let Some((theirs, ours)) = both(&[]) else {
        return;
    };
    let script: &[&[u8]] = &[
        b"lru_crawler sleep 5\r\n",
        b"lru_crawler sleep 2000000\r\n",
        b"lru_crawler sleep x\r\n",
        b"lru_crawler tocrawl 10\r\n",
        b"lru_crawler tocrawl x\r\n",
        b"lru_crawler crawl 200\r\n",
        b"lru_crawler bogus\r\n",
        b"lru_crawler disable\r\n",
        b"lru_crawler crawl all\r\n",
        b"lru_crawler metadump all\r\n",
        b"lru_crawler enable\r\n",
        b"lru tune 10 10 0.1 2\r\n",
        b"lru tune 50 50 0.1 2\r\n",
        b"lru tune 10 10 0 2\r\n",
        b"lru tune x 10 0.1 2\r\n",
        b"lru mode flat\r\n",
        b"lru mode bogus\r\n",
        b"lru temp_ttl 5\r\n",
        b"lru temp_ttl -1\r\n",
        b"lru bogus\r\n",
        b"lru\r\n",
        b"slabs automove 2\r\n",
        b"slabs automove 0\r\n",
        b"slabs automove 7\r\n",
        b"slabs reassign 5 5\r\n",
        b"slabs reassign 1 999\r\n",
        b"slabs reassign x 1\r\n",
        b"slabs bogus\r\n",
        b"stats detail\r\n",
        b"stats detail bogus\r\n",
        b"stats detail on\r\n",
        b"stats detail off\r\n",
        b"stats cachedump 1\r\n",
        b"stats cachedump x 0\r\n",
        b"stats cachedump 300 0\r\n",
        b"stats extstore\r\n",
        b"stats bogus\r\n",
        b"stats sizes\r\n",
        b"stats sizes_enable\r\nversion\r\n",
        b"stats sizes_disable\r\nversion\r\n",
        b"verbosity 1\r\n",
        b"verbosity 9\r\n",
        b"verbosity x\r\n",
        b"verbosity 1 noreply\r\n",
        b"watch bogus\r\n",
        b"set k 0 0 1\r\nv\r\nwatch\r\n",
        b"refresh_certs\r\n",
    ];
    for request in script {
        let a = ask(theirs.addr, request);
        let b = ask(ours.addr, request);
        // The first line of `version` differs (memcached's own version is ours too, but
        // keep the comparison about the command).
        assert_eq!(a, b, "{}", String::from_utf8_lossy(request));
    }
}

#[test]
fn disabled_commands_are_refused_as_by_memcached() {
    let Some((theirs, ours)) = both(&["-F", "-X", "-W"]) else {
        return;
    };
    for request in [
        &b"flush_all\r\n"[..],
        b"flush_all noreply\r\n",
        b"stats cachedump 1 0\r\n",
        b"lru_crawler metadump all\r\n",
        b"watch\r\n",
        b"watch fetchers\r\n",
    ] {
        assert_eq!(
            ask(theirs.addr, request),
            ask(ours.addr, request),
            "{}",
            String::from_utf8_lossy(request)
        );
    }
    assert_eq!(stat_u64(&stats(ours.addr).expect("stats"), "cmd_flush"), 2);
}

#[test]
fn memcdump_lists_the_same_keys_from_both() {
    if which("memcdump").is_none() {
        missing_peer("memcdump is not installed (apt-get install libmemcached-tools)");
        return;
    }
    // memcached's cachedump reads the cold LRU only; without the LRU maintainer every item is
    // there, which is how this server's single LRU behaves.
    let Some((theirs, ours)) = both(&["-o", "no_lru_maintainer"]) else {
        return;
    };
    let mut setup = Vec::new();
    for i in 0..500 {
        let value = "x".repeat(i % 300);
        setup.extend_from_slice(
            format!(
                "set key:{i} 0 {} {}\r\n{value}\r\n",
                if i % 2 == 0 { 0 } else { 3600 },
                value.len()
            )
            .as_bytes(),
        );
    }
    let dump = |server: &ServerProcess| -> BTreeSet<String> {
        ask(server.addr, &setup);
        let output = Command::new("memcdump")
            .arg(format!("--servers=127.0.0.1:{}", server.addr.port()))
            .output()
            .expect("run memcdump");
        assert!(
            output.status.success(),
            "memcdump failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::to_string)
            .collect()
    };
    let a = dump(&theirs);
    let b = dump(&ours);
    assert_eq!(a.len(), 500);
    assert_eq!(a, b);
}

#[test]
fn cachedump_lines_read_as_memcacheds() {
    let Some((theirs, ours)) = both(&["-o", "no_lru_maintainer"]) else {
        return;
    };
    let setup = b"set a 0 0 3\r\nabc\r\nset b 0 0 10\r\n0123456789\r\n";
    for server in [&theirs, &ours] {
        ask(server.addr, setup);
    }
    // Class ids differ (different chunk sizes): find the class of the items in each.
    let dump = |server: &ServerProcess| -> BTreeSet<String> {
        let items = ask(server.addr, b"stats items\r\n");
        let class = items
            .lines()
            .find_map(|l| l.strip_prefix("STAT items:"))
            .and_then(|l| l.split(':').next())
            .expect("a class with items")
            .to_string();
        ask(
            server.addr,
            format!("stats cachedump {class} 0\r\n").as_bytes(),
        )
        .lines()
        .map(str::to_string)
        .collect()
    };
    assert_eq!(dump(&theirs), dump(&ours));
    // A limit is honoured.
    let limited = ask(ours.addr, b"stats cachedump 1 1\r\n");
    assert!(limited.lines().filter(|l| l.starts_with("ITEM ")).count() <= 1);
}

/// Read from a watcher until `want` lines of log arrive or 5 s pass.
fn watch_lines(conn: &mut TcpStream, want: usize) -> Vec<String> {
    watch_until(conn, |lines| {
        lines.iter().filter(|l| l.starts_with("ts=")).count() >= want
    })
}

/// Read from a watcher until `done` accepts the complete lines read so far, or 5 s pass.
fn watch_until(conn: &mut TcpStream, done: impl Fn(&[String]) -> bool) -> Vec<String> {
    conn.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut text = String::new();
    let mut buf = [0u8; 4096];
    let lines = |text: &str| -> Vec<String> { text.lines().map(str::to_string).collect() };
    while Instant::now() < deadline && !(text.ends_with('\n') && done(&lines(&text))) {
        if let Ok(n) = read_some(conn, &mut buf) {
            if n == 0 {
                break;
            }
            text.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    }
    lines(&text)
}

/// A log line with its varying values (time, event id, descriptors, ports) blanked.
fn shape(line: &str) -> String {
    line.split(' ')
        .map(|field| match field.split_once('=') {
            Some((name @ ("ts" | "gid" | "cfd" | "rport" | "la"), _)) => format!("{name}=_"),
            _ => field.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn watch_streams_the_same_events() {
    let Some((theirs, ours)) = both(&["-m", "2", "-o", "no_lru_maintainer"]) else {
        return;
    };
    let run = |server: &ServerProcess| -> Vec<String> {
        let mut watcher = TcpStream::connect(server.addr).expect("connect");
        watcher
            .write_all(b"watch fetchers mutations\r\n")
            .expect("watch");
        let ok = watch_lines(&mut watcher, 0);
        assert_eq!(ok.first().map(String::as_str), Some("OK"), "{ok:?}");
        ask(
            server.addr,
            b"set k1 0 0 2\r\nhi\r\nget k1\r\nget nope\r\nadd k1 0 0 1\r\nx\r\nmg k1 v\r\n",
        );
        watch_lines(&mut watcher, 5)
            .iter()
            .filter(|l| l.starts_with("ts="))
            .map(|l| shape(l))
            .collect()
    };
    let a = run(&theirs);
    let b = run(&ours);
    // Class ids differ between the two servers' slab layouts.
    let no_class = |lines: Vec<String>| -> Vec<String> {
        lines
            .into_iter()
            .map(|l| {
                l.split(' ')
                    .map(|f| {
                        if f.starts_with("clsid=") {
                            "clsid=_"
                        } else {
                            f
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    };
    assert_eq!(no_class(a), no_class(b));
}

#[test]
fn watch_reports_evictions_and_connections() {
    let ours = ServerProcess::spawn(Path::new(BIN), "-1", &["-m", "2"]).expect("starts");
    let mut watcher = TcpStream::connect(ours.addr).expect("connect");
    watcher
        .write_all(b"watch evictions connevents\r\n")
        .expect("watch");
    assert_eq!(
        watch_lines(&mut watcher, 0).first().map(String::as_str),
        Some("OK")
    );
    let value = "v".repeat(4000);
    let mut fill = Vec::new();
    for i in 0..1000 {
        fill.extend_from_slice(
            format!("set fill:{i} 0 0 {}\r\n{value}\r\n", value.len()).as_bytes(),
        );
    }
    ask(ours.addr, &fill);
    let lines = watch_until(&mut watcher, |lines| {
        lines.iter().any(|l| l.contains("type=conn_close"))
    });
    assert!(
        lines
            .iter()
            .any(|l| l.contains("type=eviction key=fill%3A")),
        "{lines:?}"
    );
    assert!(lines
        .iter()
        .any(|l| l.contains("type=conn_new rip=127.0.0.1")));
    assert!(lines
        .iter()
        .any(|l| l.contains("type=conn_close") && l.contains("reason=normal")));
    assert!(stat_u64(&stats(ours.addr).expect("stats"), "log_watcher_sent") > 0);
}

#[test]
fn the_crawler_reclaims_expired_items_on_both() {
    // Without its LRU maintainer memcached leaves dead items to the crawler, as this server
    // does (its maintainer would reclaim them on its own schedule first).
    let Some((theirs, ours)) = both(&["-o", "no_lru_maintainer"]) else {
        return;
    };
    let mut setup = Vec::new();
    for i in 0..200 {
        setup.extend_from_slice(format!("set short:{i} 0 1 1\r\nx\r\n").as_bytes());
    }
    for server in [&theirs, &ours] {
        ask(server.addr, &setup);
    }
    std::thread::sleep(Duration::from_millis(2100));
    for server in [&theirs, &ours] {
        assert_eq!(ask(server.addr, b"lru_crawler crawl all\r\n"), "OK\r\n");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let s = stats(server.addr).expect("stats");
            // memcached publishes its crawler's counters and its item count at different
            // moments: wait for both.
            if stat_u64(&s, "crawler_reclaimed") >= 200 && stat_u64(&s, "curr_items") == 0 {
                assert!(stat_u64(&s, "lru_crawler_starts") >= 1);
                break;
            }
            assert!(
                Instant::now() < deadline,
                "crawler of {} did not reclaim: {s:?}",
                server.addr
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
fn detail_counts_per_prefix_like_memcached() {
    let Some((theirs, ours)) = both(&["-D", ":"]) else {
        return;
    };
    let script = b"set a:1 0 0 1\r\nx\r\nset a:2 0 0 1\r\nx\r\nget a:1 a:3 b:1\r\ndelete a:1\r\nset plain 0 0 1\r\nx\r\n";
    for server in [&theirs, &ours] {
        ask(server.addr, script);
    }
    let dump = |server: &ServerProcess| -> BTreeSet<String> {
        ask(server.addr, b"stats detail dump\r\n")
            .lines()
            .map(str::to_string)
            .collect()
    };
    assert_eq!(dump(&theirs), dump(&ours));
}

#[test]
fn requests_per_event_yields_like_memcached() {
    let Some((theirs, ours)) = both(&["-R", "2"]) else {
        return;
    };
    let mut pipeline = Vec::new();
    for _ in 0..50 {
        pipeline.extend_from_slice(b"get nothing\r\n");
    }
    for server in [&theirs, &ours] {
        ask(server.addr, &pipeline);
        assert!(
            stat_u64(&stats(server.addr).expect("stats"), "conn_yields") > 0,
            "{:?}",
            server.addr
        );
    }
}

#[test]
fn idle_connections_are_closed_after_idle_timeout() {
    let Some((theirs, ours)) = both(&["-o", "idle_timeout=1"]) else {
        return;
    };
    for server in [&theirs, &ours] {
        let mut conn = TcpStream::connect(server.addr).expect("connect");
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let started = Instant::now();
        let mut buf = [0u8; 16];
        let n = read_some(&mut conn, &mut buf).unwrap_or(0);
        assert_eq!(n, 0, "closed without a word");
        assert!(started.elapsed() < Duration::from_secs(8));
        assert!(stat_u64(&stats(server.addr).expect("stats"), "idle_kicks") >= 1);
    }
}

#[test]
fn ascii_authentication_as_memcached() {
    let dir = std::env::temp_dir().join(format!("mc-admin-auth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("auth");
    std::fs::write(&file, "alice:wonderland\nbob:builder\n").expect("auth file");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let path = file.display().to_string();
    let Some((theirs, ours)) = both(&["-Y", &path]) else {
        return;
    };
    // Unauthenticated connections never answer `mn`: read until the answers settle.
    let raw = |addr: SocketAddr, request: &[u8]| -> String {
        let (answer, _) =
            mc_testkit::send_and_read(addr, request, Duration::from_millis(700), |a| {
                a.ends_with(b"END\r\n")
                    || a.ends_with(b"\r\n") && !request.ends_with(b"stats settings\r\n")
            });
        String::from_utf8_lossy(&answer).into_owned()
    };
    for request in [
        &b"get k\r\n"[..],
        b"set x 0 0 9\r\nalice bad\r\n",
        b"set x 0 0 16\r\nalice wonderland\r\nset k 0 0 1\r\nv\r\nget k\r\n",
        b"set x 0 0 5\r\nalice\r\n",
        b"set x 0 0 11\r\nbob builder\r\nstats settings\r\n",
    ] {
        let a = raw(theirs.addr, request);
        let b = raw(ours.addr, request);
        let strip = |s: String| -> String {
            s.lines()
                .filter(|l| !l.starts_with("STAT ") || l.starts_with("STAT auth_enabled_ascii"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(strip(a), strip(b), "{}", String::from_utf8_lossy(request));
    }
    assert_eq!(
        raw(ours.addr, b"stats\r\n"),
        "CLIENT_ERROR unauthenticated\r\n"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn verbose_logging_prints_commands_like_memcached() {
    let ours = Command::new(BIN)
        .args(["-l", "127.0.0.1", "-p", "-1", "-U", "0", "-vv"])
        .args(if mc_testkit::running_as_root() {
            &["-u", "memcache"][..]
        } else {
            &[][..]
        })
        .env(
            "MEMCACHED_PORT_FILENAME",
            std::env::temp_dir().join(format!("mc-vv-{}", std::process::id())),
        )
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start");
    let port_file = std::env::temp_dir().join(format!("mc-vv-{}", std::process::id()));
    let deadline = Instant::now() + Duration::from_secs(10);
    let port = loop {
        if let Some(port) = std::fs::read_to_string(&port_file).ok().and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("TCP INET: ")?.trim().parse::<u16>().ok())
        }) {
            break port;
        }
        assert!(Instant::now() < deadline, "no port file");
        std::thread::sleep(Duration::from_millis(20));
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    ask(addr, b"set k 0 0 2\r\nhi\r\nget k\r\n");
    let child = ours;
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
    let output = child.wait_with_output().expect("exit");
    let _ = std::fs::remove_file(&port_file);
    let err = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<String> = err
        .lines()
        .filter(|l| l.starts_with('<') || l.starts_with('>'))
        .map(|l| {
            let (head, rest) = l.split_once(' ').unwrap_or((l, ""));
            format!("{}N {rest}", &head[..1])
        })
        .collect();
    for expected in [
        "<N new auto-negotiating client connection",
        "<N set k 0 0 2",
        ">N STORED",
        "<N get k",
        ">N sending key k",
        ">N END",
        "<N connection closed.",
    ] {
        assert!(
            lines.iter().any(|l| l == expected),
            "{expected} not in {lines:?}"
        );
    }
}
