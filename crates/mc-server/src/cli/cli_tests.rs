//! The command line as memcached reads it. Messages and exit statuses here were measured from
//! memcached 1.6.18 (`tests/cli.rs` runs both binaries side by side).

use super::*;

fn run(words: &[&str]) -> Result<Command, CliError> {
    let args: Vec<String> = words.iter().map(|s| s.to_string()).collect();
    parse("mc-server", &args)
}

fn launch(words: &[&str]) -> Launch {
    match run(words) {
        Ok(Command::Run(launch)) => *launch,
        other => panic!("{words:?} should run a server, got {other:?}"),
    }
}

fn refused(words: &[&str]) -> CliError {
    match run(words) {
        Err(error) => error,
        Ok(other) => panic!("{words:?} should be refused, got {other:?}"),
    }
}

#[test]
fn the_tutorials_command_line() {
    let l = launch(&[
        "-d",
        "-m",
        "10",
        "-u",
        "root",
        "-l",
        "0.0.0.0",
        "-p",
        "11211",
        "-c",
        "256",
        "-P",
        "/tmp/memcached.pid",
    ]);
    assert!(l.daemon);
    assert_eq!(l.user.as_deref(), Some("root"));
    assert_eq!(l.pidfile, Some(PathBuf::from("/tmp/memcached.pid")));
    assert_eq!(l.config.store.max_bytes, 10 << 20);
    assert_eq!(l.config.listen, vec!["0.0.0.0"]);
    assert_eq!(l.config.max_connections, 256);
    assert!(l.ignored.is_empty(), "{:?}", l.ignored);
}

#[test]
fn defaults_are_memcacheds_except_the_address() {
    let c = launch(&[]).config;
    assert_eq!((c.port, c.tcp, c.udp_port), (11211, true, 0));
    assert_eq!(c.max_connections, 1024);
    assert_eq!(c.threads, 4);
    assert_eq!(c.reqs_per_event, 20);
    assert_eq!(c.store.max_bytes, 64 << 20);
    assert_eq!(c.store.max_item_size, 1 << 20);
    assert_eq!(c.store.slab_chunk_max, 512 * 1024);
    assert!(c.store.cas && c.store.evict && c.flush_enabled && c.dump_enabled);
    assert_eq!(c.listen, vec!["127.0.0.1"]);
    assert_eq!(c.protocol, Protocol::Auto);
}

#[test]
fn port_zero_turns_tcp_off_and_minus_one_picks_a_free_port() {
    let c = launch(&["-p", "0"]).config;
    assert!(!c.tcp);
    let c = launch(&["-p", "-1"]).config;
    assert!(c.tcp);
    assert_eq!(c.port, 0);
    // atoi: "notaport" is 0, so TCP is off, as memcached does.
    assert!(!launch(&["-p", "notaport"]).config.tcp);
    let e = refused(&["-p", "70000"]);
    assert_eq!(
        (e.message.as_str(), e.code),
        ("ERROR: Invalid port number 70000.", 64)
    );
}

#[test]
fn clustered_and_long_forms() {
    let l = launch(&[
        "-vvd",
        "-m64",
        "--conn-limit=10",
        "--threads",
        "2",
        "--verbose",
    ]);
    assert_eq!(l.config.verbosity, 3);
    assert!(l.daemon);
    assert_eq!(l.config.max_connections, 10);
    assert_eq!(l.config.threads, 2);
}

