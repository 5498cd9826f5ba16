//! The acceptor: takes new connections, enforces `-c`, and deals them out to the workers.

use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use super::stream::Accepted;
use super::worker::WorkerQueue;
use super::{Listener, Shared};

/// What memcached answers a connection over its limit before closing it.
const TOO_MANY: &[u8] = b"ERROR Too many open connections\r\n";

pub(crate) fn spawn_acceptor(
    listeners: Vec<Listener>,
    workers: WorkerQueue,
    shared: Arc<Shared>,
) -> std::io::Result<JoinHandle<()>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("mc-acceptor".into())
        .spawn(move || runtime.block_on(run(listeners, workers, shared)))
}

async fn run(listeners: Vec<Listener>, workers: WorkerQueue, shared: Arc<Shared>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<Accepted>();
    let mut tasks = tokio::task::JoinSet::new();
    for listener in listeners {
        let tx = tx.clone();
        match listener {
            Listener::Tcp(std_listener) => match tokio::net::TcpListener::from_std(std_listener) {
                Ok(listener) => {
                    tasks.spawn(async move {
                        loop {
                            match listener.accept().await {
                                Ok((stream, _)) => {
                                    let _ = stream.set_nodelay(true);
                                    if let Ok(stream) = stream.into_std() {
                                        if tx.send(Accepted::Tcp(stream)).is_err() {
                                            break;
                                        }
                                    }
                                }
                                Err(e) => accept_error(e).await,
                            }
                        }
                    });
                }
                Err(e) => tracing::error!("cannot register listener: {e}"),
            },
            Listener::Unix(std_listener, _) => {
                match tokio::net::UnixListener::from_std(std_listener) {
                    Ok(listener) => {
                        tasks.spawn(async move {
                            loop {
                                match listener.accept().await {
                                    Ok((stream, _)) => {
                                        if let Ok(stream) = stream.into_std() {
                                            if tx.send(Accepted::Unix(stream)).is_err() {
                                                break;
                                            }
                                        }
                                    }
                                    Err(e) => accept_error(e).await,
                                }
                            }
                        });
                    }
                    Err(e) => tracing::error!("cannot register listener: {e}"),
                }
            }
        }
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
                    None => reject(accepted).await,
                }
            }
            _ = shutdown.wait_for(|stop| *stop) => break,
        }
    }
    tasks.abort_all();
}

/// Running out of file descriptors must not spin the acceptor: wait a little and go on.
async fn accept_error(error: std::io::Error) {
    tracing::warn!("accept failed: {error}");
    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
}

/// Tell an over-limit client why, as memcached does, and close.
async fn reject(accepted: Accepted) {
    match accepted {
        Accepted::Tcp(s) => {
            if let Ok(mut s) = tokio::net::TcpStream::from_std(s) {
                let _ = s.write_all(TOO_MANY).await;
            }
        }
        Accepted::Unix(s) => {
            if let Ok(mut s) = tokio::net::UnixStream::from_std(s) {
                let _ = s.write_all(TOO_MANY).await;
            }
        }
    }
}
