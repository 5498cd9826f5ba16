//! Where mc-server stands against memcached 1.6.18, item by item: every command-line flag,
//! every `-o` suboption, every command, and every field of `stats` and `stats settings`.
//!
//! docs/compatibility.md is generated from this table (`cargo xtask compat`), and
//! `tests/compatibility_table.rs` checks it against the real memcached: every flag and suboption
//! its `-h` lists and every field its `stats` and `stats settings` print must have a row here,
//! and every command-line row's example must start both servers, or be refused by both with
//! the same message (rows marked [`Support::Differs`] say how they differ instead).

use std::fmt::Write as _;

/// What a row describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A command-line flag (`-m`).
    Flag,
    /// An `-o` suboption.
    Suboption,
    /// A text or binary protocol command.
    Command,
    /// A field of `stats`.
    Stat,
    /// A field of `stats settings`.
    Setting,
}

/// How mc-server supports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    /// Does what memcached does.
    Implemented,
    /// Accepted and shown, without effect on this server's design (the note says why);
    /// logged once at warn when given on the command line.
    Accepted,
    /// Refused at start, with a message saying why (never accepted and ignored).
    Refused,
    /// Supported, but with a difference an operator may notice (the note says which).
    Differs,
}

impl Support {
    fn label(self) -> &'static str {
        match self {
            Support::Implemented => "implemented",
            Support::Accepted => "accepted, no effect",
            Support::Refused => "refused",
            Support::Differs => "differs",
        }
    }
}

/// One row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    /// Flag, suboption, command or field.
    pub kind: Kind,
    /// Its name as memcached spells it (`-m`, `hashpower`, `get`, `curr_items`).
    pub name: &'static str,
    /// For flags and suboptions: command-line words that use it (`{dir}` is a scratch
    /// directory, `{cert}`, `{key}` and `{ca}` test certificates).
    pub example: &'static str,
    /// How it is supported.
    pub support: Support,
    /// What to know.
    pub note: &'static str,
}

const fn row(
    kind: Kind,
    name: &'static str,
    example: &'static str,
    support: Support,
    note: &'static str,
) -> Row {
    Row {
        kind,
        name,
        example,
        support,
        note,
    }
}

use Kind::{Command as C, Flag as F, Suboption as O};
use Support::{Accepted as A, Differs as D, Implemented as I, Refused as R};

