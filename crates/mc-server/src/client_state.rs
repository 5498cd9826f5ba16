//! What the server knows about the client on one connection, beyond its requests: its id
//! (the socket's descriptor, as memcached names connections in logs), its entry in `stats
//! conns`, whether it has authenticated, and the log it watches.

use std::sync::Arc;

use crate::conn_registry::ConnInfo;
use crate::event_log::Watcher;

/// One connection's client.
#[derive(Debug, Default)]
pub(crate) struct ClientState {
    /// The connection's id in logs and `stats conns`.
    pub(crate) id: i32,
    /// Its `stats conns` entry (none for the socket-free harness).
    pub(crate) info: Option<Arc<ConnInfo>>,
    /// Authenticated (always, when the server asks for no authentication).
    pub(crate) authenticated: bool,
    /// Set by `watch`: the connection now streams this log.
    pub(crate) watcher: Option<Arc<Watcher>>,
}
