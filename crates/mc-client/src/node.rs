//! One server's connection slots and liveness: python-memcached's dead-server rule (a server
//! that fails is left alone for `dead_retry`), and connections opened on demand and replaced
//! when they break.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::address::ServerSpec;
use crate::client_error::Result;
use crate::pipeline::Connection;

/// A place for one connection. The connection itself sits behind a short blocking lock, so it
/// can always be taken out and closed; opening one is serialized by an async lock held across
/// the connect, so tasks that find the slot empty wait for that connection rather than each
/// opening their own.
#[derive(Debug, Default)]
struct Slot {
    current: Mutex<Option<Connection>>,
    opening: tokio::sync::Mutex<()>,
}

impl Slot {
    fn live(&self) -> Option<Connection> {
        let current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        current.as_ref().filter(|c| !c.is_broken()).cloned()
    }

    fn take(&self) -> Option<Connection> {
        self.current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    fn put(&self, conn: Connection) {
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(conn);
    }
}

/// One server's connections and liveness.
#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) spec: ServerSpec,
    pub(crate) name: String,
    slots: Vec<Slot>,
    next: AtomicUsize,
    /// When a dead server may be tried again, as nanoseconds after [`epoch`] (at least 1);
    /// 0 while it is alive. Atomic because every key routed reads it: a live server costs
    /// one load, no lock and no clock.
    dead_until: AtomicU64,
}

/// The instant `dead_until` counts from.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Nanoseconds from [`epoch`] to `at` (saturating).
fn nanos_since_epoch(at: Instant) -> u64 {
    u64::try_from(at.saturating_duration_since(epoch()).as_nanos()).unwrap_or(u64::MAX)
}

impl Node {
    pub(crate) fn new(spec: ServerSpec, connections: usize) -> Node {
        Node {
            name: spec.addr.to_string(),
            spec,
            slots: (0..connections.max(1)).map(|_| Slot::default()).collect(),
            next: AtomicUsize::new(0),
            dead_until: AtomicU64::new(0),
        }
    }

    /// python-memcached's `_check_dead`: a dead server is retried once `dead_retry` has passed.
    pub(crate) fn is_alive(&self) -> bool {
        let until = self.dead_until.load(Ordering::Acquire);
        if until == 0 {
            return true;
        }
        if nanos_since_epoch(Instant::now()) < until {
            return false;
        }
        // Its time is up: alive again (unless it was marked dead anew meanwhile).
        let _ = self
            .dead_until
            .compare_exchange(until, 0, Ordering::AcqRel, Ordering::Acquire);
        true
    }

    pub(crate) fn mark_dead(&self, dead_retry: Duration) {
        tracing::warn!("marking {} dead for {dead_retry:?}", self.name);
        // A `dead_retry` past what an `Instant` can hold means "until the process ends".
        let until = Instant::now()
            .checked_add(dead_retry)
            .map_or(u64::MAX, nanos_since_epoch)
            .max(1);
        self.dead_until.store(until, Ordering::Release);
        self.drop_connections();
    }

    /// Close every connection (they reopen on the next request), including one in use by
    /// other tasks: after an answer that cannot be trusted, nothing more is read from them.
    pub(crate) fn drop_connections(&self) {
        for slot in &self.slots {
            if let Some(conn) = slot.take() {
                conn.close();
            }
        }
    }

    /// A live connection, opened if needed. Requests are spread over the slots round robin;
    /// each connection pipelines whatever is sent through it.
    pub(crate) async fn connection(
        &self,
        connect_timeout: Duration,
        max_value: usize,
    ) -> Result<Connection> {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
        let slot = &self.slots[i];
        if let Some(conn) = slot.live() {
            return Ok(conn);
        }
        // Held across the connect (bounded by the connect timeout): one opener per slot.
        let _opening = slot.opening.lock().await;
        if let Some(conn) = slot.live() {
            return Ok(conn);
        }
        let conn = Connection::open(&self.spec.addr, connect_timeout, max_value).await?;
        slot.put(conn.clone());
        Ok(conn)
    }

    pub(crate) async fn disconnect(&self) {
        self.drop_connections();
    }
}
