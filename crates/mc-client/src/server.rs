//! Server specifications and the per-server state: connections and liveness.

use std::fmt;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::connection::Connection;
use crate::error::Result;

/// Where a server listens.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ServerAddr {
    /// `host:port`.
    Tcp(String),
    /// A Unix socket path.
    Unix(PathBuf),
}

impl fmt::Display for ServerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerAddr::Tcp(host) => f.write_str(host),
            ServerAddr::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// A server and its weight, as python-memcached takes them: `"host:port"`, `"unix:/path"`, or
/// `("host:port", weight)`. A missing port means 11211.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSpec {
    /// The address.
    pub addr: ServerAddr,
    /// Relative share of the keys.
    pub weight: u32,
}

impl ServerSpec {
    /// Parse `host[:port]` or `unix:/path`, weight 1.
    pub fn parse(text: &str) -> ServerSpec {
        let addr = match text.strip_prefix("unix:") {
            Some(path) => ServerAddr::Unix(PathBuf::from(path)),
            None if text
                .rsplit_once(':')
                .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
                && !text.ends_with(']') =>
            {
                ServerAddr::Tcp(text.to_string())
            }
            None => ServerAddr::Tcp(format!("{text}:11211")),
        };
        ServerSpec { addr, weight: 1 }
    }

    /// Host and port for ketama point names (a Unix socket uses its path and port 0).
    pub(crate) fn host_port(&self) -> (String, u16) {
        match &self.addr {
            ServerAddr::Tcp(hp) => match hp.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), p.parse().unwrap_or(11211)),
                None => (hp.clone(), 11211),
            },
            ServerAddr::Unix(path) => (path.display().to_string(), 0),
        }
    }
}

impl From<&str> for ServerSpec {
    fn from(text: &str) -> Self {
        ServerSpec::parse(text)
    }
}

impl From<String> for ServerSpec {
    fn from(text: String) -> Self {
        ServerSpec::parse(&text)
    }
}

impl From<(&str, u32)> for ServerSpec {
    fn from((text, weight): (&str, u32)) -> Self {
        ServerSpec {
            weight,
            ..ServerSpec::parse(text)
        }
    }
}

impl From<(String, u32)> for ServerSpec {
    fn from((text, weight): (String, u32)) -> Self {
        ServerSpec {
            weight,
            ..ServerSpec::parse(&text)
        }
    }
}

/// One server's connections and liveness.
#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) spec: ServerSpec,
    pub(crate) name: String,
    slots: Vec<tokio::sync::Mutex<Option<Connection>>>,
    next: std::sync::atomic::AtomicUsize,
    dead_until: Mutex<Option<Instant>>,
}

impl Node {
    pub(crate) fn new(spec: ServerSpec, connections: usize) -> Node {
        Node {
            name: spec.addr.to_string(),
            spec,
            slots: (0..connections.max(1))
                .map(|_| tokio::sync::Mutex::new(None))
                .collect(),
            next: std::sync::atomic::AtomicUsize::new(0),
            dead_until: Mutex::new(None),
        }
    }

    /// python-memcached's `_check_dead`: a dead server is retried once `dead_retry` has passed.
    pub(crate) fn is_alive(&self) -> bool {
        let mut dead = self.dead_until.lock().unwrap_or_else(|e| e.into_inner());
        match *dead {
            Some(until) if Instant::now() < until => false,
            Some(_) => {
                *dead = None;
                true
            }
            None => true,
        }
    }

    pub(crate) fn mark_dead(&self, dead_retry: Duration) {
        tracing::warn!("marking {} dead for {dead_retry:?}", self.name);
        *self.dead_until.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(Instant::now() + dead_retry);
        self.drop_connections();
    }

    /// Close the connections (they reopen on the next request): after an answer that cannot be
    /// trusted, nothing more is read from them.
    pub(crate) fn drop_connections(&self) {
        for slot in &self.slots {
            if let Ok(mut conn) = slot.try_lock() {
                if let Some(c) = conn.take() {
                    c.close();
                }
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
        let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % self.slots.len();
        // The slot stays locked while a connection is opened (bounded by the connect
        // timeout): tasks that meet a missing connection wait for that one instead of each
        // opening their own.
        let mut slot = self.slots[i].lock().await;
        if let Some(conn) = slot.as_ref() {
            if !conn.is_broken() {
                return Ok(conn.clone());
            }
        }
        let conn = Connection::open(&self.spec.addr, connect_timeout, max_value).await?;
        *slot = Some(conn.clone());
        Ok(conn)
    }

    pub(crate) async fn disconnect(&self) {
        for slot in &self.slots {
            if let Some(conn) = slot.lock().await.take() {
                conn.close();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_like_python_memcached() {
        assert_eq!(
            ServerSpec::from("127.0.0.1:11212").addr,
            ServerAddr::Tcp("127.0.0.1:11212".into())
        );
        assert_eq!(
            ServerSpec::from("cache").addr,
            ServerAddr::Tcp("cache:11211".into())
        );
        assert_eq!(
            ServerSpec::from("unix:/tmp/mc.sock").addr,
            ServerAddr::Unix("/tmp/mc.sock".into())
        );
        assert_eq!(ServerSpec::from(("10.0.0.1:11211", 4)).weight, 4);
    }
}
