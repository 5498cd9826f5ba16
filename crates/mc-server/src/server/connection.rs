//! One client connection: move bytes between the socket and the connection's
//! [`Executor`], which decodes, runs and answers the requests.
//!
//! The store lock is never held here: the executor takes it for bounded slices, and every
//! socket wait happens between slices.

use std::io::ErrorKind;

use bytes::BytesMut;
use mc_proto::Limits;

use super::stream::{Accepted, Stream};
use super::ConnectionSlot;
use crate::executor::{Executor, Step};
use crate::stats::ConnectionStats;

/// Bytes asked of the socket per read.
const READ_SIZE: usize = 16 * 1024;

/// Buffers larger than this are released once empty rather than kept for the next request.
const KEEP_BUFFER: usize = 64 * 1024;

/// Empty buffers a worker keeps for its connections to borrow.
const POOL_SIZE: usize = 256;

thread_local! {
    /// Buffers lent to this worker's active connections. An idle connection gives its buffers
    /// back, so thousands of idle connections hold no buffer memory, while busy ones reuse the
    /// same few allocations instead of freeing and allocating on every request.
    static POOL: std::cell::RefCell<Vec<BytesMut>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn borrow_buffer() -> BytesMut {
    POOL.with(|pool| pool.borrow_mut().pop())
        .unwrap_or_else(|| BytesMut::with_capacity(READ_SIZE))
}

fn return_buffer(mut buf: BytesMut) {
    if buf.capacity() == 0 || buf.capacity() > KEEP_BUFFER {
        return;
    }
    buf.clear();
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        if pool.len() < POOL_SIZE {
            pool.push(buf);
        }
    });
}

/// Serve one accepted connection until it closes. `slot` holds its place in the `-c` count
/// and gives it back when dropped.
pub(crate) async fn serve(accepted: Accepted, slot: ConnectionSlot) {
    if let Ok(stream) = Stream::register(accepted) {
        if let Err(e) = run(stream, &slot).await {
            tracing::debug!("connection closed: {e}");
        }
    }
}

async fn run(mut stream: Stream, slot: &ConnectionSlot) -> std::io::Result<()> {
    let shared = slot.shared();
    let stats = &shared.env.conn_stats;
    let limits = Limits {
        max_item_size: shared.env.config.store.max_item_size,
        ..Limits::default()
    };
    let mut executor = Executor::new(limits);
    let mut rbuf = BytesMut::new();
    let mut wbuf = BytesMut::new();
    loop {
        if rbuf.is_empty() {
            // Between requests the connection holds no buffer: wait until the client sends.
            return_buffer(std::mem::take(&mut rbuf));
            return_buffer(std::mem::take(&mut wbuf));
            stream.readable().await?;
            rbuf = borrow_buffer();
            wbuf = borrow_buffer();
        }
        if rbuf.capacity() - rbuf.len() < READ_SIZE / 4 {
            rbuf.reserve(READ_SIZE);
        }
        // A short read tells tokio the socket is drained, which spares a read that would only
        // say "would block".
        match stream.read_buf(&mut rbuf).await {
            Ok(0) => return Ok(()),
            Ok(n) => ConnectionStats::add(&stats.bytes_read, n as u64),
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::Interrupted => {
                continue
            }
            Err(e) => return Err(e),
        }
        loop {
            let step = executor.run(&mut rbuf, &shared.store, &shared.env, &mut wbuf);
            if !wbuf.is_empty() {
                stream.write_all(&wbuf).await?;
                ConnectionStats::add(&stats.bytes_written, wbuf.len() as u64);
                wbuf.clear();
                if wbuf.capacity() > KEEP_BUFFER {
                    wbuf = borrow_buffer();
                }
            }
            match step {
                Step::NeedInput => break,
                Step::Flush => {}
                // Let the other connections of this worker run before going on.
                Step::Yield => {
                    std::thread::yield_now();
                    tokio::task::yield_now().await
                }
                Step::Close => return Ok(()),
                Step::Shutdown => {
                    shared.request_shutdown();
                    return Ok(());
                }
            }
        }
    }
}