/// The table.
pub const ROWS: &[Row] = &[
    // Flags, in `memcached -h` order.
    row(F, "-p", "-p -1", I, "0 turns TCP off, -1 picks a free port"),
    row(F, "-U", "-U -1", D, "UDP, off by default, framed as memcached frames it; when one datagram holds several requests, their answers are framed together (memcached frames each separately; clients send one request per datagram)"),
    row(F, "-s", "-s {dir}/mc.sock", I, "Unix socket; disables TCP"),
    row(F, "-a", "-s {dir}/mc.sock -a 0755", I, "permissions of the Unix socket"),
    row(F, "-A", "-A", I, "enables `shutdown`"),
    row(F, "-l", "-l 127.0.0.1", D, "default 127.0.0.1, not every interface; `host:port`, `[v6]` and, with -Z, `notls:` forms"),
    row(F, "-d", "-d -P {dir}/daemon.pid", I, "daemon"),
    row(F, "-r", "-r", I, "raises the core file limit"),
    row(F, "-u", "-u memcache", I, "required as root, as in memcached"),
    row(F, "-m", "-m 128", D, "at most 65536 (one item id addresses 64 GiB of pages); more is refused at start"),
    row(F, "-M", "-M", I, "errors instead of evictions"),
    row(F, "-c", "-c 100", I, ""),
    row(F, "-k", "-k", D, "mlockall after raising the locked-memory limit as far as allowed; when the limit cannot cover -m, a warning and no lock (locking anyway would make later allocations fail), as memcached warns when mlockall fails"),
    row(F, "-v", "-vv", I, "-vv prints each command and answer on stderr"),
    row(F, "-h", "-h", D, "prints mc-server's own help"),
    row(F, "-i", "-i", D, "prints mc-server's license"),
    row(F, "-V", "-V", D, "prints `mc-server <version>`; the protocol's `version` answers 1.6.18"),
    row(F, "-P", "-P {dir}/mc.pid", I, "written with or without -d, removed at exit"),
    row(F, "-f", "-f 1.5", D, "default 1.125 (memcached 1.25): more classes, less waste"),
    row(F, "-n", "-n 64", I, "counts from this server's 34-byte item header"),
    row(F, "-L", "-L -m 64", A, "pages are allocated as needed, not preallocated (so, unlike memcached, no minimum -m of about 39 MB)"),
    row(F, "-D", "-D /", I, "turns on `stats detail`"),
    row(F, "-t", "-t 2", D, "one event loop at 1; a work-stealing pool above"),
    row(F, "-R", "-R 5", I, "a connection yields after that many requests (`conn_yields`)"),
    row(F, "-C", "-C", I, "every CAS unique is 0"),
    row(F, "-b", "-b 64", I, ""),
    row(F, "-B", "-B ascii", I, "auto, ascii or binary"),
    row(F, "-I", "-I 2m", I, "1k to 1024m, at most half of -m"),
    row(F, "-S", "-S", D, "SASL PLAIN against MEMCACHED_SASL_PWDB (user:password lines), read once at start; no Cyrus SASL"),
    row(F, "-F", "-F", I, "refuses flush_all"),
    row(F, "-X", "-X", I, "refuses stats cachedump and lru_crawler metadump"),
    row(F, "-W", "-W", I, "refuses watch"),
    row(F, "-Y", "-Y {dir}/auth", I, "ASCII authentication; any number of users (memcached reads 8)"),
    row(F, "-e", "-e /dev/shm/mc-compat-{pid} -m 64", D, "a file written on a graceful stop (SIGUSR1, `shutdown graceful`) and read back at the next start, checksummed; memcached keeps its whole memory in the file (and, unlike memcached, no minimum -m of about 39 MB)"),
    row(F, "-Z", "-Z -o ssl_chain_cert={cert},ssl_key={key}", D, "rustls: TLS 1.2 and 1.3 only, its own cipher suites"),
    row(F, "-o", "-o modern", I, "see the suboptions"),
    row(F, "-N", "-N 2", A, "connections are not spread by NAPI id"),
    // `-o` suboptions.
    row(O, "io_uring", "", D, "mc-server's own (memcached refuses it): plain TCP connections served through io_uring, -t event loops that each submit their connections' reads and writes in one kernel call per turn (Linux; TLS and Unix sockets stay on the default path); refused at start where the kernel gives no io_uring"),
    row(O, "maxconns_fast", "-o maxconns_fast", I, "over -c: told and closed"),
    row(O, "no_maxconns_fast", "-o no_maxconns_fast", I, "over -c: accepting pauses (`listen_disabled_num`)"),
    row(O, "hashpower", "-o hashpower=16", A, "the index grows in place as it fills"),
    row(O, "no_hashexpand", "-o no_hashexpand", A, "the index always grows"),
    row(O, "slab_reassign", "-o slab_reassign", I, ""),
    row(O, "no_slab_reassign", "-o no_slab_reassign", I, "refuses `slabs reassign`, pages never move"),
    row(O, "slab_automove", "-o slab_automove=1", D, "pages move to a class that needs one when memory is full (no background mover); 0 turns it off"),
    row(O, "no_slab_automove", "-o no_slab_automove", I, ""),
    row(O, "slab_automove_ratio", "-o slab_automove_ratio=0.5", A, "no background page mover"),
    row(O, "slab_automove_window", "-o slab_automove_window=10", A, "no background page mover"),
    row(O, "slab_automove_freeratio", "-o slab_automove_freeratio=0.02", A, "extstore's mover"),
    row(O, "tail_repair_time", "-o tail_repair_time=60", A, "items are never pinned here, so there is nothing to repair"),
    row(O, "hash_algorithm", "-o hash_algorithm=xxh3", A, "the index hashes with ahash"),
    row(O, "lru_crawler", "-o lru_crawler", I, ""),
    row(O, "no_lru_crawler", "-o no_lru_crawler", I, "refuses `lru_crawler crawl` and `metadump`"),
    row(O, "lru_crawler_sleep", "-o lru_crawler_sleep=50", I, "pause between slices of 256 items"),
    row(O, "lru_crawler_tocrawl", "-o lru_crawler_tocrawl=100", I, ""),
    row(O, "lru_maintainer", "-o lru_maintainer", A, "one LRU per class, not segmented"),
    row(O, "no_lru_maintainer", "-o no_lru_maintainer", A, "one LRU per class, not segmented; drops the segment fields from stats, as memcached"),
    row(O, "hot_lru_pct", "-o hot_lru_pct=20", A, "segmented LRU tuning"),
    row(O, "warm_lru_pct", "-o warm_lru_pct=40", A, "segmented LRU tuning"),
    row(O, "hot_max_factor", "-o hot_max_factor=0.2", A, "segmented LRU tuning"),
    row(O, "warm_max_factor", "-o warm_max_factor=2.0", A, "segmented LRU tuning"),
    row(O, "temporary_ttl", "-o temporary_ttl=61", A, "short-lived items share their class's LRU"),
    row(O, "idle_timeout", "-o idle_timeout=30", I, "`idle_kicks`"),
    row(O, "watcher_logbuf_size", "-o watcher_logbuf_size=128", I, "per-watcher buffer; a slow watcher gets `skipped=N`"),
    row(O, "worker_logbuf_size", "-o worker_logbuf_size=64", D, "accepted without effect; memcached 1.6.18 also takes its value as slab_sizes (a fall-through in its parser), so small values stop memcached and not mc-server"),
    row(O, "slab_sizes", "-o slab_sizes=96-120-200", I, ""),
    row(O, "slab_chunk_max", "-o slab_chunk_max=262144", I, "bytes"),
    row(O, "track_sizes", "-o track_sizes", I, "`stats sizes`"),
    row(O, "no_inline_ascii_resp", "-o no_inline_ascii_resp", I, "no effect in memcached either"),
    row(O, "inline_ascii_resp", "-o inline_ascii_resp", I, "no effect in memcached either"),
    row(O, "modern", "-o modern", I, "no effect in memcached 1.6 either"),
    row(O, "no_modern", "-o no_modern", I, "1.4 defaults: no page moves, no crawler, 1 MiB chunks"),
    row(O, "no_chunked_items", "-o no_chunked_items", I, ""),
    row(O, "no_drop_privileges", "-o no_drop_privileges", I, "no seccomp sandbox to leave off"),
    row(O, "drop_privileges", "-o drop_privileges", R, "no seccomp sandbox here; refused rather than pretended (-u still drops root)"),
    row(O, "resp_obj_mem_limit", "-o resp_obj_mem_limit=1", A, "deprecated in memcached too"),
    row(O, "read_buf_mem_limit", "-o read_buf_mem_limit=1", A, "idle connections hold no read buffer here (over TLS and io_uring, a 2 KiB one each)"),
    row(O, "sock_cookie_id", "-o sock_cookie_id=7", I, "SO_MARK on the listening sockets (needs CAP_NET_ADMIN; a refusal is a warning, as in memcached)"),
    row(O, "ssl_chain_cert", "-o ssl_chain_cert={cert}", I, "PEM"),
    row(O, "ssl_key", "-o ssl_key={key}", I, "PEM (PKCS#8, PKCS#1 or SEC1)"),
    row(O, "ssl_verify_mode", "-o ssl_verify_mode=0", D, "1 asks for a client certificate, 2 and 3 require one; 1 to 3 need ssl_ca_cert"),
    row(O, "ssl_keyformat", "-o ssl_keyformat=1", D, "PEM (1) only; DER and ENGINE are refused"),
    row(O, "ssl_ciphers", "-o ssl_ciphers=HIGH", D, "refused with -Z: rustls offers only its own modern suites, and an OpenSSL list cannot be honoured"),
    row(O, "ssl_ca_cert", "-o ssl_ca_cert={ca}", I, "CAs client certificates must chain to"),
    row(O, "ssl_wbuf_size", "-o ssl_wbuf_size=16", A, "rustls sizes its own buffers"),
    row(O, "ssl_session_cache", "-o ssl_session_cache", I, "session resumption"),
    row(O, "ssl_kernel_tls", "-o ssl_kernel_tls", A, "TLS is done in the process"),
    row(O, "ssl_min_version", "-o ssl_min_version=2", D, "2 (TLS 1.2) or 3 (TLS 1.3); 0 and 1 mean TLS 1.2, which rustls cannot go below"),
    row(O, "ext_path", "-o ext_path=/dev/shm/mc-ext-{pid}:64m", A, "no extstore: items stay in memory"),
    row(O, "ext_page_size", "-o ext_page_size=64", A, "no extstore"),
    row(O, "ext_wbuf_size", "-o ext_wbuf_size=4", A, "no extstore"),
    row(O, "ext_threads", "-o ext_threads=1", A, "no extstore"),
    row(O, "ext_io_depth", "-o ext_io_depth=1", A, "no extstore"),
    row(O, "ext_item_size", "-o ext_item_size=512", A, "no extstore"),
    row(O, "ext_item_age", "-o ext_item_age=10", A, "no extstore"),
    row(O, "ext_low_ttl", "-o ext_low_ttl=0", A, "no extstore"),
    row(O, "ext_recache_rate", "-o ext_recache_rate=2000", A, "no extstore"),
    row(O, "ext_compact_under", "-o ext_compact_under=1", A, "no extstore"),
    row(O, "ext_drop_under", "-o ext_drop_under=1", A, "no extstore"),
    row(O, "ext_max_sleep", "-o ext_max_sleep=100", A, "no extstore"),
    row(O, "ext_max_frag", "-o ext_max_frag=0.8", A, "no extstore"),
    row(O, "ext_drop_unread", "-o ext_drop_unread", A, "no extstore"),
    // Commands.
    row(C, "get, gets, gat, gats, bget", "", I, "multi-key answers in bounded slices"),
    row(C, "set, add, replace, append, prepend, cas", "", I, ""),
    row(C, "incr, decr", "", I, ""),
    row(C, "delete", "", I, ""),
    row(C, "touch", "", I, ""),
    row(C, "flush_all", "", I, "-F refuses it"),
    row(C, "version", "", I, "answers 1.6.18, the protocol implemented"),
    row(C, "quit", "", I, ""),
    row(C, "verbosity", "", I, "0 to 2; 2 prints commands on stderr"),
    row(C, "shutdown [graceful]", "", I, "needs -A; graceful saves the cache first with -e"),
    row(C, "cache_memlimit", "", I, ""),
    row(C, "mg, ms, md, ma, mn, me", "", I, "the meta protocol"),
    row(C, "stats [settings|items|slabs|sizes|conns|detail|cachedump|extstore|reset]", "", I, "sizes_enable and sizes_disable too; extstore answers END"),
    row(C, "watch [fetchers|mutations|evictions|sysevents|connevents|rawcmds|proxy...]", "", I, "memcached's event lines; rawcmds and the proxy kinds log nothing, as in memcached 1.6.18"),
    row(C, "lru_crawler crawl|metadump|enable|disable|sleep|tocrawl", "", I, "crawls run on a background thread in bounded slices"),
    row(C, "slabs reassign|automove", "", I, "a moved page's items are evicted, never rescued"),
    row(C, "lru tune|mode|temp_ttl", "", A, "checked and remembered; the LRU is not segmented"),
    row(C, "refresh_certs", "", I, "reloads the TLS files; connections already open keep theirs"),
    row(C, "extstore", "", I, "no extstore: answers ERROR, as memcached without ext_path"),
    row(C, "misbehave, debugtime", "", D, "exist only in memcached's debug builds; answered ERROR"),
    row(C, "binary GET, GETQ, GETK, GETKQ, GAT, GATQ, GATK, GATKQ, TOUCH", "", I, ""),
    row(C, "binary SET, ADD, REPLACE, APPEND, PREPEND and quiet forms", "", I, "a CAS in the header makes them compare-and-swap"),
    row(C, "binary DELETE, INCREMENT, DECREMENT and quiet forms", "", I, "counters created at `initial` unless exptime is 0xffffffff"),
    row(C, "binary QUIT, FLUSH, NOOP, VERSION, STAT and quiet forms", "", I, "STAT sends each field as a response"),
    row(C, "binary SASL_LIST_MECHS, SASL_AUTH, SASL_STEP", "", D, "PLAIN only"),
    row(C, "binary VERBOSITY", "", I, "`Unknown command`, as memcached 1.6.18 answers"),
    row(C, "binary unknown opcodes", "", D, "skip the rest of their body; memcached skips the whole body length again after extras and key"),
];

