//! The log `watch` streams: memcached's event lines (`ts=… gid=… type=item_get key=…`),
//! formatted only when a watcher wants that kind of event, and queued per watcher in a buffer
//! of at most `watcher_logbuf_size` bytes. A watcher that reads too slowly loses lines, never
//! slows the server: the lost lines are counted and reported to it as `skipped=N`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use bytes::{BufMut, BytesMut};
use parking_lot::Mutex;

/// Event kinds, as `watch` names them.
pub(crate) mod kind {
    /// Reads: `type=item_get`.
    pub(crate) const FETCHERS: u32 = 1;
    /// Writes: `type=item_store`.
    pub(crate) const MUTATIONS: u32 = 1 << 1;
    /// Items evicted for room: `type=eviction`.
    pub(crate) const EVICTIONS: u32 = 1 << 2;
    /// Server events: `type=slab_move`.
    pub(crate) const SYSEVENTS: u32 = 1 << 3;
    /// Connections opened and closed: `type=conn_new`, `type=conn_close`.
    pub(crate) const CONNEVENTS: u32 = 1 << 4;
    /// Raw commands (memcached 1.6.18 defines the kind and logs nothing under it).
    pub(crate) const RAWCMDS: u32 = 1 << 5;
    /// memcached's proxy events (no proxy here: accepted, never logged).
    pub(crate) const PROXY: u32 = 1 << 6;

    /// The kind a `watch` argument names.
    pub(crate) fn parse(word: &[u8]) -> Option<u32> {
        Some(match word {
            b"rawcmds" => RAWCMDS,
            b"evictions" => EVICTIONS,
            b"fetchers" => FETCHERS,
            b"mutations" => MUTATIONS,
            b"sysevents" => SYSEVENTS,
            b"connevents" => CONNEVENTS,
            b"proxyreqs" | b"proxyevents" | b"proxyuser" => PROXY,
            _ => return None,
        })
    }
}

/// memcached's limit on simultaneous watchers.
pub(crate) const WATCHER_LIMIT: usize = 20;

/// Room kept for a `skipped=N` line.
const SKIP_LINE: usize = 128;

/// One `watch` connection's queue.
#[derive(Debug)]
pub(crate) struct Watcher {
    kinds: u32,
    limit: usize,
    pending: Mutex<Pending>,
    ready: tokio::sync::Notify,
}

#[derive(Debug, Default)]
struct Pending {
    bytes: Vec<u8>,
    skipped: u64,
}

impl Watcher {
    /// Take what is queued (empty when nothing is).
    pub(crate) fn take(&self) -> Vec<u8> {
        std::mem::take(&mut self.pending.lock().bytes)
    }

    /// Wait until something is queued.
    pub(crate) async fn ready(&self) {
        self.ready.notified().await;
    }
}

/// The server's event log.
#[derive(Debug)]
pub(crate) struct EventLog {
    /// The kinds some watcher wants: the one check on every event's path.
    wanted: AtomicU32,
    watchers: Mutex<Vec<Arc<Watcher>>>,
    gid: AtomicU64,
    buffer_limit: usize,
    /// Lines formatted (memcached's `log_worker_written`).
    pub(crate) written: AtomicU64,
    /// Lines a watcher lost because its buffer was full (`log_watcher_skipped`).
    pub(crate) skipped: AtomicU64,
    /// Lines queued to watchers (`log_watcher_sent`).
    pub(crate) sent: AtomicU64,
}

impl EventLog {
    /// A log whose watchers may each have `buffer_limit` bytes pending.
    pub(crate) fn new(buffer_limit: usize) -> EventLog {
        EventLog {
            wanted: AtomicU32::new(0),
            watchers: Mutex::new(Vec::new()),
            gid: AtomicU64::new(0),
            buffer_limit: buffer_limit.max(4 * 1024),
            written: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            sent: AtomicU64::new(0),
        }
    }

    /// True when some watcher wants events of `kind`.
    pub(crate) fn wants(&self, kind: u32) -> bool {
        self.wanted.load(Ordering::Relaxed) & kind != 0
    }

    /// Watchers attached now.
    pub(crate) fn watchers(&self) -> usize {
        self.watchers.lock().len()
    }

