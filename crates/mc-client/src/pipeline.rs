//! One pipelined connection: many tasks send requests through it without waiting for each
//! other; a writer task batches what is queued into one write, a reader task hands each answer
//! to whoever is next in line.
//!
//! Both queues are bounded: at most [`QUEUE_DEPTH`] requests wait to be written and as many
//! answers are awaited, so a server that stops reading or answering slows its callers down
//! (they wait to enqueue, then time out) instead of growing the client's memory.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use mc_proto::{Peeked, Response, ResponseDecoder, Value};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tokio::task::AbortHandle;

use crate::address::ServerAddr;
use crate::client_error::{Error, Result};
use crate::found_values::FoundValues;
use crate::request_wire::RequestWire;

/// What shape of answer a request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    /// One line (`STORED`, `DELETED`, a number, `VERSION ...`, `OK` ...).
    Line,
    /// `VALUE` items up to `END`, about as many as this (to size the list once), left in
    /// place in the read buffer.
    Values(u32),
    /// At most one `VALUE` item, then `END` (a retrieval of one key: no list to allocate).
    Value,
    /// `STAT` lines up to `END`.
    Stats,
    /// Nothing (`noreply`).
    Nothing,
}

/// An answer.
#[derive(Debug)]
pub(crate) enum Reply {
    Line(Response),
    Values(FoundValues),
    Value(Option<Value>),
    Stats(Vec<(Bytes, Bytes)>),
    Sent,
}

struct Job {
    bytes: RequestWire,
    expect: Expect,
    reply: oneshot::Sender<Result<Reply>>,
}

struct Waiting {
    expect: Expect,
    reply: oneshot::Sender<Result<Reply>>,
}

/// A connection's two tasks, and whether the connection is done for.
#[derive(Debug)]
struct Tasks {
    /// Set once the connection failed or was dropped; read by both tasks.
    broken: Arc<AtomicBool>,
    writer: AbortHandle,
    reader: AbortHandle,
}

impl Tasks {
    /// Stop both tasks where they wait. Dropping a task drops its half of the socket (closed
    /// once both are gone) and every answer slot it holds, so whoever waits on one sees the
    /// connection closed. Aborting costs the waiting reads nothing, where a notification
    /// checked on every read would.
    fn stop(&self) {
        self.broken.store(true, Ordering::Relaxed);
        self.writer.abort();
        self.reader.abort();
    }
}

/// A handle to a connection; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Connection {
    jobs: mpsc::Sender<Job>,
    tasks: Arc<Tasks>,
}

/// The most values a multi-key answer's list reserves before any arrive.
const MAX_VALUES_RESERVED: usize = 4096;

/// Bytes of found values after which a multi-key answer's buffer is cut: the values stay in
/// place until then, and making room for more copies at most this much (a buffer still
/// shared with values handed out earlier cannot grow in place).
const MAX_VALUES_IN_PLACE: usize = 256 * 1024;

/// Free space below which a read first makes room: reading into the last few bytes of the
/// buffer would cost a system call per sliver of an answer.
const MIN_READ_SPACE: usize = 4 * 1024;

/// The room then made. Values handed out are slices of the buffer and keep it alive, so the
/// buffer is only replaced once it is nearly full (a value kept by the caller pins a buffer
/// holding at least 12 KiB of answers, never one holding little else).
const READ_SPACE: usize = 16 * 1024;

/// Requests queued for writing, and answers awaited, per connection.
pub(crate) const QUEUE_DEPTH: usize = 1024;

impl Connection {
    /// Connect and start the connection's tasks on the current runtime.
    pub(crate) async fn open(
        addr: &ServerAddr,
        connect_timeout: Duration,
        max_value: usize,
    ) -> Result<Connection> {
        let io_error = |source| Error::Io {
            server: addr.to_string(),
            source,
        };
        match addr {
            ServerAddr::Tcp(host) => {
                let stream = tokio::time::timeout(
                    connect_timeout,
                    tokio::net::TcpStream::connect(host.as_str()),
                )
                .await
                .map_err(|_| Error::Timeout(addr.to_string()))?
                .map_err(io_error)?;
                stream.set_nodelay(true).map_err(io_error)?;
                // Owned halves: reading and writing share no lock.
                let (reader, writer) = stream.into_split();
                Ok(Connection::start(reader, writer, addr, max_value))
            }
            ServerAddr::Unix(path) => {
                let stream =
                    tokio::time::timeout(connect_timeout, tokio::net::UnixStream::connect(path))
                        .await
                        .map_err(|_| Error::Timeout(addr.to_string()))?
                        .map_err(io_error)?;
                let (reader, writer) = stream.into_split();
                Ok(Connection::start(reader, writer, addr, max_value))
            }
        }
    }