/// `stats` fields, in memcached's order; `None` when the field means here what it means in
/// memcached, else what differs.
pub const STATS: &[(&str, Option<&str>)] = &[
    ("pid", None),
    ("uptime", None),
    ("time", None),
    ("version", Some("1.6.18, the protocol implemented")),
    ("libevent", Some("not reported: there is no libevent")),
    ("pointer_size", None),
    ("rusage_user", None),
    ("rusage_system", None),
    ("max_connections", None),
    ("curr_connections", None),
    ("total_connections", None),
    ("rejected_connections", None),
    (
        "connection_structures",
        Some("open connections and listeners"),
    ),
    (
        "response_obj_oom",
        Some("0: answers go straight into the connection's buffer"),
    ),
    ("response_obj_count", Some("0: no response objects")),
    ("response_obj_bytes", Some("0: no response objects")),
    (
        "read_buf_count",
        Some("buffers lent to active connections (idle ones hold none)"),
    ),
    ("read_buf_bytes", Some("16 KiB per lent buffer")),
    ("read_buf_bytes_free", Some("0")),
    ("read_buf_oom", Some("0")),
    ("reserved_fds", Some("64, the headroom kept above -c")),
    ("cmd_get", None),
    ("cmd_set", None),
    ("cmd_flush", None),
    ("cmd_touch", None),
    ("cmd_meta", None),
    ("get_hits", None),
    ("get_misses", None),
    ("get_expired", None),
    ("get_flushed", None),
    ("delete_misses", None),
    ("delete_hits", None),
    ("incr_misses", None),
    ("incr_hits", None),
    ("decr_misses", None),
    ("decr_hits", None),
    ("cas_misses", None),
    ("cas_hits", None),
    ("cas_badval", None),
    ("touch_hits", None),
    ("touch_misses", None),
    ("store_too_large", None),
    ("store_no_memory", None),
    ("auth_cmds", None),
    ("auth_errors", None),
    ("idle_kicks", None),
    ("ssl_new_sessions", None),
    ("ssl_handshake_errors", None),
    ("time_since_server_cert_refresh", None),
    ("bytes_read", None),
    ("bytes_written", None),
    ("limit_maxbytes", None),
    ("accepting_conns", None),
    ("listen_disabled_num", None),
    ("time_in_listen_disabled_us", None),
    ("threads", None),
    ("conn_yields", None),
    ("hash_power_level", None),
    ("hash_bytes", None),
    (
        "hash_is_expanding",
        Some("0: the index grows within the write that fills it"),
    ),
    (
        "slab_reassign_rescues",
        Some("0: a moved page's items are evicted"),
    ),
    ("slab_reassign_chunk_rescues", Some("0")),
    (
        "slab_reassign_evictions_nomem",
        Some("items evicted to move a page"),
    ),
    ("slab_reassign_inline_reclaim", Some("0")),
    (
        "slab_reassign_busy_items",
        Some("0: nothing is ever pinned"),
    ),
    ("slab_reassign_busy_deletes", Some("0")),
    (
        "slab_reassign_running",
        Some("0: a page moves within one command"),
    ),
    ("slabs_moved", None),
    ("lru_crawler_running", None),
    ("lru_crawler_starts", None),
    ("lru_maintainer_juggles", Some("0: no maintainer thread")),
    ("malloc_fails", Some("0")),
    (
        "log_worker_dropped",
        Some("0: lines go straight to the watchers"),
    ),
    ("log_worker_written", None),
    ("log_watcher_skipped", None),
    ("log_watcher_sent", None),
    ("log_watchers", None),
    ("unexpected_napi_ids", Some("0")),
    ("round_robin_fallback", Some("0")),
    ("bytes", None),
    ("curr_items", None),
    ("total_items", None),
    (
        "slab_global_page_pool",
        Some("pages given back by `slabs reassign <n> 0`"),
    ),
    ("expired_unfetched", None),
    ("evicted_unfetched", None),
    ("evicted_active", Some("0: no segmented LRU")),
    ("evictions", None),
    ("reclaimed", None),
    ("crawler_reclaimed", None),
    ("crawler_items_checked", None),
    ("lrutail_reflocked", Some("0: nothing is ever pinned")),
    ("moves_to_cold", Some("0: no segmented LRU")),
    ("moves_to_warm", Some("0: no segmented LRU")),
    ("moves_within_lru", Some("0: no segmented LRU")),
    (
        "direct_reclaims",
        Some("every eviction and reclaim: all happen in the write that needs room"),
    ),
    ("lru_bumps_dropped", Some("0")),
    ("server", Some("mc-server's own: `mc-server <version>`")),
    (
        "slab_pages_bytes",
        Some("mc-server's own: bytes of pages and large items taken"),
    ),
];

