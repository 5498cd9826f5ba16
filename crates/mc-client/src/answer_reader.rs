//! A connection's reading side: one task reads the answers in the order the requests were
//! written and hands each to whoever waits for it, and keeps the deadline of the oldest one.
//!
//! Deadlines live here, not in the callers: a call carries its deadline to the reader, which
//! races every read against one timer for the answer it is reading. The timer is moved only
//! when it fires early (deadlines grow in queue order) or an earlier deadline comes in, so a
//! busy connection re-arms it about once per timeout instead of every call arming and
//! dropping a timer of its own.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use mc_proto::{Peeked, Response, ResponseDecoder};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::{mpsc, oneshot};
use tokio::task::AbortHandle;
use tokio::time::{Instant, Sleep};

use crate::client_error::{Error, Result};
use crate::found_values::FoundValues;
use crate::pipeline::{closed, count_close, deadline_after, Expect, Reply};
use crate::read_turn::ReadTurn;
use crate::request_writer::RequestWriter;

/// A request written (or about to be), whose answer is awaited.
pub(crate) struct Waiting {
    /// What shape of answer it gets.
    pub(crate) expect: Expect,
    /// Where the answer goes.
    pub(crate) reply: oneshot::Sender<Result<Reply>>,
    /// When its caller stops waiting: the connection is then dropped.
    pub(crate) deadline: Instant,
}

/// The most values a multi-key answer's list reserves before any arrive.
const MAX_VALUES_RESERVED: usize = 4096;

/// Bytes of found values after which a multi-key answer's buffer is cut: the values stay in
/// place until then, and making room for more copies at most this much (a buffer still
/// shared with values handed out earlier cannot grow in place).
const MAX_VALUES_IN_PLACE: usize = 256 * 1024;

/// The longest `stats` answer taken: memcached's are a few KiB (its `stats cachedump` stops at
/// 2 MB); a server streaming `STAT` lines without end is refused here, not held in memory.
const MAX_STATS_ANSWER: usize = 16 * 1024 * 1024;

/// Free space below which a read first makes room: reading into the last few bytes of the
/// buffer would cost a system call per sliver of an answer.
const MIN_READ_SPACE: usize = 4 * 1024;

/// The room then made. Values handed out are slices of the buffer and keep it alive, so the
/// buffer is only replaced once it is nearly full (a value kept by the caller pins a buffer
/// holding at least 12 KiB of answers, never one holding little else).
const READ_SPACE: usize = 16 * 1024;

/// The reader task: read answers for the callers queued in `waiting`, in order, taking turns
/// with callers that read their own (see `read_turn`), until the connection is done for;
/// then `writer` (the task) and `requests` (the queue callers write from) are stopped.
pub(crate) async fn read_loop(
    turn: Arc<ReadTurn>,
    mut waiting: mpsc::Receiver<Waiting>,
    writer: AbortHandle,
    requests: Arc<RequestWriter>,
) {
    while let Some(job) = waiting.recv().await {
        // Taken for each answer, and given back after it: a caller that claimed the answer
        // before this job's reads it first (the claim is checked on every take).
        let Some(mut answers) = turn.take_for_task().await else {
            return;
        };
        let result = answers.answer(job.expect, job.deadline).await;
        let failed = result.is_err();
        let _ = job.reply.send(result);
        if failed {
            count_close();
            answers.broken.store(true, Ordering::Relaxed);
            writer.abort();
            requests.stop();
            turn.stop();
            // Everything still waiting fails: the stream is out of step.
            waiting.close();
            while let Some(job) = waiting.recv().await {
                let _ = job.reply.send(Err(closed(&answers.server)));
            }
            return;
        }
        turn.put_from_task(answers);
        requests.answered();
    }
}

/// A connection's reading half.
#[derive(Debug)]
pub(crate) enum ReadSocket {
    Tcp(tokio::net::tcp::OwnedReadHalf),
    Unix(tokio::net::unix::OwnedReadHalf),
}

