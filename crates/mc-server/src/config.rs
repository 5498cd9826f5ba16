//! Server configuration, independent of how it was given (command line or code).
//!
//! [`Config`] holds everything that changes how the server behaves; [`Tuning`] holds the values
//! memcached's command line accepts that have no effect on this server's design (they are
//! remembered so `stats settings` shows what was asked for).

use std::path::PathBuf;

use crate::storage::StoreConfig;

/// Which protocols a connection may speak (`-B`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// Decided per connection by its first byte (0x80: binary), memcached's default.
    #[default]
    Auto,
    /// Text and meta only.
    Ascii,
    /// Binary only.
    Binary,
}

impl Protocol {
    /// How `stats settings` names it.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Auto => "auto-negotiate",
            Protocol::Ascii => "ascii",
            Protocol::Binary => "binary",
        }
    }
}

/// Who may use the server.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Auth {
    /// Everybody who can connect.
    #[default]
    None,
    /// Binary-protocol SASL PLAIN (`-S`), checked against a file of `user:password` lines
    /// (memcached's `MEMCACHED_SASL_PWDB`).
    Sasl {
        /// The password file.
        pwdb: PathBuf,
    },
    /// memcached's ASCII authentication (`-Y file`): a connection's first command must be a
    /// `set` whose data is `user password`, matching a `user:password` line of the file.
    Ascii {
        /// The file of `user:password` lines.
        file: PathBuf,
    },
}

/// TLS (`-Z` with `-o ssl_*`), served with rustls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// Certificate chain, PEM (`ssl_chain_cert`).
    pub chain_cert: PathBuf,
    /// Private key, PEM (`ssl_key`).
    pub key: PathBuf,
    /// CA certificates that client certificates must chain to (`ssl_ca_cert`).
    pub ca_cert: Option<PathBuf>,
    /// memcached's `ssl_verify_mode`: 0 none, 1 request a client certificate, 2 require one,
    /// 3 require one (once per connection: the same as 2 here).
    pub verify_mode: u8,
    /// The oldest TLS version accepted: 2 (TLS 1.2) or 3 (TLS 1.3).
    pub min_version: u8,
    /// Let clients resume sessions (`ssl_session_cache`).
    pub session_cache: bool,
}

/// The segmented-LRU tuning memcached keeps (`-o hot_lru_pct=…`, `lru tune`, `lru temp_ttl`):
/// checked and shown, without effect on this server's CLOCK per class.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub struct LruTuning {
    pub hot_lru_pct: u32,
    pub warm_lru_pct: u32,
    pub hot_max_factor: f64,
    pub warm_max_factor: f64,
    pub temp_lru: bool,
    pub temporary_ttl: u32,
}

impl Default for LruTuning {
    fn default() -> Self {
        LruTuning {
            hot_lru_pct: 20,
            warm_lru_pct: 40,
            hot_max_factor: 0.2,
            warm_max_factor: 2.0,
            temp_lru: false,
            temporary_ttl: 61,
        }
    }
}

/// Values accepted for compatibility that do not change this server's behaviour, shown by
/// `stats settings` as given. Each was logged once at warn when it was set on the command line.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub struct Tuning {
    pub hashpower_init: u32,
    pub slab_automove_ratio: f64,
    pub slab_automove_window: u32,
    pub lru_crawler_sleep: u32,
    pub lru_crawler_tocrawl: u32,
    pub tail_repair_time: u32,
    pub hash_algorithm: String,
    pub lru_maintainer: bool,
    /// The segmented-LRU knobs as the command line set them (the `lru` command changes a
    /// copy at run time).
    pub lru: LruTuning,
    pub worker_logbuf_size: u32,
    pub read_buf_mem_limit: u32,
    /// `ext_*` suboptions (extstore, which this server does not have), by name.
    pub extstore: Vec<(String, String)>,
    pub ssl_keyformat: i32,
    pub ssl_wbuf_size: u32,
    pub ssl_kernel_tls: bool,
    pub num_napi_ids: Option<u32>,
    pub memory_file: Option<PathBuf>,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            hashpower_init: 0,
            slab_automove_ratio: 0.8,
            slab_automove_window: 30,
            lru_crawler_sleep: 100,
            lru_crawler_tocrawl: 0,
            tail_repair_time: 0,
            hash_algorithm: "murmur3".into(),
            lru_maintainer: true,
            lru: LruTuning::default(),
            worker_logbuf_size: 64 * 1024,
            read_buf_mem_limit: 0,
            extstore: Vec::new(),
            ssl_keyformat: 1,
            ssl_wbuf_size: 16 * 1024,
            ssl_kernel_tls: false,
            num_napi_ids: None,
            memory_file: None,
        }
    }
}

