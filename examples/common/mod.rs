//! What every example shares: where the server is.
//!
//! `--server HOST:PORT` uses a running memcached (or mc-server); without it an embedded
//! mc-server is started on an ephemeral loopback port, so every example runs out of the box.
#![allow(dead_code)]

use mc_server::{Config, RunningServer};

/// The servers an example talks to, and the embedded ones it started (stopped on drop).
pub struct Servers {
    /// `host:port` of each server.
    pub addrs: Vec<String>,
    _embedded: Vec<RunningServer>,
}

/// `--server ADDR` (repeatable, or comma separated), else `count` embedded servers.
pub fn servers(count: usize) -> Servers {
    let args: Vec<String> = std::env::args().collect();
    let given: Vec<String> = args
        .windows(2)
        .filter(|w| w[0] == "--server")
        .flat_map(|w| w[1].split(',').map(str::to_string).collect::<Vec<_>>())
        .collect();
    if !given.is_empty() {
        return Servers {
            addrs: given,
            _embedded: Vec::new(),
        };
    }
    let embedded: Vec<RunningServer> = (0..count)
        .map(|_| RunningServer::start(Config::ephemeral()).expect("start an embedded mc-server"))
        .collect();
    let addrs = embedded
        .iter()
        .map(|s| s.local_addr().expect("a TCP address").to_string())
        .collect();
    println!(
        "(embedded mc-server: {addrs:?})",
        addrs = embedded
            .iter()
            .map(|s| s.local_addr().expect("addr").to_string())
            .collect::<Vec<_>>()
    );
    Servers {
        addrs,
        _embedded: embedded,
    }
}

/// One server.
pub fn server() -> Servers {
    servers(1)
}
