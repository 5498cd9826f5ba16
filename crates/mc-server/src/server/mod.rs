//! The network layer: listeners, worker event loops, connections.
//!
//! One acceptor thread hands accepted connections to `-t` worker threads (see `worker` for how
//! they are scheduled). Each connection moves bytes between its socket and its
//! [`crate::executor::Executor`]; the store and its shard locks live in
//! [`crate::store_shards`], out of this layer.

mod connection;
mod listen_address;
mod listener;
mod stream;
mod transport;
mod udp;
#[cfg(target_os = "linux")]
mod uring_stream;
mod worker;

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::sync::watch;

use crate::auth::Credentials;
use crate::config::{Auth, Config};
use crate::environment::Environment;
use crate::restart_file;
use crate::server_counters::ConnectionStats;
use crate::store_shards::StoreShards;
use crate::tls_config::TlsContext;
use listen_address::ListenAddress;

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A listen address did not resolve.
    #[error("cannot resolve listen address {address:?}: {source}")]
    Resolve {
        /// The address as given.
        address: String,
        /// The resolver's error.
        source: std::io::Error,
    },
    /// Binding a socket failed (port in use, permission...).
    #[error("failed to listen on {address}: {source}")]
    Bind {
        /// What we tried to bind.
        address: String,
        /// The system's error.
        source: std::io::Error,
    },
    /// A thread or runtime could not be created.
    #[error("cannot start the server: {0}")]
    Runtime(#[from] std::io::Error),
    /// The `-Y` file or the SASL password database cannot be used.
    #[error("{0}")]
    Credentials(#[from] crate::auth::CredentialsError),
    /// The TLS certificate, key or CA file cannot be used.
    #[error("{0}")]
    Tls(#[from] crate::tls_config::TlsError),
    /// `-o io_uring` was asked for and the kernel refuses an io_uring (too old, not Linux, or
    /// forbidden by a sandbox such as a container's system call filter).
    #[error("-o io_uring: this system refuses an io_uring ({0}); start without -o io_uring")]
    IoUring(std::io::Error),
}

/// Whether `-o io_uring` ([`Config::io_uring`]) can work here: Ok when this process can make an
/// io_uring, else the system's refusal (not Linux, an old kernel, a sandbox that filters the
/// system call). [`Server::bind`] makes the same check and refuses to start on failure.
pub fn io_uring_available() -> std::io::Result<()> {
    worker::check_io_uring()
}

/// What every thread of a server shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) store: StoreShards,
    pub(crate) env: Environment,
    pub(crate) shutdown: watch::Sender<bool>,
    /// Signalled whenever a connection ends (the acceptor waits for it with
    /// `no_maxconns_fast`).
    pub(crate) slot_freed: tokio::sync::Notify,
}

impl Shared {
    pub(crate) fn new(
        config: Config,
        credentials: Credentials,
        tls: Option<Arc<TlsContext>>,
    ) -> Arc<Shared> {
        let (shutdown, _) = watch::channel(false);
        // A restart file's keys must land in the shards they were saved from.
        let seeds = config
            .tuning
            .memory_file
            .as_deref()
            .and_then(restart_file::saved_seeds);
        let store = StoreShards::for_config(&config, seeds);
        tracing::debug!("the cache is cut into {} shards", store.shard_count());
        Arc::new(Shared {
            store,
            env: Environment::with_security(config, credentials, tls),
            shutdown,
            slot_freed: tokio::sync::Notify::new(),
        })
    }

    pub(crate) fn stopping(&self) -> bool {
        *self.shutdown.borrow()
    }

    pub(crate) fn request_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// Stop, saving the cache first when it is restartable (`-e`).
    pub(crate) fn request_graceful_shutdown(&self) {
        self.env.save_on_stop.store(true, Ordering::Relaxed);
        self.request_shutdown();
    }

    /// The settings a restart file must match.
    fn restart_settings(&self) -> restart_file::Settings {
        restart_file::Settings {
            max_bytes: self.env.config.store.max_bytes as u64,
            item_size_max: self.env.config.store.max_item_size as u64,
        }
    }

    /// With `-e PATH`, put back what the last graceful stop saved there. Whatever happens,
    /// one line says it: info when items came back or there was nothing to restore, warn
    /// when a file was there and could not be trusted (the cache then starts empty).
    fn restore_cache(&self) {
        let Some(path) = &self.env.config.tuning.memory_file else {
            return;
        };
        let settings = self.restart_settings();
        match restart_file::restore(&self.store, &self.env.clock, settings, path) {
            Ok(done) => tracing::info!(
                "restored {} items from {} in {:.2} s ({} expired while down, {} not kept)",
                done.items,
                path.display(),
                done.seconds,
                done.expired,
                done.dropped
            ),
            Err(refused @ restart_file::Refused::Missing(_)) => tracing::info!("{refused}"),
            Err(refused) => tracing::warn!("{refused}"),
        }
    }

    /// With `-e PATH` and after a graceful stop, once nothing else touches the cache: save it.
    fn save_cache(&self) {
        let Some(path) = &self.env.config.tuning.memory_file else {
            return;
        };
        if !self.env.save_on_stop.load(Ordering::Relaxed) {
            tracing::info!(
                "not a graceful stop (SIGUSR1 or `shutdown graceful`): the cache is not saved to {}",
                path.display()
            );
            return;
        }
        match restart_file::save(&self.store, &self.env.clock, self.restart_settings(), path) {
            Ok(saved) => tracing::info!(
                "saved {} items to {} ({} bytes) in {:.2} s",
                saved.items,
                path.display(),
                saved.bytes,
                saved.seconds
            ),
            Err(e) => tracing::error!("could not save the cache to {}: {e}", path.display()),
        }
    }

    /// Count a new connection against `-c`; the slot is given back when the returned guard is
    /// dropped, however the connection ends (a panic in its task included). `None` when the
    /// limit is reached.
    pub(crate) fn admit(self: &Arc<Shared>) -> Option<ConnectionSlot> {
        let stats = &self.env.conn_stats;
        let limit = self.env.config.max_connections as u64;
        let admitted = stats
            .curr_connections
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |open| {
                (open < limit).then_some(open + 1)
            })
            .is_ok();
        if !admitted {
            ConnectionStats::add(&stats.rejected_connections, 1);
            return None;
        }
        ConnectionStats::add(&stats.total_connections, 1);
        Some(ConnectionSlot(self.clone()))
    }
}