/// Everything a server needs to start.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Addresses to listen on (host names or IPs, optionally `host:port`, optionally prefixed
    /// `notls:` to serve plain TCP while TLS is on); each without a port gets `port`.
    pub listen: Vec<String>,
    /// TCP port; 0 picks a free one (see [`crate::RunningServer::local_addrs`]).
    pub port: u16,
    /// Serve TCP (memcached's `-p 0` turns it off).
    pub tcp: bool,
    /// Serve UDP (`-U`; off by default, as in memcached since 1.5.6).
    pub udp: bool,
    /// UDP port; 0 picks a free one.
    pub udp_port: u16,
    /// A Unix socket to listen on instead of TCP (`-s`).
    pub unix_socket: Option<PathBuf>,
    /// Permissions of the Unix socket (`-a`, octal; default 0700).
    pub unix_mask: u32,
    /// Most simultaneous connections (`-c`).
    pub max_connections: usize,
    /// Over the limit, tell a new connection and close it (`maxconns_fast`, the default);
    /// otherwise stop accepting until a connection ends.
    pub maxconns_fast: bool,
    /// Close connections idle for this many seconds (`idle_timeout`; 0: never).
    pub idle_timeout: u32,
    /// Worker threads (`-t`): one event loop at 1, a work-stealing pool above.
    pub threads: usize,
    /// Serve plain TCP connections through io_uring (`-o io_uring`, mc-server's own; Linux):
    /// `-t` event loops of their own, each batching its connections' reads and writes into
    /// one kernel call per turn. Off by default.
    pub io_uring: bool,
    /// Requests a connection runs before others get a turn (`-R`).
    pub reqs_per_event: u32,
    /// Listen backlog (`-b`).
    pub backlog: u32,
    /// Protocols accepted (`-B`).
    pub protocol: Protocol,
    /// Storage sizing and policy (`-m`, `-I`, `-M`, `-f`, `-n`, `-C`, `slab_chunk_max`,
    /// `slab_sizes`, `slab_automove`).
    pub store: StoreConfig,
    /// Allow the `shutdown` command (`-A`).
    pub enable_shutdown: bool,
    /// Allow `flush_all` (`-F` turns it off).
    pub flush_enabled: bool,
    /// Allow key dumps: `stats cachedump`, `lru_crawler metadump` (`-X` turns them off).
    pub dump_enabled: bool,
    /// Allow `watch` (`-W` turns it off).
    pub watch_enabled: bool,
    /// The `lru_crawler` commands are available (`no_lru_crawler` turns them off).
    pub lru_crawler: bool,
    /// `slabs reassign` may move pages (`no_slab_reassign` turns it off, and automove with it).
    pub slab_reassign: bool,
    /// Logging verbosity (`-v`, `-vv`, `-vvv`), also changed by the `verbosity` command.
    pub verbosity: u32,
    /// The key prefix delimiter of `stats detail` (`-D`, default `:`).
    pub prefix_delimiter: u8,
    /// Collect per-prefix statistics from the start (`-D` turns it on).
    pub detail_enabled: bool,
    /// Keep the item size histogram of `stats sizes` (`track_sizes`).
    pub track_sizes: bool,
    /// Authentication (`-S`, `-Y`).
    pub auth: Auth,
    /// TLS (`-Z`).
    pub tls: Option<TlsSettings>,
    /// Mark accepted sockets with this `SO_MARK`, for firewall rules (`sock_cookie_id`).
    pub sock_mark: Option<u32>,
    /// Bytes of log a `watch` connection may have pending before entries are skipped
    /// (`watcher_logbuf_size`).
    pub watcher_logbuf_size: u32,
    /// Values accepted for compatibility only.
    pub tuning: Tuning,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: vec!["127.0.0.1".into()],
            port: 11211,
            tcp: true,
            udp: false,
            udp_port: 0,
            unix_socket: None,
            unix_mask: 0o700,
            max_connections: 1024,
            maxconns_fast: true,
            idle_timeout: 0,
            threads: 4,
            io_uring: false,
            reqs_per_event: 20,
            backlog: 1024,
            protocol: Protocol::Auto,
            store: StoreConfig::default(),
            enable_shutdown: false,
            flush_enabled: true,
            dump_enabled: true,
            watch_enabled: true,
            lru_crawler: true,
            slab_reassign: true,
            verbosity: 0,
            prefix_delimiter: b':',
            detail_enabled: false,
            track_sizes: false,
            auth: Auth::None,
            tls: None,
            sock_mark: None,
            watcher_logbuf_size: 256 * 1024,
            tuning: Tuning::default(),
        }
    }
}

impl Config {
    /// A configuration for an in-process server on an ephemeral loopback port, as tests and
    /// the demo use.
    pub fn ephemeral() -> Config {
        Config {
            port: 0,
            threads: 2,
            ..Config::default()
        }
    }
}