    /// Start the writer and reader tasks of a connected stream.
    fn start<R, W>(reader: R, writer: W, addr: &ServerAddr, max_value: usize) -> Connection
    where
        R: AsyncRead + Send + Unpin + 'static,
        W: AsyncWrite + Send + Unpin + 'static,
    {
        let (jobs, job_rx) = mpsc::channel(QUEUE_DEPTH);
        let (wait_tx, wait_rx) = mpsc::channel(QUEUE_DEPTH);
        let broken = Arc::new(AtomicBool::new(false));
        let name = addr.to_string();
        let writer = tokio::spawn(write_loop(
            writer,
            job_rx,
            wait_tx,
            broken.clone(),
            name.clone(),
        ));
        let reader = tokio::spawn(read_loop(reader, wait_rx, broken.clone(), name, max_value));
        let tasks = Arc::new(Tasks {
            broken,
            writer: writer.abort_handle(),
            reader: reader.abort_handle(),
        });
        Connection { jobs, tasks }
    }

    /// True once the connection failed; it must be replaced.
    pub(crate) fn is_broken(&self) -> bool {
        self.tasks.broken.load(Ordering::Relaxed) || self.jobs.is_closed()
    }

    /// Drop the connection: pending requests fail and the socket is closed.
    pub(crate) fn close(&self) {
        self.tasks.stop();
    }

    /// Send one request and wait for its answer.
    pub(crate) async fn call(
        &self,
        bytes: RequestWire,
        expect: Expect,
        timeout: Duration,
        server: &str,
    ) -> Result<Reply> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            bytes,
            expect,
            reply,
        };
        // Waiting for room in the queue counts against the same timeout as the answer.
        let exchange = async {
            self.jobs.send(job).await.map_err(|_| closed(server))?;
            answer.await.map_err(|_| closed(server))
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(Ok(result)) => result,
            Ok(Err(e)) => Err(e),
            Err(_) => {
                // The answer may still come; the stream is no longer trusted to be in step
                // with what callers expect, so the connection is dropped.
                self.close();
                Err(Error::Timeout(server.to_string()))
            }
        }
    }
}

impl Connection {
    /// Send many requests back to back and wait for all their answers, within one timeout for
    /// the whole batch; the answers come in the order of the requests. On a timeout the
    /// connection is dropped and every request not yet answered fails.
    pub(crate) async fn call_batch(
        &self,
        batch: Vec<(BytesMut, Expect)>,
        timeout: Duration,
        server: &str,
    ) -> Vec<Result<Reply>> {
        // A timeout past what an `Instant` can hold means "no deadline" (as tokio's own
        // `timeout` treats it): about thirty years.
        let now = tokio::time::Instant::now();
        let deadline = now
            .checked_add(timeout)
            .unwrap_or_else(|| now + Duration::from_secs(30 * 365 * 86_400));
        let mut pending = Vec::with_capacity(batch.len());
        for (bytes, expect) in batch {
            let (reply, answer) = oneshot::channel();
            let job = Job {
                bytes: RequestWire::Buffer(bytes),
                expect,
                reply,
            };
            let queued = tokio::time::timeout_at(deadline, self.jobs.send(job)).await;
            pending.push(matches!(queued, Ok(Ok(()))).then_some(answer));
        }
        let mut results = Vec::with_capacity(pending.len());
        let mut timed_out = false;
        for answer in pending {
            let result = match answer {
                None if timed_out => Err(Error::Timeout(server.to_string())),
                None => Err(closed(server)),
                Some(answer) => match tokio::time::timeout_at(deadline, answer).await {
                    Ok(Ok(result)) => result,
                    Ok(Err(_)) => Err(closed(server)),
                    Err(_) => {
                        timed_out = true;
                        self.close();
                        Err(Error::Timeout(server.to_string()))
                    }
                },
            };
            results.push(result);
        }
        results
    }
}

fn closed(server: &str) -> Error {
    Error::Io {
        server: server.to_string(),
        source: std::io::Error::new(std::io::ErrorKind::ConnectionAborted, "connection closed"),
    }
}

