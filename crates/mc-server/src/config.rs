//! Server configuration, independent of how it was given (command line or code).

use std::path::PathBuf;

use crate::storage::StoreConfig;

/// Everything a server needs to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Addresses to listen on (host names or IPs); each gets `port`.
    pub listen: Vec<String>,
    /// TCP port; 0 picks a free one (see [`crate::RunningServer::local_addrs`]).
    pub port: u16,
    /// A Unix socket to listen on instead of TCP (`-s`).
    pub unix_socket: Option<PathBuf>,
    /// Most simultaneous connections (`-c`).
    pub max_connections: usize,
    /// Worker threads, each running its own event loop (`-t`).
    pub threads: usize,
    /// Storage sizing and policy (`-m`, `-I`, `-M`).
    pub store: StoreConfig,
    /// Allow the `shutdown` command (`-A`).
    pub enable_shutdown: bool,
    /// Logging verbosity (`-v`, `-vv`, `-vvv`), also changed by the `verbosity` command.
    pub verbosity: u32,
    /// Listen backlog (`-b`).
    pub backlog: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: vec!["127.0.0.1".into()],
            port: 11211,
            unix_socket: None,
            max_connections: 1024,
            threads: 4,
            store: StoreConfig::default(),
            enable_shutdown: false,
            verbosity: 0,
            backlog: 1024,
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