/// One open connection's place in the `-c` count.
#[derive(Debug)]
pub(crate) struct ConnectionSlot(Arc<Shared>);

impl ConnectionSlot {
    /// The server this connection belongs to.
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.0
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.0
            .env
            .conn_stats
            .curr_connections
            .fetch_sub(1, Ordering::Relaxed);
        self.0.slot_freed.notify_waiters();
    }
}

/// A bound listening socket.
#[derive(Debug)]
pub(crate) enum Listener {
    /// With its `stats conns` name (`tcp:127.0.0.1:11211`) and whether it serves TLS.
    Tcp(std::net::TcpListener, String, bool),
    /// A UDP socket (`-U`), with its name.
    Udp(std::net::UdpSocket, String),
    /// With the path to remove at exit and its name (`unix:/path`).
    Unix(std::os::unix::net::UnixListener, PathBuf, String),
}

/// A server whose sockets are bound but which does not serve yet. Binding first lets the
/// binary report errors, daemonize and drop privileges before any thread starts.
#[derive(Debug)]
pub struct Server {
    listeners: Vec<Listener>,
    shared: Arc<Shared>,
}

impl Server {
    /// Bind every configured address.
    pub fn bind(config: Config) -> Result<Server, ServerError> {
        if config.io_uring {
            worker::check_io_uring().map_err(ServerError::IoUring)?;
        }
        let credentials = match &config.auth {
            Auth::None => Credentials::default(),
            Auth::Ascii { file } => Credentials::load(file)?,
            Auth::Sasl { pwdb } => Credentials::load(pwdb)?,
        };
        let tls = match &config.tls {
            Some(settings) => Some(Arc::new(TlsContext::load(settings)?)),
            None => None,
        };
        let mut listeners = Vec::new();
        if let Some(path) = &config.unix_socket {
            // A stale socket file from an earlier run would make bind fail.
            let _ = std::fs::remove_file(path);
            let listener = std::os::unix::net::UnixListener::bind(path).map_err(|source| {
                ServerError::Bind {
                    address: path.display().to_string(),
                    source,
                }
            })?;
            // memcached's -a: the socket's permission bits (0700 unless told otherwise).
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(config.unix_mask))
                .map_err(|source| ServerError::Bind {
                    address: path.display().to_string(),
                    source,
                })?;
            listener.set_nonblocking(true)?;
            let name = format!("unix:{}", path.display());
            listeners.push(Listener::Unix(listener, path.clone(), name));
        } else {
            for entry in &config.listen {
                let spec = ListenAddress::parse(entry);
                if config.tcp {
                    for addr in resolve(&spec.host, spec.port.unwrap_or(config.port))? {
                        let listener = bind_tcp(addr, config.backlog, config.sock_mark)?;
                        let name = format!("tcp:{}", listener.local_addr()?);
                        let serves_tls = tls.is_some() && !spec.no_tls;
                        listeners.push(Listener::Tcp(listener, name, serves_tls));
                    }
                }
                if config.udp {
                    for addr in resolve(&spec.host, config.udp_port)? {
                        let socket = bind_udp(addr, config.sock_mark)?;
                        let name = format!("udp:{}", socket.local_addr()?);
                        listeners.push(Listener::Udp(socket, name));
                    }
                }
            }
        }
        let loaded = Shared::new(config, credentials, tls);
        loaded
            .env
            .conn_stats
            .ssl_cert_loaded_at
            .store(u64::from(loaded.env.clock.now()), Ordering::Relaxed);
        Ok(Server {
            listeners,
            shared: loaded,
        })
    }

    /// The TCP addresses actually bound (with the real port when 0 was asked for).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter_map(|l| match l {
                Listener::Tcp(t, ..) => t.local_addr().ok(),
                Listener::Unix(..) | Listener::Udp(..) => None,
            })
            .collect()
    }

    /// The UDP addresses bound (`-U`).
    pub fn udp_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter_map(|l| match l {
                Listener::Udp(u, _) => u.local_addr().ok(),
                _ => None,
            })
            .collect()
    }

    /// The lines memcached writes to `MEMCACHED_PORT_FILENAME`: one per listening socket,
    /// `TCP INET: 11211` or `TCP INET6: 11211`.
    pub fn port_lines(&self) -> Vec<String> {
        let line = |transport: &str, addr: &SocketAddr| {
            let family = if addr.is_ipv6() { "INET6" } else { "INET" };
            format!("{transport} {family}: {}", addr.port())
        };
        let tcp = self.local_addrs();
        let udp = self.udp_addrs();
        tcp.iter()
            .map(|a| line("TCP", a))
            .chain(udp.iter().map(|a| line("UDP", a)))
            .collect()
    }

    /// Restore the cache from the restart file (`-e`), if there is one, then start the worker
    /// threads and the acceptor.
    pub fn start(self) -> Result<RunningServer, ServerError> {
        // The restart file is read here, not when binding: after a bind that failed it is left
        // for the next start, and the binary catches signals before this (a SIGTERM during a
        // long restore still stops cleanly once it is done).
        self.shared.restore_cache();
        let addrs = self.local_addrs();
        let unix_paths: Vec<PathBuf> = self
            .listeners
            .iter()
            .filter_map(|l| match l {
                Listener::Unix(_, p, _) => Some(p.clone()),
                Listener::Tcp(..) | Listener::Udp(..) => None,
            })
            .collect();
        let (udp, streams): (Vec<Listener>, Vec<Listener>) = self
            .listeners
            .into_iter()
            .partition(|l| matches!(l, Listener::Udp(..)));
        let (mut threads, queue) = worker::spawn_workers(&self.shared)?;
        threads.push(listener::spawn_acceptor(
            streams,
            queue,
            self.shared.clone(),
        )?);
        threads.push(spawn_crawler(self.shared.clone())?);
        if !udp.is_empty() {
            threads.push(udp::spawn(udp, self.shared.clone())?);
        }
        Ok(RunningServer {
            shared: self.shared,
            threads,
            addrs,
            unix_paths,
        })
    }
}