impl AsyncRead for ReadSocket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            ReadSocket::Tcp(half) => Pin::new(half).poll_read(cx, buf),
            ReadSocket::Unix(half) => Pin::new(half).poll_read(cx, buf),
        }
    }
}

/// The deadline of the answer being read, and the one timer that keeps it.
struct AnswerClock {
    /// When the answer being read is due.
    due: Instant,
    /// The timer (boxed: a `Sleep` must not move once polled). It may be set earlier than
    /// `due`, for an answer that has come since.
    timer: Pin<Box<Sleep>>,
}

impl AnswerClock {
    fn new() -> AnswerClock {
        let never = deadline_after(Duration::MAX);
        AnswerClock {
            due: never,
            timer: Box::pin(tokio::time::sleep_until(never)),
        }
    }

    /// Resolves once `due` has passed.
    async fn expired(&mut self) {
        loop {
            // Moved only when it would fire too late, or has fired for an earlier answer.
            if self.due < self.timer.deadline() || self.timer.is_elapsed() {
                self.timer.as_mut().reset(self.due);
            }
            self.timer.as_mut().await;
            if Instant::now() >= self.due {
                return;
            }
        }
    }
}

/// The reading side's state: whoever holds it reads the next answer.
pub(crate) struct AnswerReader {
    /// The socket's reading half.
    reader: ReadSocket,
    /// What was read and not yet handed out.
    buf: BytesMut,
    decoder: ResponseDecoder,
    /// The server's name, for errors.
    server: String,
    /// Set once the connection is done for (by either task or a caller).
    broken: Arc<AtomicBool>,
    /// The deadline of the answer being read.
    clock: AnswerClock,
}

impl AnswerReader {
    pub(crate) fn new(
        reader: ReadSocket,
        server: String,
        broken: Arc<AtomicBool>,
        max_value: usize,
    ) -> AnswerReader {
        AnswerReader {
            reader,
            buf: BytesMut::with_capacity(READ_SPACE),
            decoder: ResponseDecoder::new(max_value.saturating_add(1024)),
            server,
            broken,
            clock: AnswerClock::new(),
        }
    }

    /// Read the next answer, of shape `expect`, by `deadline`.
    pub(crate) async fn answer(&mut self, expect: Expect, deadline: Instant) -> Result<Reply> {
        self.clock.due = deadline;
        self.read_reply(expect).await
    }

    /// Read once more into the buffer: the answer so far is incomplete. Fails when the server
    /// closed the connection, the answer is overdue, or the connection was dropped meanwhile
    /// (a drop while this waits aborts the task instead).
    async fn fill(&mut self) -> Result<()> {
        if self.broken.load(Ordering::Relaxed) {
            return Err(closed(&self.server));
        }
        if self.buf.capacity() - self.buf.len() < MIN_READ_SPACE {
            self.buf.reserve(READ_SPACE);
        }
        tokio::select! {
            biased;
            read = self.reader.read_buf(&mut self.buf) => match read {
                Ok(0) => Err(closed(&self.server)),
                Ok(_) => Ok(()),
                Err(source) => Err(Error::Io { server: self.server.clone(), source }),
            },
            () = self.clock.expired() => Err(Error::Timeout(self.server.clone())),
        }
    }

    async fn next_response(&mut self) -> Result<Response> {
        loop {
            if let Some(response) = self.decoder.decode(&mut self.buf)? {
                return Ok(response);
            }
            self.fill().await?;
        }
    }

