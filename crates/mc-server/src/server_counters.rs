//! Server-wide counters: the ones kept per connection event (atomics) and the per-command ones
//! kept beside the store under its lock.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Connection and traffic counters, shared by all threads.
#[derive(Debug)]
pub struct ConnectionStats {
    /// Open connections.
    pub curr_connections: AtomicU64,
    /// Connections accepted since start.
    pub total_connections: AtomicU64,
    /// Connections refused because of `-c`.
    pub rejected_connections: AtomicU64,
    /// Bytes read from clients.
    pub bytes_read: AtomicU64,
    /// Bytes written to clients.
    pub bytes_written: AtomicU64,
    /// Authentication attempts (SASL or `-Y`).
    pub auth_cmds: AtomicU64,
    /// Failed authentication attempts.
    pub auth_errors: AtomicU64,
    /// Times a connection stopped after `-R` requests to let others run.
    pub conn_yields: AtomicU64,
    /// Whether the listeners accept (false while `-c` is reached with `no_maxconns_fast`).
    pub accepting_conns: AtomicBool,
    /// Times accepting stopped because of `-c`.
    pub listen_disabled_num: AtomicU64,
    /// Microseconds spent not accepting.
    pub time_in_listen_disabled_us: AtomicU64,
    /// Read and write buffers lent to active connections.
    pub read_buf_count: AtomicU64,
    /// TLS handshakes that failed.
    pub ssl_handshake_errors: AtomicU64,
    /// TLS sessions created that clients may resume.
    pub ssl_new_sessions: AtomicU64,
    /// Server time the TLS certificate was last loaded.
    pub ssl_cert_loaded_at: AtomicU64,
    /// Connections closed for idling past `idle_timeout`.
    pub idle_kicks: AtomicU64,
}

impl Default for ConnectionStats {
    fn default() -> Self {
        ConnectionStats {
            curr_connections: AtomicU64::new(0),
            total_connections: AtomicU64::new(0),
            rejected_connections: AtomicU64::new(0),
            bytes_read: AtomicU64::new(0),
            bytes_written: AtomicU64::new(0),
            auth_cmds: AtomicU64::new(0),
            auth_errors: AtomicU64::new(0),
            conn_yields: AtomicU64::new(0),
            accepting_conns: AtomicBool::new(true),
            listen_disabled_num: AtomicU64::new(0),
            time_in_listen_disabled_us: AtomicU64::new(0),
            read_buf_count: AtomicU64::new(0),
            ssl_handshake_errors: AtomicU64::new(0),
            ssl_new_sessions: AtomicU64::new(0),
            ssl_cert_loaded_at: AtomicU64::new(0),
            idle_kicks: AtomicU64::new(0),
        }
    }
}

impl ConnectionStats {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// `stats reset`: zero the event counters (not the gauges such as open connections).
    pub(crate) fn reset(&self) {
        for counter in [
            &self.total_connections,
            &self.rejected_connections,
            &self.bytes_read,
            &self.bytes_written,
            &self.auth_cmds,
            &self.auth_errors,
            &self.conn_yields,
            &self.listen_disabled_num,
            &self.time_in_listen_disabled_us,
            &self.ssl_handshake_errors,
            &self.ssl_new_sessions,
            &self.idle_kicks,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
    }
}

/// Command counters, kept per worker thread (no atomics on the hot path) and added up by
/// `stats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct CommandStats {
    /// Keys requested by retrieval commands (memcached counts keys, not lines).
    pub cmd_get: u64,
    pub cmd_set: u64,
    pub cmd_flush: u64,
    pub cmd_touch: u64,
    pub cmd_meta: u64,
}

/// Gets answered with shared access to their shard ([`crate::storage::Store::read`]), which
/// cannot count in the shard: they are counted per thread, as memcached counts per thread, and
/// `stats` adds them to the store's own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadCounts {
    /// Hits.
    pub get_hits: u64,
    /// Misses.
    pub get_misses: u64,
    /// Hits per slab class (0-based), as far as a class had one.
    pub class_get_hits: Vec<u64>,
}

impl ReadCounts {
    /// Count a hit on an item of `class`.
    pub fn hit(&mut self, class: usize) {
        self.get_hits += 1;
        if self.class_get_hits.len() <= class {
            self.class_get_hits.resize(class + 1, 0);
        }
        self.class_get_hits[class] += 1;
    }

    /// Add another tally.
    pub fn merge(&mut self, other: &ReadCounts) {
        self.get_hits += other.get_hits;
        self.get_misses += other.get_misses;
        if self.class_get_hits.len() < other.class_get_hits.len() {
            self.class_get_hits.resize(other.class_get_hits.len(), 0);
        }
        for (mine, theirs) in self.class_get_hits.iter_mut().zip(&other.class_get_hits) {
            *mine += theirs;
        }
    }

    /// True when nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.get_hits == 0 && self.get_misses == 0
    }

    /// Zero the counts, keeping the memory.
    pub fn clear(&mut self) {
        self.get_hits = 0;
        self.get_misses = 0;
        self.class_get_hits.iter_mut().for_each(|n| *n = 0);
    }
}

/// What a worker thread counts: its commands and its shared reads.
#[derive(Debug, Default)]
pub struct ThreadCounts {
    /// Command counters.
    pub commands: CommandStats,
    /// Gets answered with shared access.
    pub reads: ReadCounts,
}

impl CommandStats {
    /// Add another thread's counters.
    pub fn merge(&mut self, other: &CommandStats) {
        self.cmd_get += other.cmd_get;
        self.cmd_set += other.cmd_set;
        self.cmd_flush += other.cmd_flush;
        self.cmd_touch += other.cmd_touch;
        self.cmd_meta += other.cmd_meta;
    }
}