/// A server serving in background threads. Dropping it stops it.
#[derive(Debug)]
pub struct RunningServer {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
    addrs: Vec<SocketAddr>,
    unix_paths: Vec<PathBuf>,
}

/// A handle that can stop a running server from anywhere (a signal handler, another thread).
#[derive(Debug, Clone)]
pub struct ShutdownHandle(Arc<Shared>);

impl ShutdownHandle {
    /// Ask the server to stop.
    pub fn shutdown(&self) {
        self.0.request_shutdown();
    }

    /// Ask the server to stop gracefully: with `-e`, it saves the cache for the next start.
    pub fn shutdown_graceful(&self) {
        self.0.request_graceful_shutdown();
    }
}

impl RunningServer {
    /// Bind and start a server in one step.
    pub fn start(config: Config) -> Result<RunningServer, ServerError> {
        Server::bind(config)?.start()
    }

    /// The first TCP address served (tests and embedders connect here).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.addrs.first().copied()
    }

    /// Every TCP address served.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// A handle to stop the server.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle(self.shared.clone())
    }

    /// Block until the server stops (a `shutdown` command or a [`ShutdownHandle`]).
    pub fn wait(mut self) {
        self.join();
    }

    /// Stop the server and wait for its threads.
    pub fn shutdown(mut self) {
        self.shared.request_shutdown();
        self.join();
    }

    /// Stop gracefully and wait: with `-e`, the cache is saved for the next start.
    pub fn shutdown_graceful(mut self) {
        self.shared.request_graceful_shutdown();
        self.join();
    }

    fn join(&mut self) {
        let running = !self.threads.is_empty();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
        if running {
            self.shared.save_cache();
        }
        for path in self.unix_paths.drain(..) {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.shared.request_shutdown();
        self.join();
    }
}