async fn write_loop(
    mut writer: impl AsyncWrite + Unpin,
    mut jobs: mpsc::Receiver<Job>,
    waiting: mpsc::Sender<Waiting>,
    broken: Arc<AtomicBool>,
    server: String,
) {
    let mut buf = BytesMut::new();
    while let Some(first) = jobs.recv().await {
        if broken.load(Ordering::Relaxed) {
            let _ = first.reply.send(Err(closed(&server)));
            continue;
        }
        let mut sent_now = Vec::new();
        let mut next = Some(first);
        // A request whose answer slot is not yet free: written after what is buffered, once
        // the reader has taken answers off the queue.
        let mut blocked = None;
        // Everything queued goes out in one write, up to a full answer queue.
        while let Some(job) = next {
            if job.expect == Expect::Nothing {
                buf.extend_from_slice(job.bytes.as_slice());
                sent_now.push(job.reply);
            } else {
                let Job {
                    bytes,
                    expect,
                    reply,
                } = job;
                match waiting.try_send(Waiting { expect, reply }) {
                    Ok(()) => buf.extend_from_slice(bytes.as_slice()),
                    Err(mpsc::error::TrySendError::Full(w)) => {
                        blocked = Some(Job {
                            bytes,
                            expect: w.expect,
                            reply: w.reply,
                        });
                        break;
                    }
                    Err(mpsc::error::TrySendError::Closed(w)) => {
                        broken.store(true, Ordering::Relaxed);
                        let _ = w.reply.send(Err(closed(&server)));
                    }
                }
            }
            next = jobs.try_recv().ok();
        }
        if !buf.is_empty() {
            let result = writer.write_all(&buf).await;
            buf.clear();
            if let Err(e) = result {
                broken.store(true, Ordering::Relaxed);
                for reply in sent_now {
                    let _ = reply.send(Err(Error::Io {
                        server: server.clone(),
                        source: std::io::Error::new(e.kind(), e.to_string()),
                    }));
                }
                if let Some(job) = blocked {
                    let _ = job.reply.send(Err(closed(&server)));
                }
                break;
            }
        }
        for reply in sent_now {
            let _ = reply.send(Ok(Reply::Sent));
        }
        if let Some(job) = blocked {
            // Everything before it is written: wait for an answer slot, then send it.
            let Job {
                bytes,
                expect,
                reply,
            } = job;
            if let Err(refused) = waiting.send(Waiting { expect, reply }).await {
                broken.store(true, Ordering::Relaxed);
                let _ = refused.0.reply.send(Err(closed(&server)));
                break;
            }
            buf.extend_from_slice(bytes.as_slice());
            if let Err(e) = writer.write_all(&buf).await {
                broken.store(true, Ordering::Relaxed);
                tracing::debug!("write to {server} failed: {e}");
                break;
            }
            buf.clear();
        }
    }
    // Dropping `waiting` lets the reader finish the requests already written.
}

async fn read_loop(
    mut reader: impl AsyncRead + Unpin,
    mut waiting: mpsc::Receiver<Waiting>,
    broken: Arc<AtomicBool>,
    server: String,
    max_value: usize,
) {
    let mut buf = BytesMut::with_capacity(16 * 1024);
    let mut decoder = ResponseDecoder::new(max_value.saturating_add(1024));
    while let Some(job) = waiting.recv().await {
        let result = read_reply(
            &mut reader,
            &mut buf,
            &mut decoder,
            job.expect,
            &server,
            &broken,
        )
        .await;
        let failed = result.is_err();
        let _ = job.reply.send(result);
        if failed {
            broken.store(true, Ordering::Relaxed);
            // Everything still waiting fails: the stream is out of step.
            waiting.close();
            while let Some(job) = waiting.recv().await {
                let _ = job.reply.send(Err(closed(&server)));
            }
            return;
        }
    }
}

async fn next_response(
    reader: &mut (impl AsyncRead + Unpin),
    buf: &mut BytesMut,
    decoder: &mut ResponseDecoder,
    server: &str,
    broken: &AtomicBool,
) -> Result<Response> {
    loop {
        if let Some(response) = decoder.decode(buf)? {
            return Ok(response);
        }
        fill(reader, buf, server, broken).await?;
    }
}

/// Read once more into `buf`: the answer so far is incomplete. Fails when the server closed
/// the connection or the connection was dropped meanwhile (a drop while this waits aborts the
/// task instead: see [`Tasks::stop`]).
async fn fill(
    reader: &mut (impl AsyncRead + Unpin),
    buf: &mut BytesMut,
    server: &str,
    broken: &AtomicBool,
) -> Result<()> {
    if broken.load(Ordering::Relaxed) {
        return Err(closed(server));
    }
    if buf.capacity() - buf.len() < MIN_READ_SPACE {
        buf.reserve(READ_SPACE);
    }
    match reader.read_buf(buf).await {
        Ok(0) => Err(closed(server)),
        Ok(_) => Ok(()),
        Err(source) => Err(Error::Io {
            server: server.to_string(),
            source,
        }),
    }
}

