//! A plain TCP connection served through io_uring (`-o io_uring`): each read and write is
//! submitted to the kernel's ring, and the worker's event loop submits and completes the ops
//! of all its connections together, in one `io_uring_enter` per turn, instead of one system
//! call per read and per write and an `epoll_wait` to learn which sockets are ready.

use std::future::Future;
use std::io::ErrorKind;
use std::net::Shutdown;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::rc::Rc;

use bytes::BytesMut;
use tokio_uring::buf::BoundedBuf;

use super::transport::{Transport, IDLE_READ_SIZE};

/// A connection's socket, owned by an io_uring worker's event loop.
pub(crate) struct UringStream {
    /// Shared with a read that outlives the call that submitted it ([`Self::discarding`]).
    socket: Rc<tokio_uring::net::TcpStream>,
    /// Whether the socket is still in non-blocking mode (see [`UringStream::would_block`]).
    non_blocking: bool,
    /// The read [`Transport::discard_input`] submitted and has not seen complete. An io_uring
    /// op abandoned by its caller is not cancelled (it completes some day and is ignored), so
    /// a `watch` connection that raced a fresh read against every log line would pile up
    /// reads; this one is kept and awaited again instead.
    discarding: Option<Pin<Box<dyn Future<Output = std::io::Result<usize>>>>>,
}

impl UringStream {
    /// Take an accepted socket over, as the acceptor left it: non-blocking.
    pub(crate) fn new(socket: std::net::TcpStream) -> UringStream {
        UringStream {
            socket: Rc::new(tokio_uring::net::TcpStream::from_std(socket)),
            non_blocking: true,
            discarding: None,
        }
    }

    /// A read or write completed with "would block": retry it, after making the socket
    /// blocking if it was not. Current kernels wait (poll) for a socket themselves whatever
    /// its mode, and a non-blocking socket measured faster there; a kernel that instead
    /// completes the op with "would block" would otherwise have the connection retry at once,
    /// forever. A blocking socket makes every kernel wait. Errors when the socket was
    /// blocking already, or cannot be made so.
    fn would_block(&mut self, error: std::io::Error) -> std::io::Result<()> {
        if !self.non_blocking {
            return Err(error);
        }
        use nix::fcntl::{fcntl, FcntlArg, OFlag};
        let fd = self.socket.as_raw_fd();
        let flags = OFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFL)?);
        fcntl(fd, FcntlArg::F_SETFL(flags - OFlag::O_NONBLOCK))?;
        self.non_blocking = false;
        Ok(())
    }
}

impl Drop for UringStream {
    /// A read still submitted (a connection closed for being idle, or at shutdown) keeps the
    /// socket open until it completes; shutting the socket down completes it at once, so the
    /// client sees the connection end now, not when it next sends.
    fn drop(&mut self) {
        let _ = self.socket.shutdown(Shutdown::Both);
    }
}

impl Transport for UringStream {
    /// io_uring completes reads; it has no readiness to wait for.
    async fn wait_for_request(&mut self, idle: &mut BytesMut) -> std::io::Result<Option<usize>> {
        if idle.capacity() == 0 {
            idle.reserve(IDLE_READ_SIZE);
        }
        self.read_buf(idle).await.map(Some)
    }

    async fn read_buf(&mut self, buf: &mut BytesMut) -> std::io::Result<usize> {
        // The kernel writes into the buffer while the read is submitted, so the op owns it
        // and gives it back on completion.
        let mut owned = std::mem::take(buf);
        if owned.len() == owned.capacity() {
            // A read into no room would complete with 0, which means end of stream.
            owned.reserve(1);
        }
        loop {
            let (filled, room) = (owned.len(), owned.capacity());
            let (read, slice) = self.socket.read(owned.slice(filled..room)).await;
            owned = slice.into_inner();
            match read {
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    if let Err(e) = self.would_block(e) {
                        *buf = owned;
                        return Err(e);
                    }
                }
                read => {
                    *buf = owned;
                    return read;
                }
            }
        }
    }

    async fn discard_input(&mut self) -> std::io::Result<usize> {
        loop {
            let socket = self.socket.clone();
            let read = self.discarding.get_or_insert_with(|| {
                Box::pin(async move { socket.read(BytesMut::with_capacity(512)).await.0 })
            });
            let read = read.as_mut().await;
            self.discarding = None;
            match read {
                Err(e) if e.kind() == ErrorKind::WouldBlock => self.would_block(e)?,
                read => return read,
            }
        }
    }

    async fn write_all(&mut self, buf: &mut BytesMut) -> std::io::Result<()> {
        let mut owned = std::mem::take(buf);
        let mut written = 0;
        let outcome = loop {
            if written == owned.len() {
                break Ok(());
            }
            let (wrote, slice) = self.socket.write(owned.slice(written..)).submit().await;
            owned = slice.into_inner();
            match wrote {
                Ok(0) => break Err(ErrorKind::WriteZero.into()),
                Ok(n) => written += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    if let Err(e) = self.would_block(e) {
                        break Err(e);
                    }
                }
                Err(e) => break Err(e),
            }
        };
        *buf = owned;
        outcome
    }
}
