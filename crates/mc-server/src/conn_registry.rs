//! The open connections and listeners, for `stats conns`: address, state, idle time.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, AtomicU8, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

/// What a connection is doing, with memcached's state names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum ConnState {
    /// Waiting for a request.
    Waiting = 0,
    /// Reading a request.
    Read = 1,
    /// Running requests.
    ParseCmd = 2,
    /// Writing answers.
    Write = 3,
    /// Streaming the event log (`watch`).
    Watch = 4,
}

impl ConnState {
    fn name(code: u8) -> &'static str {
        match code {
            0 => "conn_waiting",
            1 => "conn_read",
            2 => "conn_parse_cmd",
            3 => "conn_mwrite",
            _ => "conn_watch",
        }
    }
}

/// One open connection.
#[derive(Debug)]
pub(crate) struct ConnInfo {
    /// Its id: the socket's file descriptor, as memcached reports it.
    pub(crate) id: i32,
    /// `tcp:<ip>:<port>`, `udp:…` or `unix:<path>` of the peer.
    pub(crate) peer: String,
    /// The listener it came through, same form.
    pub(crate) local: String,
    state: AtomicU8,
    /// Server time of its last request.
    last_cmd: AtomicU32,
}

impl ConnInfo {
    /// Record what the connection does now.
    pub(crate) fn set_state(&self, state: ConnState) {
        self.state.store(state as u8, Ordering::Relaxed);
    }

    /// Record a request at server time `now`.
    pub(crate) fn touch(&self, now: u32) {
        self.last_cmd.store(now, Ordering::Relaxed);
    }
}

/// A `stats conns` line group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConnLine {
    pub(crate) id: i32,
    pub(crate) addr: String,
    pub(crate) listen_addr: Option<String>,
    pub(crate) state: &'static str,
    pub(crate) secs_since_last_cmd: u32,
}

/// Every open connection and listener.
#[derive(Debug, Default)]
pub(crate) struct ConnRegistry {
    conns: Mutex<BTreeMap<i32, Arc<ConnInfo>>>,
    listeners: Mutex<Vec<(i32, String)>>,
}

impl ConnRegistry {
    /// Record a listening socket.
    pub(crate) fn add_listener(&self, id: i32, addr: String) {
        self.listeners.lock().push((id, addr));
    }

    /// Listening sockets.
    pub(crate) fn listener_count(&self) -> u64 {
        self.listeners.lock().len() as u64
    }

    /// Record a new connection at server time `now`.
    pub(crate) fn open(&self, id: i32, peer: String, local: String, now: u32) -> Arc<ConnInfo> {
        let info = Arc::new(ConnInfo {
            id,
            peer,
            local,
            state: AtomicU8::new(ConnState::Waiting as u8),
            last_cmd: AtomicU32::new(now),
        });
        self.conns.lock().insert(id, info.clone());
        info
    }

    /// Forget a closed connection.
    pub(crate) fn close(&self, info: &Arc<ConnInfo>) {
        let mut conns = self.conns.lock();
        if conns.get(&info.id).is_some_and(|c| Arc::ptr_eq(c, info)) {
            conns.remove(&info.id);
        }
    }

    /// Up to `max` lines, listeners first, then connections with an id of at least `from`;
    /// returns them and the id to go on from, if any are left.
    pub(crate) fn lines(
        &self,
        from: Option<i32>,
        max: usize,
        now: u32,
    ) -> (Vec<ConnLine>, Option<i32>) {
        let mut lines = Vec::new();
        if from.is_none() {
            for (id, addr) in self.listeners.lock().iter() {
                lines.push(ConnLine {
                    id: *id,
                    addr: addr.clone(),
                    listen_addr: None,
                    state: "conn_listening",
                    secs_since_last_cmd: 0,
                });
            }
        }
        let conns = self.conns.lock();
        let mut range = conns.range(from.unwrap_or(i32::MIN)..);
        for (_, info) in range.by_ref().take(max) {
            lines.push(ConnLine {
                id: info.id,
                addr: info.peer.clone(),
                listen_addr: Some(info.local.clone()),
                state: ConnState::name(info.state.load(Ordering::Relaxed)),
                secs_since_last_cmd: now.saturating_sub(info.last_cmd.load(Ordering::Relaxed)),
            });
        }
        let next = range.next().map(|(id, _)| *id);
        (lines, next)
    }
}