/// `stats settings` fields, in memcached's order, as [`STATS`].
pub const SETTINGS: &[(&str, Option<&str>)] = &[
    ("maxbytes", None),
    ("maxconns", None),
    ("tcpport", None),
    ("udpport", None),
    ("inter", Some("127.0.0.1 unless -l says otherwise")),
    ("verbosity", None),
    ("oldest", Some("0")),
    ("evictions", None),
    ("domain_socket", None),
    ("umask", None),
    ("shutdown_command", None),
    ("growth_factor", Some("mc-server's default factor, 1.125, unless -f says otherwise (two decimals, as memcached prints it)")),
    ("chunk_size", None),
    ("num_threads", None),
    ("num_threads_per_udp", Some("-t, as memcached reports it; UDP is served by a thread of its own")),
    ("stat_key_prefix", None),
    ("detail_enabled", None),
    ("reqs_per_event", None),
    ("cas_enabled", None),
    ("tcp_backlog", None),
    ("binding_protocol", None),
    ("auth_enabled_sasl", None),
    ("auth_enabled_ascii", None),
    ("item_size_max", None),
    ("maxconns_fast", None),
    ("hashpower_init", Some("as given; no effect")),
    ("slab_reassign", None),
    ("slab_automove", None),
    ("slab_automove_ratio", Some("as given; no effect")),
    ("slab_automove_window", Some("as given; no effect")),
    ("slab_chunk_max", None),
    ("lru_crawler", None),
    ("lru_crawler_sleep", None),
    ("lru_crawler_tocrawl", None),
    ("tail_repair_time", Some("as given; no effect")),
    ("flush_enabled", None),
    ("dump_enabled", None),
    ("hash_algorithm", Some("as given; the index uses ahash")),
    ("lru_maintainer_thread", Some("as given; no maintainer thread")),
    ("lru_segmented", Some("as given; never segmented")),
    ("hot_lru_pct", Some("as given; no effect")),
    ("warm_lru_pct", Some("as given; no effect")),
    ("hot_max_factor", Some("as given; no effect")),
    ("warm_max_factor", Some("as given; no effect")),
    ("temp_lru", Some("as given; no effect")),
    ("temporary_ttl", Some("as given; no effect")),
    ("idle_timeout", None),
    ("watcher_logbuf_size", None),
    ("worker_logbuf_size", Some("as given; no effect")),
    ("read_buf_mem_limit", Some("as given; no effect")),
    ("track_sizes", None),
    ("inline_ascii_response", Some("no, as in memcached")),
    ("ext_item_size", Some("as given; no extstore")),
    ("ext_item_age", Some("as given; no extstore")),
    ("ext_low_ttl", Some("as given; no extstore")),
    ("ext_recache_rate", Some("as given; no extstore")),
    ("ext_wbuf_size", Some("as given; no extstore")),
    ("ext_compact_under", Some("as given; no extstore")),
    ("ext_drop_under", Some("as given; no extstore")),
    ("ext_max_sleep", Some("as given; no extstore")),
    ("ext_max_frag", Some("as given; no extstore")),
    ("slab_automove_freeratio", Some("as given; no extstore")),
    ("ext_drop_unread", Some("as given; no extstore")),
    ("ssl_enabled", None),
    ("ssl_chain_cert", None),
    ("ssl_key", None),
    ("ssl_verify_mode", None),
    ("ssl_keyformat", None),
    ("ssl_ciphers", Some("NULL: rustls's own suites")),
    ("ssl_ca_cert", None),
    ("ssl_wbuf_size", Some("as given; no effect")),
    ("ssl_session_cache", None),
    ("ssl_kernel_tls", Some("as given; no effect")),
    ("ssl_min_version", None),
    ("num_napi_ids", Some("as given; no effect")),
    ("memory_file", Some("as given")),
    ("io_uring", Some("mc-server's own: yes with -o io_uring")),
];

