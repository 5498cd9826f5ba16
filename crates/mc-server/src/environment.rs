//! What commands read besides the store: the clock, the configuration, the connection
//! counters, the settings commands change, the event log, the connection registry and the
//! crawler's mailbox. None of it needs a store shard's lock, and nothing here leads back to
//! one, so a command can never deadlock by reaching for the shard it has locked.

use std::sync::Arc;

use crate::auth::Credentials;
use crate::background_crawler::Crawler;
use crate::clock::Clock;
use crate::config::Config;
use crate::conn_registry::ConnRegistry;
use crate::event_log::EventLog;
use crate::runtime_settings::RuntimeSettings;
use crate::server_counters::ConnectionStats;
use crate::tls_config::TlsContext;

/// The server-wide state that lives outside the store shards.
#[derive(Debug)]
pub(crate) struct Environment {
    pub(crate) clock: Clock,
    pub(crate) config: Config,
    pub(crate) conn_stats: ConnectionStats,
    /// Settings commands change at run time (verbosity among them).
    pub(crate) runtime: RuntimeSettings,
    /// What `watch` streams.
    pub(crate) events: EventLog,
    /// Open connections, for `stats conns`.
    pub(crate) conns: ConnRegistry,
    /// The LRU crawler's mailbox.
    pub(crate) crawler: Crawler,
    /// Who may authenticate (`-Y`, `-S`); empty without authentication.
    pub(crate) credentials: Credentials,
    /// TLS (`-Z`), reloaded by `refresh_certs`.
    pub(crate) tls: Option<Arc<TlsContext>>,
    /// Set by a graceful stop (`shutdown graceful`, SIGUSR1): with `-e`, the cache is saved
    /// once every thread has stopped.
    pub(crate) save_on_stop: std::sync::atomic::AtomicBool,
}

impl Environment {
    /// An environment for `config`, with no credentials loaded.
    pub(crate) fn new(config: Config) -> Environment {
        Environment::with_credentials(config, Credentials::default())
    }

    /// An environment whose clients authenticate against `credentials`.
    pub(crate) fn with_credentials(config: Config, credentials: Credentials) -> Environment {
        Environment::with_security(config, credentials, None)
    }

    /// An environment with credentials and TLS.
    pub(crate) fn with_security(
        config: Config,
        credentials: Credentials,
        tls: Option<Arc<TlsContext>>,
    ) -> Environment {
        Environment {
            save_on_stop: std::sync::atomic::AtomicBool::new(false),
            tls,
            credentials,
            clock: Clock::new(),
            conn_stats: ConnectionStats::default(),
            runtime: RuntimeSettings::new(&config),
            events: EventLog::new(config.watcher_logbuf_size as usize),
            conns: ConnRegistry::default(),
            crawler: Crawler::default(),
            config,
        }
    }
}