async fn read_reply(
    reader: &mut (impl AsyncRead + Unpin),
    buf: &mut BytesMut,
    decoder: &mut ResponseDecoder,
    expect: Expect,
    server: &str,
    broken: &AtomicBool,
) -> Result<Reply> {
    match expect {
        Expect::Nothing => Ok(Reply::Sent),
        Expect::Line => {
            let response = next_response(reader, buf, decoder, server, broken).await?;
            match response {
                Response::Value(_) | Response::Stat { .. } => Err(unexpected(&response, server)),
                other => Ok(Reply::Line(other)),
            }
        }
        Expect::Values(expected) => {
            read_values(reader, buf, decoder, expected, server, broken).await
        }
        Expect::Value => {
            let mut value = None;
            let end = read_listing(reader, buf, decoder, server, broken, |r| match r {
                Response::Value(v) if value.is_none() => {
                    value = Some(v);
                    Ok(())
                }
                // A second value for one key: the stream is out of step.
                other => Err(other),
            });
            Ok(end.await?.map_or(Reply::Value(value), Reply::Line))
        }
        Expect::Stats => {
            let mut stats = Vec::new();
            let end = read_listing(reader, buf, decoder, server, broken, |r| match r {
                Response::Stat { name, value } => {
                    stats.push((name, value));
                    Ok(())
                }
                other => Err(other),
            });
            Ok(end.await?.map_or(Reply::Stats(stats), Reply::Line))
        }
    }
}

/// Read a multi-key answer's `VALUE` items up to `END`, leaving them where they were read and
/// cutting the buffer once per stretch of them (not twice per item). Returns the error line
/// that ended the answer instead, if one did (e.g. `CLIENT_ERROR` for a bad key).
async fn read_values(
    reader: &mut (impl AsyncRead + Unpin),
    buf: &mut BytesMut,
    decoder: &mut ResponseDecoder,
    expected: u32,
    server: &str,
    broken: &AtomicBool,
) -> Result<Reply> {
    // Sized by the number of keys asked for, never by anything the server says, and only up
    // to a point: a call naming millions of keys, most of them missing, should not reserve
    // room for all of them before the first answer.
    let mut items = Vec::with_capacity((expected as usize).min(MAX_VALUES_RESERVED));
    let mut found = FoundValues::default();
    // The front of `buf` holding the items found so far.
    let mut at = 0;
    loop {
        match decoder.peek_value(&buf[at..])? {
            Peeked::Value(span) => {
                let span = span.shifted(at);
                at = span.end();
                items.push(span);
                if at >= MAX_VALUES_IN_PLACE {
                    found.push(buf.split_to(at).freeze(), std::mem::take(&mut items));
                    at = 0;
                }
            }
            Peeked::Incomplete => fill(reader, buf, server, broken).await?,
            Peeked::Other => {
                found.push(buf.split_to(at).freeze(), std::mem::take(&mut items));
                at = 0;
                match decoder.decode(buf)? {
                    Some(Response::End) => return Ok(Reply::Values(found)),
                    Some(
                        r @ (Response::Error(_)
                        | Response::ClientError(_)
                        | Response::ServerError(_)),
                    ) => return Ok(Reply::Line(r)),
                    Some(other) => return Err(unexpected(&other, server)),
                    // A meta `VA` line still arriving: whatever it is, it is not ours.
                    None => fill(reader, buf, server, broken).await?,
                }
            }
        }
    }
}

/// Read the items of a listing (`VALUE`s, `STAT`s) up to `END`, handing each to `take`, which
/// refuses one that does not belong (the stream is then out of step: an error). Returns `None`
/// at `END`, or the error line that ended the listing instead (e.g. `CLIENT_ERROR` for a bad
/// key).
async fn read_listing(
    reader: &mut (impl AsyncRead + Unpin),
    buf: &mut BytesMut,
    decoder: &mut ResponseDecoder,
    server: &str,
    broken: &AtomicBool,
    mut take: impl FnMut(Response) -> std::result::Result<(), Response>,
) -> Result<Option<Response>> {
    loop {
        // Everything already read is decoded in one go; only then is the socket awaited.
        while let Some(response) = decoder.decode(buf)? {
            match response {
                Response::End => return Ok(None),
                r @ (Response::Error(_) | Response::ClientError(_) | Response::ServerError(_)) => {
                    return Ok(Some(r))
                }
                item => take(item).map_err(|other| unexpected(&other, server))?,
            }
        }
        fill(reader, buf, server, broken).await?;
    }
}

/// An answer that does not fit the request: the stream is out of step.
fn unexpected(answer: &Response, server: &str) -> Error {
    Error::Protocol(format!("unexpected answer {answer:?} from {server}"))
}
