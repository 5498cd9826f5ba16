//! What a client is configured with, and the small types its operations take and return.

use std::time::Duration;

use crate::distribution::Distribution;

/// Client settings; the defaults are python-memcached's.
#[derive(Debug, Clone)]
pub struct Options {
    /// Time to establish a connection (python-memcached: the socket timeout, 3 s).
    pub connect_timeout: Duration,
    /// Time to wait for an answer (python-memcached's socket timeout, 3 s).
    pub io_timeout: Duration,
    /// How long a failed server is left alone before it is tried again (30 s).
    pub dead_retry: Duration,
    /// Remember CAS uniques from `gets` for later `cas` calls.
    pub cache_cas: bool,
    /// Prepended to every key (and removed from the keys `get_multi` returns).
    pub key_prefix: String,
    /// Longest key accepted, prefix included (250).
    pub max_key_length: usize,
    /// Largest value sent (1 MiB, memcached's default item size).
    pub max_value_length: usize,
    /// Compress values longer than this with zlib (0: never), as python-memcached's
    /// `min_compress_len`.
    pub min_compress_len: usize,
    /// How keys are spread over servers.
    pub distribution: Distribution,
    /// Connections per server; each pipelines the requests of every task using it. One
    /// connection batches best (measured: 64 tasks get 20% more done than over two); more help
    /// when large values would otherwise delay small ones.
    pub connections_per_server: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            connect_timeout: Duration::from_secs(3),
            io_timeout: Duration::from_secs(3),
            dead_retry: Duration::from_secs(30),
            cache_cas: false,
            key_prefix: String::new(),
            max_key_length: mc_proto::KEY_MAX_LENGTH,
            max_value_length: 1024 * 1024,
            min_compress_len: 0,
            distribution: Distribution::Modula,
            connections_per_server: 1,
        }
    }
}

/// A value read by [`crate::Client::gat_meta`], with its metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched<T> {
    /// The value.
    pub value: T,
    /// Its CAS unique.
    pub cas: u64,
    /// The lifetime it had left before this request (`None`: it never expires).
    pub ttl_left: Option<Duration>,
}

/// An expiry: seconds (0 = never, up to 30 days relative, larger a Unix time) or a duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Expiry(pub i32);

impl From<i32> for Expiry {
    fn from(seconds: i32) -> Self {
        Expiry(seconds)
    }
}

impl From<u32> for Expiry {
    fn from(seconds: u32) -> Self {
        Expiry(i32::try_from(seconds).unwrap_or(i32::MAX))
    }
}

impl From<Duration> for Expiry {
    fn from(d: Duration) -> Self {
        Expiry(i32::try_from(d.as_secs()).unwrap_or(i32::MAX))
    }
}
