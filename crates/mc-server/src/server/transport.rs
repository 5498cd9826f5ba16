//! What a connection needs of its socket, whichever way the bytes move: a wait for the next
//! request, reads and writes. The connection loop ([`super::connection`]) is written once against this trait and
//! runs over tokio's sockets ([`super::stream::Stream`]: epoll readiness, then a system call per read or
//! write) or over io_uring ([`super::uring_stream::UringStream`]: reads and writes submitted to
//! the kernel and completed in batches).

use bytes::BytesMut;

/// Bytes a transport that waits in a read asks for while the connection is idle: a buffer of
/// the connection's own, so that idle connections hold no borrowed one.
pub(crate) const IDLE_READ_SIZE: usize = 2 * 1024;

/// A connection's socket.
pub(crate) trait Transport {
    /// Wait until the client sends its next request. A transport that waits by readiness
    /// returns `Ok(None)`: the bytes are still in the socket, to be read with
    /// [`Transport::read_buf`]. One that must read to wait (TLS, whose decrypted bytes the
    /// socket no longer shows; io_uring, which completes reads rather than signalling
    /// readiness) reads into `idle`, a small buffer the connection keeps for this, and returns
    /// `Ok(Some(n))` (0 at end of stream).
    async fn wait_for_request(&mut self, idle: &mut BytesMut) -> std::io::Result<Option<usize>>;

    /// Read what the socket has into `buf`'s spare capacity; 0 at end of stream.
    async fn read_buf(&mut self, buf: &mut BytesMut) -> std::io::Result<usize>;

    /// Wait until the client sends something or closes, and drop what it sent: Ok(0) at end
    /// of stream. For a connection that only listens for its end (`watch`), raced against
    /// other events: a call abandoned half-way is taken up again by the next one, never left
    /// behind as a second read.
    async fn discard_input(&mut self) -> std::io::Result<usize>;

    /// Write all of `buf`. It is left as it was (a transport that must own the bytes while
    /// the kernel reads them takes the buffer and gives it back), unless the write is
    /// abandoned half-way, after which the connection is dropped anyway.
    async fn write_all(&mut self, buf: &mut BytesMut) -> std::io::Result<()>;
}
