//! A client connection over TCP or a Unix socket.

use std::os::fd::AsRawFd;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};

use crate::environment::Environment;

/// An accepted connection, as handed from the acceptor to a worker (not yet registered with the
/// worker's event loop), with the listener it came through.
#[derive(Debug)]
pub(crate) enum Accepted {
    Tcp(std::net::TcpStream, String),
    Unix(std::os::unix::net::UnixStream, String),
}

impl Accepted {
    /// Its id (the descriptor), the peer and the listener, as `stats conns` shows them.
    pub(crate) fn describe(&self) -> (i32, String, String) {
        match self {
            Accepted::Tcp(s, listener) => (
                s.as_raw_fd(),
                s.peer_addr()
                    .map_or_else(|_| "tcp:?".into(), |a| format!("tcp:{a}")),
                listener.clone(),
            ),
            Accepted::Unix(s, listener) => (s.as_raw_fd(), listener.clone(), listener.clone()),
        }
    }

    /// Write a last word to a connection that will not be served, and close it.
    pub(crate) async fn refuse(self, message: &[u8]) {
        match self {
            Accepted::Tcp(s, _) => {
                if let Ok(mut s) = TcpStream::from_std(s) {
                    let _ = s.write_all(message).await;
                }
            }
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
    Unix(UnixStream),
}

impl Stream {
    /// Register an accepted connection with this worker.
    pub(crate) async fn register(
        accepted: Accepted,
        _env: &Environment,
    ) -> std::io::Result<Stream> {
        Ok(match accepted {
            Accepted::Tcp(s, _) => Stream::Tcp(TcpStream::from_std(s)?),
            Accepted::Unix(s, _) => Stream::Unix(UnixStream::from_std(s)?),
        })
    }

    pub(crate) async fn readable(&self) -> std::io::Result<()> {
        match self {
            Stream::Tcp(s) => s.readable().await,
            Stream::Unix(s) => s.readable().await,
        }
    }

    pub(crate) async fn read_buf(&mut self, buf: &mut BytesMut) -> std::io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read_buf(buf).await,
            Stream::Unix(s) => s.read_buf(buf).await,
        }
    }

    pub(crate) async fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match self {
            Stream::Tcp(s) => s.write_all(buf).await,
            Stream::Unix(s) => s.write_all(buf).await,
        }
    }
}