#[test]
fn every_extended_option_of_memcached_is_accepted() {
    let valued = [
        ("hashpower", "16"),
        ("slab_automove", "1"),
        ("slab_automove_ratio", "0.5"),
        ("slab_automove_window", "10"),
        ("slab_automove_freeratio", "0.02"),
        ("tail_repair_time", "60"),
        ("hash_algorithm", "xxh3"),
        ("lru_crawler_sleep", "50"),
        ("lru_crawler_tocrawl", "100"),
        ("hot_lru_pct", "20"),
        ("warm_lru_pct", "40"),
        ("hot_max_factor", "0.2"),
        ("warm_max_factor", "2.0"),
        ("temporary_ttl", "61"),
        ("idle_timeout", "30"),
        ("watcher_logbuf_size", "256"),
        ("worker_logbuf_size", "64"),
        ("slab_sizes", "96-120-200"),
        ("slab_chunk_max", "524288"),
        ("read_buf_mem_limit", "1"),
        ("resp_obj_mem_limit", "1"),
        ("sock_cookie_id", "7"),
        ("ssl_chain_cert", "/nonexistent.pem"),
        ("ssl_key", "/nonexistent.key"),
        ("ssl_verify_mode", "0"),
        ("ssl_keyformat", "1"),
        ("ssl_ca_cert", "/nonexistent.ca"),
        ("ssl_wbuf_size", "16"),
        ("ssl_min_version", "2"),
        ("ext_path", "/dev/shm/x:64m"),
        ("ext_page_size", "64"),
        ("ext_wbuf_size", "4"),
        ("ext_threads", "1"),
        ("ext_io_depth", "1"),
        ("ext_item_size", "512"),
        ("ext_item_age", "10"),
        ("ext_low_ttl", "0"),
        ("ext_recache_rate", "2000"),
        ("ext_compact_under", "1"),
        ("ext_drop_under", "1"),
        ("ext_max_frag", "0.8"),
        ("ext_max_sleep", "100"),
    ];
    for name in SUBOPTIONS {
        let item = match valued.iter().find(|(n, _)| n == name) {
            Some((_, v)) => format!("{name}={v}"),
            None => name.to_string(),
        };
        if *name == "drop_privileges" || *name == "ssl_ciphers" {
            continue;
        }
        match run(&["-o", &item]) {
            Ok(Command::Run(_)) => {}
            other => panic!("-o {item}: {other:?}"),
        }
    }
    let l = launch(&[
        "-o",
        "modern,lru_crawler,lru_maintainer,idle_timeout=5,track_sizes",
    ]);
    assert_eq!(l.config.idle_timeout, 5);
    assert!(l.config.track_sizes);
    let l = launch(&["-o", "ext_path=/dev/shm/x:1g,ext_threads=2"]);
    assert_eq!(l.ignored.len(), 2, "{:?}", l.ignored);
    assert!(l.ignored[0].contains("extstore"));
}

#[test]
fn values_are_checked_with_memcacheds_messages() {
    let cases: &[(&[&str], &str, u8)] = &[
        (
            &["-c", "0"],
            "Maximum connections must be greater than 0",
            1,
        ),
        (&["-t", "0"], "Number of threads must be greater than 0", 1),
        (
            &["-R", "0"],
            "Number of requests per event must be greater than 0",
            1,
        ),
        (&["-f", "1"], "Factor must be greater than 1", 1),
        (&["-n", "0"], "Chunk size must be greater than 0", 1),
        (&["-D", ""], "No delimiter specified", 1),
        (
            &["-B", "foo"],
            "Invalid value for binding protocol: foo\n -- should be one of auto, binary, or ascii",
            64,
        ),
        (
            &["-I", "512"],
            "Item max size cannot be less than 1024 bytes.",
            64,
        ),
        (
            &["-I", "2g"],
            "Item max size cannot be less than 1024 bytes.",
            64,
        ),
        (
            &["-m", "1", "-I", "1m"],
            "Cannot set item size limit higher than 1/2 of memory max.",
            64,
        ),
        (&["-o", "bogus"], "Illegal suboption \"bogus\"", 1),
        (
            &["-o", "hashpower=5"],
            "Initial hashtable multiplier of 5 is too low",
            1,
        ),
        (
            &["-o", "slab_automove=3"],
            "slab_automove must be between 0 and 2",
            1,
        ),
        (
            &["-o", "slab_chunk_max=1000"],
            "-I (item_size_max: 1048576) must be evenly divisible by slab_chunk_max (bytes: 1000)",
            64,
        ),
        (
            &["-o", "hot_lru_pct=90"],
            "hot_lru_pct must be > 1 and < 80",
            1,
        ),
        (
            &["-o", "lru_crawler_sleep=2000000"],
            "LRU crawler sleep must be between 0 and 1 second",
            1,
        ),
        (
            &["-o", "idle_timeout"],
            "Missing numeric argument for idle_timeout",
            1,
        ),
        (
            &["-o", "hash_algorithm=md5"],
            "Unknown hash_algorithm option (jenkins, murmur3, xxh3)",
            1,
        ),
        (
            &["-o", "ssl_verify_mode=5"],
            "Invalid ssl_verify_mode. Use help to see valid options.",
            1,
        ),
        (
            &["-o", "tail_repair_time=5"],
            "Cannot set tail_repair_time to less than 10 seconds",
            1,
        ),
        (
            &["-o", "slab_sizes=100-50"],
            "slab size 50 cannot be lower than or equal to a previous class size",
            64,
        ),
        (
            &["-o", "temporary_ttl=5,no_lru_maintainer"],
            "temporary_ttl requires lru_maintainer to be enabled",
            64,
        ),
        (
            &["-N", "5"],
            "Number of napi_ids(5) cannot be greater than number of threads(4)",
            64,
        ),
        (
            &["-S", "-B", "ascii"],
            "ERROR: You cannot allow the ASCII protocol while using SASL.",
            64,
        ),
        (
            &["-x"],
            "mc-server: invalid option -- 'x'\nIllegal argument \"?\"",
            1,
        ),
        (
            &["--bogus"],
            "mc-server: unrecognized option '--bogus'\nIllegal argument \"?\"",
            1,
        ),
    ];
    for (words, message, code) in cases {
        let e = refused(words);
        assert_eq!((e.message.as_str(), e.code), (*message, *code), "{words:?}");
    }
}