    /// Attach a watcher for `kinds`; its queue starts with `OK`. `None` at the limit.
    pub(crate) fn attach(&self, kinds: u32) -> Option<Arc<Watcher>> {
        let mut watchers = self.watchers.lock();
        if watchers.len() >= WATCHER_LIMIT {
            return None;
        }
        let watcher = Arc::new(Watcher {
            kinds,
            limit: self.buffer_limit,
            pending: Mutex::new(Pending {
                bytes: {
                    let mut ok = bytes::BytesMut::new();
                    mc_proto::Response::Ok.encode(&mut ok);
                    ok.to_vec()
                },
                skipped: 0,
            }),
            ready: tokio::sync::Notify::new(),
        });
        watcher.ready.notify_one();
        watchers.push(watcher.clone());
        self.wanted.fetch_or(kinds, Ordering::Relaxed);
        Some(watcher)
    }

    /// Detach a watcher (its connection closed).
    pub(crate) fn detach(&self, watcher: &Arc<Watcher>) {
        let mut watchers = self.watchers.lock();
        watchers.retain(|w| !Arc::ptr_eq(w, watcher));
        let kinds = watchers.iter().fold(0, |all, w| all | w.kinds);
        self.wanted.store(kinds, Ordering::Relaxed);
    }

    /// Log an event of `kind`: `body` writes what follows `ts=… gid=… ` (from `type=` on).
    /// Nothing is formatted when no watcher wants the kind.
    pub(crate) fn log(&self, kind: u32, body: impl FnOnce(&mut BytesMut)) {
        if !self.wants(kind) {
            return;
        }
        let gid = self.gid.fetch_add(1, Ordering::Relaxed);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let mut line = BytesMut::with_capacity(128);
        // memcached prints the microseconds without padding (`ts=1700000000.5123`).
        let _ = write!(
            line,
            "ts={}.{} gid={gid} ",
            now.as_secs(),
            now.subsec_micros()
        );
        body(&mut line);
        line.put_u8(b'\n');
        self.written.fetch_add(1, Ordering::Relaxed);
        for watcher in self.watchers.lock().iter() {
            if watcher.kinds & kind == 0 {
                continue;
            }
            let mut pending = watcher.pending.lock();
            if pending.bytes.len() + line.len() + SKIP_LINE > watcher.limit {
                pending.skipped += 1;
                self.skipped.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            if pending.skipped > 0 {
                let skipped = format!("skipped={}\n", pending.skipped);
                pending.bytes.extend_from_slice(skipped.as_bytes());
                pending.skipped = 0;
            }
            pending.bytes.extend_from_slice(&line);
            self.sent.fetch_add(1, Ordering::Relaxed);
            drop(pending);
            watcher.ready.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_wanted_kinds_are_formatted_and_a_slow_watcher_loses_lines_not_memory() {
        let log = EventLog::new(4096);
        let mut formatted = 0;
        log.log(kind::FETCHERS, |_| formatted += 1);
        assert_eq!(formatted, 0, "nobody watches: nothing is formatted");
        let watcher = log.attach(kind::FETCHERS).expect("a watcher");
        assert_eq!(watcher.take(), b"OK\r\n");
        log.log(kind::MUTATIONS, |l| l.put_slice(b"type=item_store"));
        assert!(
            watcher.take().is_empty(),
            "kinds it did not ask for are not sent"
        );
        for _ in 0..1000 {
            log.log(kind::FETCHERS, |l| l.put_slice(b"type=item_get key=k"));
        }
        let first = String::from_utf8(watcher.take()).expect("text");
        assert!(first.len() <= 4096);
        assert!(first.lines().all(|l| l.contains("type=item_get")));
        log.log(kind::FETCHERS, |l| l.put_slice(b"type=item_get key=after"));
        let next = String::from_utf8(watcher.take()).expect("text");
        assert!(next.starts_with("skipped="), "{next}");
        assert!(log.skipped.load(Ordering::Relaxed) > 0);
        log.detach(&watcher);
        assert!(!log.wants(kind::FETCHERS));
    }

    #[test]
    fn at_most_twenty_watchers() {
        let log = EventLog::new(4096);
        let all: Vec<_> = (0..WATCHER_LIMIT)
            .map(|_| log.attach(kind::FETCHERS).expect("room"))
            .collect();
        assert!(log.attach(kind::FETCHERS).is_none());
        log.detach(&all[0]);
        assert!(log.attach(kind::FETCHERS).is_some());
    }
}
