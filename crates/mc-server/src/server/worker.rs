//! Worker threads: each runs a single-threaded event loop serving the connections it is given.

use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::sync::mpsc;

use super::connection;
use super::stream::Accepted;
use super::Shared;

/// Where the acceptor sends a worker its new connections.
pub(crate) type WorkerQueue = mpsc::UnboundedSender<Accepted>;

/// Start `-t` workers; returns their threads and the channels that feed them connections.
pub(crate) fn spawn_workers(
    shared: &Arc<Shared>,
) -> std::io::Result<(Vec<JoinHandle<()>>, Vec<WorkerQueue>)> {
    let mut threads = Vec::new();
    let mut senders = Vec::new();
    for n in 0..shared.config.threads {
        let (tx, rx) = mpsc::unbounded_channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name(format!("mc-worker-{n}"))
            .spawn(move || runtime.block_on(run(rx, shared)))?;
        threads.push(thread);
        senders.push(tx);
    }
    Ok((threads, senders))
}

async fn run(mut connections: mpsc::UnboundedReceiver<Accepted>, shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.subscribe();
    loop {
        tokio::select! {
            accepted = connections.recv() => {
                let Some(accepted) = accepted else { break };
                tokio::spawn(connection::serve(accepted, shared.clone()));
            }
            _ = shutdown.wait_for(|stop| *stop) => break,
        }
    }
    // Returning drops the runtime, which closes every connection of this worker.
}
