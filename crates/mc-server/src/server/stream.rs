//! A client connection over TCP, TLS over TCP, or a Unix socket.

use std::os::fd::AsRawFd;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use super::transport::{Transport, IDLE_READ_SIZE};
use crate::environment::Environment;
use crate::server_counters::ConnectionStats;

/// How long a client has to complete its TLS handshake before it is dropped, so that
/// connections that never finish one cannot pile up.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// An accepted connection, as handed from the acceptor to a worker (not yet registered with the
/// worker's event loop), with the listener it came through.
#[derive(Debug)]
pub(crate) enum Accepted {
    /// With the listener's name and whether it serves TLS.
    Tcp(std::net::TcpStream, String, bool),
    Unix(std::os::unix::net::UnixStream, String),
}

impl Accepted {
    /// Its id (the descriptor), the peer and the listener, as `stats conns` shows them.
    pub(crate) fn describe(&self) -> (i32, String, String) {
        match self {
            Accepted::Tcp(s, listener, _) => (
                s.as_raw_fd(),
                s.peer_addr()
                    .map_or_else(|_| "tcp:?".into(), |a| format!("tcp:{a}")),
                listener.clone(),
            ),
            Accepted::Unix(s, listener) => (s.as_raw_fd(), listener.clone(), listener.clone()),
        }
    }

    /// Write a last word to a connection that will not be served, and close it. (Over TLS
    /// the word could only follow a handshake; the connection is just closed.)
    pub(crate) async fn refuse(self, message: &[u8]) {
        match self {
            Accepted::Tcp(s, _, false) => {
                if let Ok(mut s) = TcpStream::from_std(s) {
                    let _ = s.write_all(message).await;
                }
            }
            Accepted::Tcp(_, _, true) => {}
            Accepted::Unix(s, _) => {
                if let Ok(mut s) = UnixStream::from_std(s) {
                    let _ = s.write_all(message).await;
                }
            }
        }
    }
}

/// A connection registered with a worker's event loop.
#[derive(Debug)]
pub(crate) enum Stream {
    Tcp(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    Unix(UnixStream),
}

impl Stream {
    /// Register an accepted connection with this worker, completing its TLS handshake if
    /// its listener serves TLS.
    pub(crate) async fn register(accepted: Accepted, env: &Environment) -> std::io::Result<Stream> {
        Ok(match accepted {
            Accepted::Tcp(s, _, false) => Stream::Tcp(TcpStream::from_std(s)?),
            Accepted::Tcp(s, _, true) => {
                let tcp = TcpStream::from_std(s)?;
                let Some(tls) = &env.tls else {
                    return Err(std::io::Error::other("TLS listener without TLS settings"));
                };
                let acceptor = TlsAcceptor::from(tls.config());
                let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await;
                match handshake {
                    Ok(Ok(stream)) => {
                        if stream.get_ref().1.received_resumption_data().is_none()
                            && tls.resumable()
                        {
                            ConnectionStats::add(&env.conn_stats.ssl_new_sessions, 1);
                        }
                        Stream::Tls(Box::new(stream))
                    }
                    Ok(Err(e)) => {
                        ConnectionStats::add(&env.conn_stats.ssl_handshake_errors, 1);
                        return Err(e);
                    }
                    Err(_) => {
                        ConnectionStats::add(&env.conn_stats.ssl_handshake_errors, 1);
                        return Err(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            "TLS handshake timed out",
                        ));
                    }
                }
            }
            Accepted::Unix(s, _) => Stream::Unix(UnixStream::from_std(s)?),
        })
    }
}

impl Transport for Stream {
    /// A TLS connection may hold decrypted bytes the socket no longer shows, so it waits in
    /// the read; the others wait for readiness.
    async fn wait_for_request(&mut self, idle: &mut BytesMut) -> std::io::Result<Option<usize>> {
        match self {
            Stream::Tcp(s) => s.readable().await.map(|()| None),
            Stream::Tls(s) => {
                if idle.capacity() == 0 {
                    idle.reserve(IDLE_READ_SIZE);
                }
                s.read_buf(idle).await.map(Some)
            }
            Stream::Unix(s) => s.readable().await.map(|()| None),
        }
    }

    async fn read_buf(&mut self, buf: &mut BytesMut) -> std::io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read_buf(buf).await,
            Stream::Tls(s) => s.read_buf(buf).await,
            Stream::Unix(s) => s.read_buf(buf).await,
        }
    }

    async fn discard_input(&mut self) -> std::io::Result<usize> {
        // A read of tokio's is a wait for readiness, then a system call: abandoning it
        // leaves nothing behind.
        let mut scratch = [0u8; 512];
        match self {
            Stream::Tcp(s) => s.read(&mut scratch).await,
            Stream::Tls(s) => s.read(&mut scratch).await,
            Stream::Unix(s) => s.read(&mut scratch).await,
        }
    }

    async fn write_all(&mut self, buf: &mut BytesMut) -> std::io::Result<()> {
        match self {
            Stream::Tcp(s) => s.write_all(buf).await,
            Stream::Tls(s) => {
                s.write_all(buf).await?;
                // rustls buffers records; push them out now, as a plain socket would.
                s.flush().await
            }
            Stream::Unix(s) => s.write_all(buf).await,
        }
    }
}
