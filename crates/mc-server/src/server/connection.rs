//! One client connection: read, decode a batch of pipelined requests, run them under one lock,
//! write the answers.

use std::io::ErrorKind;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::BytesMut;
use mc_proto::{Limits, Request, RequestDecoder, RequestError};

use super::stream::{Accepted, Stream};
use super::Shared;
use crate::commands::{self, Control, Ctx};
use crate::stats::ConnectionStats;

/// Bytes asked of the socket per read.
const READ_SIZE: usize = 16 * 1024;

/// Answers buffered before they are written out even mid-batch, so a client that pipelines many
/// large gets and reads slowly holds at most this much server memory.
const WRITE_HIGH_WATER: usize = 256 * 1024;

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

pub(crate) async fn serve(accepted: Accepted, shared: Arc<Shared>) {
    if let Ok(stream) = Stream::register(accepted) {
        if let Err(e) = run(stream, &shared).await {
            tracing::debug!("connection closed: {e}");
        }
    }
    shared
        .conn_stats
        .curr_connections
        .fetch_sub(1, Ordering::Relaxed);
}

async fn run(mut stream: Stream, shared: &Shared) -> std::io::Result<()> {
    let limits = Limits {
        max_item_size: shared.config.store.max_item_size,
        ..Limits::default()
    };
    let mut decoder = RequestDecoder::new(limits);
    let mut rbuf = BytesMut::new();
    let mut wbuf = BytesMut::new();
    let mut batch: Vec<Result<Request, RequestError>> = Vec::new();
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
            Ok(n) => ConnectionStats::add(&shared.conn_stats.bytes_read, n as u64),
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::Interrupted => {
                continue
            }
            Err(e) => return Err(e),
        }

        let mut fatal = false;
        loop {
            match decoder.decode(&mut rbuf) {
                Ok(Some(request)) => batch.push(Ok(request)),
                Ok(None) => break,
                Err(error) => {
                    fatal = error.closes_connection();
                    batch.push(Err(error));
                    if fatal {
                        break;
                    }
                }
            }
        }

        let mut control = Control::Continue;
        let mut pending = batch.drain(..);
        loop {
            let mut more = false;
            {
                let mut guard = shared.lock();
                let locked = &mut *guard;
                let mut ctx = Ctx {
                    store: &mut locked.store,
                    counters: &mut locked.counters,
                    now: shared.clock.now(),
                    out: &mut wbuf,
                    shared,
                };
                for item in pending.by_ref() {
                    control = match item {
                        Ok(request) => commands::execute(request, &mut ctx),
                        Err(error) => commands::reject(error, &mut ctx),
                    };
                    if control != Control::Continue {
                        break;
                    }
                    if ctx.out.len() >= WRITE_HIGH_WATER {
                        more = true;
                        break;
                    }
                }
            }
            if !wbuf.is_empty() {
                stream.write_all(&wbuf).await?;
                ConnectionStats::add(&shared.conn_stats.bytes_written, wbuf.len() as u64);
                wbuf.clear();
            }
            if !more || control != Control::Continue {
                break;
            }
        }
        drop(pending);
        batch.clear();
        match control {
            Control::Continue if !fatal => {}
            Control::Shutdown => {
                shared.request_shutdown();
                return Ok(());
            }
            _ => return Ok(()),
        }
        if wbuf.capacity() > KEEP_BUFFER {
            wbuf = borrow_buffer();
        }
    }
}
