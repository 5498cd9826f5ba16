//! The acceptor: takes new connections, enforces `-c`, and deals them out to the workers.
//!
//! Over the limit, a new connection is told `ERROR Too many open connections` and closed
//! (`maxconns_fast`, the default); with `no_maxconns_fast` the listeners stop accepting until a
//! connection ends, leaving new ones waiting in the kernel's backlog, as memcached does.

use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use mc_proto::{Response, ServerMessage};
use tokio::sync::mpsc;

use super::stream::Accepted;
use super::worker::WorkerQueue;
use super::{Listener, Shared};
use crate::server_counters::ConnectionStats;

pub(crate) fn spawn_acceptor(
    listeners: Vec<Listener>,
    workers: WorkerQueue,
    shared: Arc<Shared>,
) -> std::io::Result<JoinHandle<()>> {
    super::spawn_loop("mc-acceptor", move || run(listeners, workers, shared))
}

/// With `no_maxconns_fast`: wait, without accepting, until the server is below `-c`.
async fn wait_for_room(shared: &Shared) {
    let stats = &shared.env.conn_stats;
    let limit = shared.env.config.max_connections as u64;
    if shared.env.config.maxconns_fast || ConnectionStats::get(&stats.curr_connections) < limit {
        return;
    }
    let started = Instant::now();
    stats.accepting_conns.store(false, Ordering::Relaxed);
    ConnectionStats::add(&stats.listen_disabled_num, 1);
    while ConnectionStats::get(&stats.curr_connections) >= limit {
        let freed = shared.slot_freed.notified();
        if ConnectionStats::get(&stats.curr_connections) < limit {
            break;
        }
        freed.await;
    }
    stats.accepting_conns.store(true, Ordering::Relaxed);
    ConnectionStats::add(
        &stats.time_in_listen_disabled_us,
        started.elapsed().as_micros() as u64,
    );
}

async fn run(listeners: Vec<Listener>, mut workers: WorkerQueue, shared: Arc<Shared>) {
    let (tx, mut rx) = mpsc::channel::<Accepted>(1);
    let mut tasks = tokio::task::JoinSet::new();
    for listener in listeners {
        let incoming = match Incoming::register(listener, &shared) {
            Ok(Some(incoming)) => incoming,
            // Served by the UDP thread.
            Ok(None) => continue,
            Err(e) => {
                tracing::error!("cannot register listener: {e}");
                continue;
            }
        };
        let tx = tx.clone();
        let shared = shared.clone();
        tasks.spawn(async move {
            loop {
                wait_for_room(&shared).await;
                match incoming.accept().await {
                    Ok(accepted) => {
                        if tx.send(accepted).await.is_err() {
                            break;
                        }
                    }
                    Err(e) => accept_error(e).await,
                }
            }
        });
    }
    drop(tx);
    let mut shutdown = shared.shutdown.subscribe();
    loop {
        tokio::select! {
            accepted = rx.recv() => {
                let Some(accepted) = accepted else { break };
                match shared.admit() {
                    // A send error means the workers are gone; the slot is given back as the
                    // message is dropped.
                    Some(slot) => { let _ = workers.send((accepted, slot)); }
                    // Tell an over-limit client why, as memcached does, and close.
                    None => {
                        let mut too_many = bytes::BytesMut::new();
                        Response::Message(ServerMessage::TooManyConnections).encode(&mut too_many);
                        accepted.refuse(&too_many).await
                    }
                }
            }
            _ = shutdown.wait_for(|stop| *stop) => break,
        }
    }
    tasks.abort_all();
}

/// A listening socket registered with the acceptor's event loop, with its name (and, for TCP,
/// whether it serves TLS).
enum Incoming {
    Tcp(tokio::net::TcpListener, String, bool),
    Unix(tokio::net::UnixListener, String),
}

impl Incoming {
    /// Register a stream listener (and list it for `stats conns`); `None` for UDP.
    fn register(listener: Listener, shared: &Shared) -> std::io::Result<Option<Incoming>> {
        let conns = &shared.env.conns;
        Ok(Some(match listener {
            Listener::Tcp(l, name, tls) => {
                conns.add_listener(l.as_raw_fd(), name.clone());
                Incoming::Tcp(tokio::net::TcpListener::from_std(l)?, name, tls)
            }
            Listener::Unix(l, _, name) => {
                conns.add_listener(l.as_raw_fd(), name.clone());
                Incoming::Unix(tokio::net::UnixListener::from_std(l)?, name)
            }
            Listener::Udp(..) => return Ok(None),
        }))
    }

    /// The next connection, handed over as a plain socket for a worker to register.
    async fn accept(&self) -> std::io::Result<Accepted> {
        match self {
            Incoming::Tcp(l, name, tls) => {
                let (stream, _) = l.accept().await?;
                let _ = stream.set_nodelay(true);
                Ok(Accepted::Tcp(stream.into_std()?, name.clone(), *tls))
            }
            Incoming::Unix(l, name) => {
                let (stream, _) = l.accept().await?;
                Ok(Accepted::Unix(stream.into_std()?, name.clone()))
            }
        }
    }
}

/// Running out of file descriptors must not spin the acceptor: wait a little and go on.
async fn accept_error(error: std::io::Error) {
    tracing::warn!("accept failed: {error}");
    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
}
