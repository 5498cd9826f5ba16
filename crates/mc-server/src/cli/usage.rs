//! What `-h`, `-i` and `-V` print.

/// `-V`: the program and its version.
pub fn version_text() -> String {
    format!("mc-server {}\n", env!("CARGO_PKG_VERSION"))
}

/// `-i`: the license.
pub fn license_text() -> String {
    format!(
        "mc-server {} is dual-licensed under the MIT license and the Apache License, Version 2.0,\n\
         at your option. It is a new implementation of memcached's protocols and command line;\n\
         it contains no code from memcached or libevent.\n",
        env!("CARGO_PKG_VERSION")
    )
}

/// `-h`: every option memcached 1.6.18 takes, and what each does here.
pub fn help_text() -> String {
    let mut text = version_text();
    text.push_str(HELP);
    text
}

const HELP: &str = "\
Takes memcached 1.6.18's command line. Options marked (accepted) have no effect on this
server's design; they are checked as memcached checks them, logged once at warn, and shown
by `stats settings`.

-p, --port=<num>          TCP port to listen on (default: 11211; 0: no TCP; -1: any free port)
-U, --udp-port=<num>      UDP port to listen on (default: 0, off)
-s, --unix-socket=<file>  UNIX socket to listen on (disables network support)
-a, --unix-mask=<mask>    access mask for the UNIX socket, in octal (default: 700)
-A, --enable-shutdown     enable the ascii \"shutdown\" command
-l, --listen=<addr>       interfaces to listen on, comma separated
                          (default: 127.0.0.1 -- memcached's is every interface)
                          with -Z, a 'notls:' prefix serves plain TCP on that listener
-d, --daemon              run as a daemon
-r, --enable-coredumps    maximize the core file limit
-u, --user=<user>         assume the identity of <user> (only when run as root)
-m, --memory-limit=<num>  item memory in megabytes (default: 64)
-M, --disable-evictions   return an error when memory is exhausted instead of evicting
-c, --conn-limit=<num>    max simultaneous connections (default: 1024)
-k, --lock-memory         lock down all paged memory (mlockall)
-v, --verbose             verbose (errors and warnings)
-vv                       very verbose (also client commands and responses)
-vvv                      extremely verbose (internal state transitions)
-h, --help                print this help and exit
-i, --license             print the license and exit
-V, --version             print the version and exit
-P, --pidfile=<file>      save the PID in <file>
-f, --slab-growth-factor=<num> chunk size growth factor (default: 1.125)
-n, --slab-min-size=<bytes> min space used for key+value+flags (default: 48)
-L, --enable-largepages   (accepted) pages are allocated as needed, not preallocated
-D <char>                 delimiter between key prefixes and ids for `stats detail`;
                          giving it turns prefix stats on (default: \":\", off)
-t, --threads=<num>       number of worker threads (default: 4)
-R, --max-reqs-per-event  requests a connection runs before others get a turn (default: 20)
-C, --disable-cas         disable CAS (every CAS unique is 0)
-b, --listen-backlog=<num> listen backlog (default: 1024)
-B, --protocol=<name>     ascii, binary or auto (default: auto-negotiate)
-I, --max-item-size=<num> max item size (default: 1m, min: 1k, max: 1024m)
-S, --enable-sasl         require SASL PLAIN (binary protocol); users and passwords are read
                          from the file named by MEMCACHED_SASL_PWDB (user:password lines)
-F, --disable-flush-all   disable the flush_all command
-X, --disable-dumping     disable stats cachedump and lru_crawler metadump
-W, --disable-watch       disable the watch command (live logging)
-Y, --auth-file=<file>    ASCII protocol authentication: user:pass lines
-e, --memory-file=<file>  restartable cache: SIGUSR1 or `shutdown graceful` saves
                          the cache to <file>, the next start restores it
-Z, --enable-ssl          enable TLS (rustls; needs ssl_chain_cert and ssl_key)
-N, --napi-ids=<num>      (accepted) number of NAPI ids
-o, --extended            comma separated list of extended options
   - io_uring:            (mc-server's own) serve TCP connections through io_uring (Linux)
   - maxconns_fast:       tell and close new connections over the limit (default: on;
                          no_maxconns_fast stops accepting instead)
   - hashpower:           (accepted) initial hash table size; the index grows itself
   - tail_repair_time:    (accepted) nothing is ever pinned here, nothing to repair
   - hash_algorithm:      (accepted) jenkins, murmur3 or xxh3
   - no_lru_crawler:      disable the lru_crawler commands
   - lru_crawler_sleep:   microseconds to sleep between items crawled (default: 100)
   - lru_crawler_tocrawl: max items to crawl per slab class per run (default: 0, unlimited)
   - read_buf_mem_limit:  (accepted) idle connections hold no read buffer here
                          (over TLS and io_uring, a 2 KiB one each)
   - no_lru_maintainer:   (accepted) the LRU here is not segmented
   - hot_lru_pct, warm_lru_pct, hot_max_factor, warm_max_factor, temporary_ttl:
                          (accepted) segmented LRU tuning
   - idle_timeout:        close connections idle this many seconds (default: 0, never)
   - slab_chunk_max:      largest slab chunk in bytes (default: 524288)
   - slab_sizes:          explicit chunk sizes, '-' separated
   - slab_automove:       0 turns off moving pages to classes that need them (default: 1)
   - no_slab_reassign:    refuse `slabs reassign` and never move pages between classes
   - slab_automove_ratio, slab_automove_window: (accepted)
   - watcher_logbuf_size: kilobytes of log a watcher may have pending (default: 256)
   - worker_logbuf_size:  (accepted) size of per-worker log buffers
   - track_sizes:         enable `stats sizes`
   - no_hashexpand:       (accepted) the index always grows
   - modern, no_modern:   defaults of this or the previous major version
   - sock_cookie_id:      mark sockets with this SO_MARK for firewalls
   - ext_*:               (accepted) extstore is not part of this server
   - ssl_chain_cert, ssl_key: certificate chain and key, PEM
   - ssl_verify_mode:     0 none, 1 request, 2 require, 3 once (as 2) a client certificate
   - ssl_ca_cert:         PEM file of acceptable client CAs
   - ssl_min_version:     2 (TLS 1.2, default) or 3 (TLS 1.3); 0 and 1 mean 1.2 here
   - ssl_session_cache:   enable session resumption
   - ssl_keyformat:       1 (PEM) only; ssl_ciphers is refused (rustls chooses its suites)
   - ssl_wbuf_size, ssl_kernel_tls: (accepted)
";