#[test]
fn help_and_version_win_over_later_errors_but_not_earlier_ones() {
    assert!(matches!(run(&["-h", "-x"]), Ok(Command::Print(_))));
    assert!(matches!(run(&["-V", "-c", "0"]), Ok(Command::Print(_))));
    assert!(run(&["-c", "0", "-V"]).is_err());
    let Ok(Command::Print(help)) = run(&["-h"]) else {
        panic!("help")
    };
    for letter in short_options() {
        assert!(help.contains(&format!("-{letter}")), "-h lacks -{letter}");
    }
    for name in SUBOPTIONS
        .iter()
        .filter(|n| !n.starts_with("ext_") && !n.starts_with("no_"))
    {
        let listed = help.contains(name)
            || [
                "slab_automove_freeratio",
                "inline_ascii_resp",
                "drop_privileges",
                "ssl_ciphers",
                "resp_obj_mem_limit",
                "maxconns_fast",
                "lru_crawler",
                "lru_maintainer",
                "modern",
                "slab_reassign",
                "chunked_items",
            ]
            .contains(name);
        assert!(listed, "-h lacks -o {name}");
    }
}

#[test]
fn options_that_matter_change_the_configuration() {
    let c = launch(&[
        "-M", "-C", "-F", "-X", "-W", "-A", "-R", "5", "-b", "10", "-B", "ascii", "-D", "/", "-f",
        "1.5", "-n", "20", "-a", "0755", "-U", "11311",
    ])
    .config;
    assert!(
        !c.store.evict && !c.store.cas && !c.flush_enabled && !c.dump_enabled && !c.watch_enabled
    );
    assert!(c.enable_shutdown);
    assert_eq!(c.reqs_per_event, 5);
    assert_eq!(c.backlog, 10);
    assert_eq!(c.protocol, Protocol::Ascii);
    assert_eq!((c.prefix_delimiter, c.detail_enabled), (b'/', true));
    assert_eq!(c.store.growth_factor, 1.5);
    assert_eq!(c.store.min_chunk, crate::storage::item_header_len() + 20);
    assert_eq!(c.unix_mask, 0o755);
    assert_eq!((c.udp, c.udp_port), (true, 11311));
    let c = launch(&["-U", "-1"]).config;
    assert_eq!((c.udp, c.udp_port), (true, 0));
    assert!(!launch(&["-U", "0"]).config.udp);
    let c = launch(&["-I", "4m", "-m", "64"]).config;
    assert_eq!(c.store.max_item_size, 4 << 20);
    assert_eq!(c.store.slab_chunk_max, 512 * 1024);
    let c = launch(&["-o", "no_modern"]).config;
    assert_eq!(c.store.slab_chunk_max, PAGE_SIZE);
    assert!(!c.store.automove && !c.maxconns_fast && !c.lru_crawler);
}

#[test]
fn memory_beyond_what_pages_address_is_refused() {
    assert!(matches!(run(&["-m", "65536"]), Ok(Command::Run(_))));
    let e = refused(&["-m", "65537"]);
    assert!(
        e.message.contains("at most 65536 megabytes"),
        "{}",
        e.message
    );
}

#[test]
fn security_options_are_implemented_or_refused() {
    // -Z without a certificate: refused, like memcached (which fails loading the chain).
    let e = refused(&["-Z"]);
    assert_eq!(e.code, 1);
    assert!(e.message.contains("certificate chain"), "{}", e.message);
    let e = refused(&["-Z", "-o", "ssl_chain_cert=/a,ssl_key=/b,ssl_ciphers=HIGH"]);
    assert!(e.message.contains("ssl_ciphers"), "{}", e.message);
    let c = launch(&["-Z", "-o", "ssl_chain_cert=/a,ssl_key=/b"]).config;
    assert!(c.tls.is_some());
    let e = refused(&["-o", "drop_privileges"]);
    assert_eq!(e.code, 64);
    let e = refused(&["-Y", "/nonexistent/auth"]);
    assert!(
        e.message
            .starts_with("Could not open authfile [/nonexistent/auth]"),
        "{}",
        e.message
    );
}
