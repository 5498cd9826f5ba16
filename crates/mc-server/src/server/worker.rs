//! The worker threads that serve connections.
//!
//! With `-t 1` a single thread runs its own event loop. With more threads, the workers share
//! one work-stealing scheduler: an idle worker takes ready connections from a busy one. On this
//! project's 2-core reference machine, one private event loop per thread (memcached's design)
//! let a worker's connections wait whole scheduler slices while the other worker was busy;
//! work stealing measured 1.1-1.3x the throughput and a quarter of the p99 latency at `-t 2`
//! (docs/benchmarks.md).

use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::sync::mpsc;

use super::connection;
use super::stream::Accepted;
use super::{ConnectionSlot, Shared};

/// Where the acceptor sends new connections, each with its place in the `-c` count.
pub(crate) type WorkerQueue = mpsc::UnboundedSender<(Accepted, ConnectionSlot)>;

/// Start the workers; returns the thread driving them and the queue that feeds them.
pub(crate) fn spawn_workers(
    shared: &Arc<Shared>,
) -> std::io::Result<(JoinHandle<()>, WorkerQueue)> {
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
        .spawn(move || runtime.block_on(run(rx, shared)))?;
    Ok((thread, tx))
}

async fn run(
    mut connections: mpsc::UnboundedReceiver<(Accepted, ConnectionSlot)>,
    shared: Arc<Shared>,
) {
    let mut shutdown = shared.shutdown.subscribe();
    loop {
        tokio::select! {
            accepted = connections.recv() => {
                let Some((accepted, slot)) = accepted else { break };
                tokio::spawn(connection::serve(accepted, slot));
            }
            _ = shutdown.wait_for(|stop| *stop) => break,
        }
    }
    // Returning drops the runtime, which closes every connection.
}
