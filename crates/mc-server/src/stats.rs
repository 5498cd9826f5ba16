//! Server-wide counters: the ones kept per connection event (atomics) and the per-command ones
//! kept beside the store under its lock.

use std::sync::atomic::{AtomicU64, Ordering};

/// Connection and traffic counters, shared by all threads.
#[derive(Debug, Default)]
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
}

impl ConnectionStats {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// Command counters, updated while the store lock is held (no atomics on the hot path).
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
