//! What a connection needs of its socket, whichever way the bytes move: readiness, reads and
//! writes. The connection loop ([`super::connection`]) is written once against this trait and
//! runs over tokio's sockets ([`super::stream::Stream`]: epoll readiness, then a system call per read or
//! write) or over io_uring ([`super::uring_stream::UringStream`]: reads and writes submitted to
//! the kernel and completed in batches).

use bytes::BytesMut;

/// A connection's socket.
pub(crate) trait Transport {
    /// True when a quiet socket does not mean nothing is pending, or when readiness is not
    /// how this transport waits: the wait for the next request then happens in the read
    /// itself (TLS, whose decrypted bytes the socket no longer shows; io_uring, which
    /// completes reads rather than signalling readiness).
    fn waits_in_read(&self) -> bool;

    /// Wait until the socket has bytes (at once for a transport that waits in the read).
    async fn readable(&self) -> std::io::Result<()>;

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
