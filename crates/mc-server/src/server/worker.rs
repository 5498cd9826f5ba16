//! The worker threads that serve connections.
//!
//! With `-t 1` a single thread runs its own event loop. With more threads, the workers share
//! one work-stealing scheduler: an idle worker takes ready connections from a busy one. On this
//! project's 2-core reference machine, one private event loop per thread (memcached's design)
//! let a worker's connections wait whole scheduler slices while the other worker was busy;
//! work stealing measured 1.1-1.3x the throughput and a quarter of the p99 latency at `-t 2`
//! (docs/benchmarks.md).
//!
//! With `-o io_uring` (Linux) each of the `-t` threads runs an event loop of its own around an
//! io_uring, and the acceptor deals connections out to them in turn, as memcached does: an
//! io_uring and the ops submitted to it belong to one thread, so connections cannot move.

use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::sync::mpsc;

use super::connection;
use super::stream::Accepted;
use super::{ConnectionSlot, Shared};

/// A connection on its way to a worker, with its place in the `-c` count.
type Handoff = (Accepted, ConnectionSlot);

/// Where the acceptor sends new connections: the one scheduler, or each io_uring worker in
/// turn.
#[derive(Debug)]
pub(crate) struct WorkerQueue {
    workers: Vec<mpsc::UnboundedSender<Handoff>>,
    next: usize,
}

impl WorkerQueue {
    /// Hand a connection to the next worker. Fails when that worker is gone (the server is
    /// stopping); the connection's slot is given back as the message drops.
    pub(crate) fn send(&mut self, handoff: Handoff) -> Result<(), Box<Handoff>> {
        let worker = &self.workers[self.next % self.workers.len()];
        self.next = self.next.wrapping_add(1);
        worker.send(handoff).map_err(|e| Box::new(e.0))
    }
}

/// Start the workers; returns their threads and the queue that feeds them.
pub(crate) fn spawn_workers(
    shared: &Arc<Shared>,
) -> std::io::Result<(Vec<JoinHandle<()>>, WorkerQueue)> {
    if shared.env.config.io_uring {
        return spawn_uring_workers(shared);
    }
    let runtime = if shared.env.config.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(shared.env.config.threads)
            .thread_name("mc-worker")
            .enable_all()
            .build()?
    };
    let (tx, rx) = mpsc::unbounded_channel();
    let shared = shared.clone();
    let thread = std::thread::Builder::new()
        .name("mc-worker-main".into())
        .spawn(move || {
            runtime.block_on(run(rx, shared, |accepted, slot| {
                tokio::spawn(connection::serve(accepted, slot));
            }))
        })?;
    Ok((
        vec![thread],
        WorkerQueue {
            workers: vec![tx],
            next: 0,
        },
    ))
}

/// `-t` threads, each with its own io_uring event loop. Fails, before any thread serves, when
/// the kernel refuses an io_uring (too old, or forbidden, as some container sandboxes do).
#[cfg(target_os = "linux")]
fn spawn_uring_workers(
    shared: &Arc<Shared>,
) -> std::io::Result<(Vec<JoinHandle<()>>, WorkerQueue)> {
    let mut threads = Vec::new();
    let mut workers = Vec::new();
    for n in 0..shared.env.config.threads.max(1) {
        let (tx, rx) = mpsc::unbounded_channel();
        let (started, outcome) = std::sync::mpsc::sync_channel(1);
        let shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name(format!("mc-uring-{n}"))
            .spawn(move || {
                let runtime = match uring_runtime() {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = started.send(Err(e));
                        return;
                    }
                };
                let _ = started.send(Ok(()));
                runtime.block_on(run(rx, shared, |accepted, slot| {
                    tokio_uring::spawn(connection::serve_uring(accepted, slot));
                }));
            })?;
        // A worker that could not make its ring says so before it would serve anything.
        let made = outcome
            .recv()
            .unwrap_or_else(|_| Err(std::io::Error::other("an io_uring worker died")));
        if let Err(e) = made {
            let _ = thread.join();
            return Err(std::io::Error::new(
                e.kind(),
                format!("-o io_uring: the kernel refused an io_uring: {e}"),
            ));
        }
        threads.push(thread);
        workers.push(tx);
    }
    tracing::info!(
        "serving TCP connections through io_uring: {} event loops",
        threads.len()
    );
    Ok((threads, WorkerQueue { workers, next: 0 }))
}

/// An io_uring event loop for the calling thread.
///
/// The ring is made with `COOP_TASKRUN` (the kernel runs a completion's work when the thread
/// next enters it, instead of interrupting it at once) and `SINGLE_ISSUER` (one thread submits:
/// each worker owns its ring). Measured at `-t 2`, get-heavy load, unpinned: 5.9-6.1 µs of
/// server CPU per request with them, 8.5-8.6 without (tokio's path: 5.4). Kernels older than
/// 6.0 refuse these flags; the ring is then made without them.
#[cfg(target_os = "linux")]
fn uring_runtime() -> std::io::Result<tokio_uring::Runtime> {
    let mut ring = tokio_uring::uring_builder();
    ring.setup_coop_taskrun().setup_single_issuer();
    match tokio_uring::Runtime::new(tokio_uring::builder().uring_builder(&ring)) {
        Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => {
            tokio_uring::Runtime::new(&tokio_uring::builder())
        }
        made => made,
    }
}

/// Whether this system gives the process an io_uring: one is made and dropped (on a thread
/// of its own, as the caller may be inside an async runtime, where none may be dropped).
#[cfg(target_os = "linux")]
pub(crate) fn check_io_uring() -> std::io::Result<()> {
    std::thread::spawn(|| uring_runtime().map(drop))
        .join()
        .unwrap_or_else(|_| Err(std::io::Error::other("the io_uring check panicked")))
}

/// There is no io_uring outside Linux.
#[cfg(not(target_os = "linux"))]
pub(crate) fn check_io_uring() -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "io_uring exists only on Linux",
    ))
}

/// `-o io_uring` is refused where there is no io_uring (the check in `Server::bind` says so
/// first; this keeps the server from starting without its workers).
#[cfg(not(target_os = "linux"))]
fn spawn_uring_workers(
    _shared: &Arc<Shared>,
) -> std::io::Result<(Vec<JoinHandle<()>>, WorkerQueue)> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "-o io_uring: io_uring exists only on Linux",
    ))
}

/// A worker's loop: serve each connection handed over with `serve`, until shutdown.
async fn run(
    mut connections: mpsc::UnboundedReceiver<Handoff>,
    shared: Arc<Shared>,
    serve: impl Fn(Accepted, ConnectionSlot),
) {
    let mut shutdown = shared.shutdown.subscribe();
    loop {
        tokio::select! {
            accepted = connections.recv() => {
                let Some((accepted, slot)) = accepted else { break };
                serve(accepted, slot);
            }
            _ = shutdown.wait_for(|stop| *stop) => break,
        }
    }
    // Returning drops the runtime, which closes every connection.
}
