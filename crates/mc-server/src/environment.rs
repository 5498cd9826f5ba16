//! What commands read besides the store: the clock, the configuration, the connection
//! counters and the verbosity. None of it needs the store lock, and nothing here leads back
//! to it, so a command can never deadlock by reaching for the lock it runs under.

use std::sync::atomic::AtomicU32;

use crate::clock::Clock;
use crate::config::Config;
use crate::stats::ConnectionStats;

/// The server-wide state that lives outside the store lock.
#[derive(Debug)]
pub(crate) struct Environment {
    pub(crate) clock: Clock,
    pub(crate) config: Config,
    pub(crate) conn_stats: ConnectionStats,
    /// The current `-v` level (the `verbosity` command changes it).
    pub(crate) verbosity: AtomicU32,
}

impl Environment {
    pub(crate) fn new(config: Config) -> Environment {
        Environment {
            clock: Clock::new(),
            conn_stats: ConnectionStats::default(),
            verbosity: AtomicU32::new(config.verbosity),
            config,
        }
    }
}