    async fn read_reply(&mut self, expect: Expect) -> Result<Reply> {
        match expect {
            Expect::Nothing => Ok(Reply::Sent),
            Expect::Line => match self.next_response().await? {
                response @ (Response::Value(_) | Response::Stat { .. }) => {
                    Err(unexpected(&response, &self.server))
                }
                other => Ok(Reply::Line(other)),
            },
            Expect::Values(expected) => self.read_values(expected).await,
            Expect::Value => {
                let mut value = None;
                // One value at most (bounded by the decoder), so no limit of its own.
                let end = self.read_listing(usize::MAX, |r| match r {
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
                let end = self.read_listing(MAX_STATS_ANSWER, |r| match r {
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

    /// Read a multi-key answer's `VALUE` items up to `END`, leaving them where they were read
    /// and cutting the buffer once per stretch of them (not twice per item). Returns the
    /// error line that ended the answer instead, if one did (e.g. `CLIENT_ERROR` for a bad
    /// key).
    async fn read_values(&mut self, expected: u32) -> Result<Reply> {
        // Sized by the number of keys asked for, never by anything the server says, and only
        // up to a point: a call naming millions of keys, most of them missing, should not
        // reserve room for all of them before the first answer.
        let mut items = Vec::with_capacity((expected as usize).min(MAX_VALUES_RESERVED));
        let mut found = FoundValues::default();
        // The front of the buffer holding the items found so far, and how many there are.
        let mut at = 0;
        let mut count = 0u32;
        loop {
            match self.decoder.peek_value(&self.buf[at..])? {
                Peeked::Value(_) if count == expected => {
                    // A server answers each key asked at most once: more values than keys is
                    // a lie, refused before it costs more memory than the request could.
                    return Err(Error::Protocol(format!(
                        "more values than the {expected} keys asked from {}",
                        self.server
                    )));
                }
                Peeked::Value(span) => {
                    count += 1;
                    let span = span.shifted(at);
                    at = span.end();
                    items.push(span);
                    if at >= MAX_VALUES_IN_PLACE {
                        found.push(self.buf.split_to(at).freeze(), std::mem::take(&mut items));
                        at = 0;
                    }
                }
                Peeked::Incomplete => self.fill().await?,
                Peeked::Other => {
                    found.push(self.buf.split_to(at).freeze(), std::mem::take(&mut items));
                    at = 0;
                    match self.decoder.decode(&mut self.buf)? {
                        Some(Response::End) => return Ok(Reply::Values(found)),
                        Some(
                            r @ (Response::Error(_)
                            | Response::ClientError(_)
                            | Response::ServerError(_)),
                        ) => return Ok(Reply::Line(r)),
                        Some(other) => return Err(unexpected(&other, &self.server)),
                        // A meta `VA` line still arriving: whatever it is, it is not ours.
                        None => self.fill().await?,
                    }
                }
            }
        }
    }

    /// Read the items of a listing (`VALUE`s, `STAT`s) up to `END`, handing each to `take`,
    /// which refuses one that does not belong (the stream is then out of step: an error). An
    /// answer longer than `limit` bytes is refused as it arrives.
    /// Returns `None` at `END`, or the error line that ended the listing instead (e.g.
    /// `CLIENT_ERROR` for a bad key).
    async fn read_listing(
        &mut self,
        limit: usize,
        mut take: impl FnMut(Response) -> std::result::Result<(), Response>,
    ) -> Result<Option<Response>> {
        let mut consumed = 0usize;
        loop {
            // Everything already read is decoded in one go; only then is the socket awaited.
            loop {
                let before = self.buf.len();
                let Some(response) = self.decoder.decode(&mut self.buf)? else {
                    break;
                };
                consumed += before - self.buf.len();
                if consumed > limit {
                    return Err(Error::Protocol(format!(
                        "an answer longer than {limit} bytes from {}",
                        self.server
                    )));
                }
                match response {
                    Response::End => return Ok(None),
                    r @ (Response::Error(_)
                    | Response::ClientError(_)
                    | Response::ServerError(_)) => return Ok(Some(r)),
                    item => take(item).map_err(|other| unexpected(&other, &self.server))?,
                }
            }
            self.fill().await?;
        }
    }
}

/// An answer that does not fit the request: the stream is out of step.
fn unexpected(answer: &Response, server: &str) -> Error {
    Error::Protocol(format!("unexpected answer {answer:?} from {server}"))
}