fn escape(cell: &str) -> String {
    cell.replace('|', "\\|")
}

/// The table as Markdown (docs/compatibility.md).
pub fn markdown() -> String {
    let mut doc = String::from(
        "# Compatibility with memcached 1.6.18\n\n\
         Generated from `crates/mc-server/src/compatibility.rs` by `cargo xtask compat`; \
         `cargo test -p mc-server --test compatibility_table` fails when a flag, suboption or \
         stats field of the real memcached is missing here, when this file is out of date, \
         or when a command line below does not start (or is not refused) as the table says.\n\n\
         *implemented*: does what memcached does. *accepted, no effect*: checked as memcached \
         checks it, logged once at warn, shown by `stats settings`, no effect on this \
         server's design. *refused*: mc-server will not start with it and says why. \
         *differs*: supported, with a difference the note describes.\n",
    );
    let sections = [
        (Kind::Flag, "Command-line flags", "flag"),
        (Kind::Suboption, "`-o` suboptions", "suboption"),
        (Kind::Command, "Commands", "command"),
    ];
    for (kind, title, column) in sections {
        let _ = write!(
            doc,
            "\n## {title}\n\n| {column} | status | example | note |\n|---|---|---|---|\n"
        );
        for r in ROWS.iter().filter(|r| r.kind == kind) {
            let example = if r.example.is_empty() {
                String::new()
            } else {
                format!("`{}`", r.example)
            };
            let _ = writeln!(
                doc,
                "| `{}` | {} | {} | {} |",
                escape(r.name),
                r.support.label(),
                escape(&example),
                escape(r.note)
            );
        }
    }
    for (title, fields) in [
        ("`stats` fields", STATS),
        ("`stats settings` fields", SETTINGS),
    ] {
        let _ = write!(doc, "\n## {title}\n\n| field | meaning here |\n|---|---|\n");
        for (name, note) in fields {
            let _ = writeln!(
                doc,
                "| `{name}` | {} |",
                escape(note.unwrap_or("as in memcached"))
            );
        }
    }
    doc
}