fn bind_udp(addr: SocketAddr, mark: Option<u32>) -> Result<std::net::UdpSocket, ServerError> {
    use socket2::{Domain, Protocol, Socket, Type};
    let fail = |source| ServerError::Bind {
        address: format!("udp {addr}"),
        source,
    };
    let socket =
        Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP)).map_err(fail)?;
    socket.set_reuse_address(true).map_err(fail)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true).map_err(fail)?;
    }
    if let Some(mark) = mark {
        if let Err(e) = socket.set_mark(mark) {
            tracing::warn!("sock_cookie_id: cannot mark udp {addr} with {mark}: {e}");
        }
    }
    socket.set_nonblocking(true).map_err(fail)?;
    socket.bind(&addr.into()).map_err(fail)?;
    Ok(socket.into())
}

fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, ServerError> {
    // Accept `[::1]`, `::1`, `127.0.0.1`, `localhost`, and `host:port` forms.
    let trimmed = host.trim_start_matches('[').trim_end_matches(']');
    let candidates: Vec<SocketAddr> = match trimmed.parse::<std::net::IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => (host, port)
            .to_socket_addrs()
            .map_err(|source| ServerError::Resolve {
                address: host.to_string(),
                source,
            })?
            .collect(),
    };
    if candidates.is_empty() {
        return Err(ServerError::Resolve {
            address: host.to_string(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no address"),
        });
    }
    Ok(candidates)
}

/// Run the future `task` makes on a single-threaded runtime of its own, on a thread named
/// `name` (the future is made on that thread, so it need not be `Send`).
fn spawn_loop<F: std::future::Future<Output = ()>>(
    name: &str,
    task: impl FnOnce() -> F + Send + 'static,
) -> std::io::Result<JoinHandle<()>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || runtime.block_on(task()))
}

/// The LRU crawler's thread: runs each requested crawl, a slice at a time.
fn spawn_crawler(shared: Arc<Shared>) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("mc-crawler".into())
        .spawn(move || {
            let crawler = &shared.env.crawler;
            while !shared.stopping() {
                if let Some(classes) = crawler.next_job(std::time::Duration::from_millis(100)) {
                    crawler.crawl(classes, &shared.store, &shared.env, true, || {
                        shared.stopping()
                    });
                }
            }
        })
}

fn bind_tcp(
    addr: SocketAddr,
    backlog: u32,
    mark: Option<u32>,
) -> Result<std::net::TcpListener, ServerError> {
    use socket2::{Domain, Protocol, Socket, Type};
    let fail = |source| ServerError::Bind {
        address: addr.to_string(),
        source,
    };
    let socket =
        Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP)).map_err(fail)?;
    socket.set_reuse_address(true).map_err(fail)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true).map_err(fail)?;
    }
    socket.set_nonblocking(true).map_err(fail)?;
    if let Some(mark) = mark {
        // memcached's sock_cookie_id: a mark firewall rules can match. Setting it needs
        // CAP_NET_ADMIN; like memcached, go on without it when refused.
        if let Err(e) = socket.set_mark(mark) {
            tracing::warn!("sock_cookie_id: cannot mark {addr} with {mark}: {e}");
        }
    }
    socket.bind(&addr.into()).map_err(fail)?;
    socket
        .listen(i32::try_from(backlog).unwrap_or(i32::MAX))
        .map_err(fail)?;
    Ok(socket.into())
}
