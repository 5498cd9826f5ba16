//! One pipelined connection: many tasks send requests through it without waiting for each
//! other. A caller alone on the connection writes its request and reads its answer itself;
//! otherwise a writer task writes what is queued (see `request_writer`) and a reader task
//! hands each answer to whoever is next in line (see `answer_reader`, `read_turn`).
//!
//! At most [`QUEUE_DEPTH`] answers are awaited per connection: a caller first takes a slot in
//! the reader's queue, so a server that stops reading or answering slows its callers down
//! (they wait for a slot, then time out) instead of growing the client's memory. A call's
//! deadline travels with its request: the writer keeps it while writing, the reader while
//! reading, and the call itself arms no timer.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use mc_proto::{Response, Value};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tokio::time::Instant;

use crate::address::ServerAddr;
use crate::answer_reader::{read_loop, AnswerReader, ReadSocket, Waiting};
use crate::client_error::{Error, Result};
use crate::found_values::FoundValues;
use crate::read_turn::ReadTurn;
use crate::request_writer::{Awaits, Batch, Hears, RequestWriter, WriteSocket};

/// What shape of answer a request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    /// One line (`STORED`, `DELETED`, a number, `VERSION ...`, `OK` ...).
    Line,
    /// `VALUE` items up to `END`, at most this many (one per key asked; more is refused as a
    /// lie), left in place in the read buffer.
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

/// Connections dropped in this process so far (see [`closes_so_far`]).
static CLOSES: AtomicU64 = AtomicU64::new(0);

/// How many connections have been dropped in this process: a caller that drives its own
/// runtime (the blocking client) runs it once more after a call during which this changed,
/// so that the dropped connections' tasks end and their sockets close now, not whenever the
/// runtime next runs.
pub(crate) fn closes_so_far() -> u64 {
    CLOSES.load(Ordering::Relaxed)
}

/// Count a dropped connection.
pub(crate) fn count_close() {
    CLOSES.fetch_add(1, Ordering::Relaxed);
}

impl Shared {
    /// Stop the connection: its queue is emptied and shut, its reading state dropped, and
    /// both tasks stopped where they wait. Dropping a task drops what it holds (every answer
    /// slot), so whoever waits on one sees the connection closed. Aborting costs the waiting
    /// reads nothing, where a notification checked on every read would.
    fn stop(&self) {
        count_close();
        self.broken.store(true, Ordering::Relaxed);
        self.writer.stop();
        self.turn.stop();
        self.writer_task.abort();
        self.reader_task.abort();
    }
}

impl Drop for Shared {
    /// The last handle is gone, so nobody waits for an answer on it (a call holds a handle
    /// until it returns): the connection ends.
    fn drop(&mut self) {
        if !self.broken.load(Ordering::Relaxed) {
            self.stop();
        }
    }
}

/// Stops the connection unless disarmed: a write or read that failed, or a caller dropped
/// while writing its request or reading its answer, leaves the stream out of step (half a
/// request written, or an answer nobody will read), after which nothing on the connection
/// can be trusted.
struct StopUnlessDone<'a>(Option<&'a Shared>);

impl Drop for StopUnlessDone<'_> {
    fn drop(&mut self) {
        if let Some(connection) = self.0 {
            connection.stop();
        }
    }
}

/// A handle to a connection; cloning it (once per call) touches one reference count.
#[derive(Debug, Clone)]
pub(crate) struct Connection(Arc<Shared>);

/// What a connection's handles share; dropped with the last handle, which stops the
/// connection.
#[derive(Debug)]
pub(crate) struct Shared {
    /// Answer slots: taken by callers, in the order their requests are queued.
    waiting: mpsc::Sender<Waiting>,
    /// The queue of requests to write (shared with the writer task).
    writer: Arc<RequestWriter>,
    /// Who reads the next answer: the reader task, or a caller alone on the connection.
    turn: Arc<ReadTurn>,
    /// Set once the connection failed or was stopped; read by both tasks.
    broken: Arc<AtomicBool>,
    /// The task writing what callers queue while others' answers are awaited.
    writer_task: AbortHandle,
    /// The task reading answers for callers that are not alone on the connection.
    reader_task: AbortHandle,
}

impl std::ops::Deref for Connection {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// Answers awaited per connection.
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
                Ok(Connection::start(
                    ReadSocket::Tcp(reader),
                    WriteSocket::Tcp(writer),
                    addr,
                    max_value,
                ))
            }
            ServerAddr::Unix(path) => {
                let stream =
                    tokio::time::timeout(connect_timeout, tokio::net::UnixStream::connect(path))
                        .await
                        .map_err(|_| Error::Timeout(addr.to_string()))?
                        .map_err(io_error)?;
                let (reader, writer) = stream.into_split();
                Ok(Connection::start(
                    ReadSocket::Unix(reader),
                    WriteSocket::Unix(writer),
                    addr,
                    max_value,
                ))
            }
        }
    }

    /// Start the writer and reader tasks of a connected stream.
    fn start(
        reader: ReadSocket,
        socket: WriteSocket,
        addr: &ServerAddr,
        max_value: usize,
    ) -> Connection {
        let (waiting, waiting_rx) = mpsc::channel(QUEUE_DEPTH);
        let broken = Arc::new(AtomicBool::new(false));
        let name = addr.to_string();
        let request_writer = Arc::new(RequestWriter::new(socket));
        let turn = Arc::new(ReadTurn::new(AnswerReader::new(
            reader,
            name.clone(),
            broken.clone(),
            max_value,
        )));
        let writer = tokio::spawn(write_loop(
            request_writer.clone(),
            broken.clone(),
            name.clone(),
        ));
        let reader = tokio::spawn(read_loop(
            turn.clone(),
            waiting_rx,
            writer.abort_handle(),
            request_writer.clone(),
        ));
        Connection(Arc::new(Shared {
            waiting,
            writer: request_writer,
            turn,
            broken,
            writer_task: writer.abort_handle(),
            reader_task: reader.abort_handle(),
        }))
    }

    /// True once the connection failed; it must be replaced.
    pub(crate) fn is_broken(&self) -> bool {
        self.broken.load(Ordering::Relaxed)
    }

    /// Drop the connection: pending requests fail and the socket is closed.
    pub(crate) fn close(&self) {
        self.stop();
    }

    /// Send one request and wait for its answer, for at most `timeout`.
    pub(crate) async fn call(
        &self,
        bytes: &[u8],
        expect: Expect,
        timeout: Duration,
        server: &str,
    ) -> Result<Reply> {
        let deadline = deadline_after(timeout);
        let awaits = self
            .awaits(expect, deadline, Some(&self.turn), server)
            .await?;
        // Alone on the connection, the caller writes its request and reads its answer itself
        // (no task hop, no channel); with others' answers awaited too, the writer task writes
        // what they all queue in one go, and the reader task hands the answers out.
        let (hears, batch) = self.writer.queue(bytes, deadline, awaits, false);
        if let Some(batch) = batch {
            self.write(batch, bytes, server).await?;
        }
        match hears {
            Hears::ReadsItself => self.read_own_answer(expect, deadline, server).await,
            // The reader answers by the deadline: with the answer, or a timeout.
            Hears::From(answer) => answer.await.unwrap_or_else(|_| Err(closed(server))),
            Hears::Stopped => Err(closed(server)),
        }
    }

    /// Read the answer this caller claimed. If the call is dropped before it is read, or the
    /// answer is not one (a timeout, a lie, a closed socket), the connection is stopped: the
    /// stream is out of step.
    async fn read_own_answer(
        &self,
        expect: Expect,
        deadline: Instant,
        server: &str,
    ) -> Result<Reply> {
        let mut stop = StopUnlessDone(Some(&self.0));
        // The reader task gives the state back once it has handed out the answer before.
        let Some(mut answers) = self.turn.take_claimed(deadline).await else {
            return Err(if self.is_broken() {
                closed(server)
            } else {
                Error::Timeout(server.to_string())
            });
        };
        let result = answers.answer(expect, deadline).await;
        if result.is_ok() {
            self.turn.give_back(answers);
            self.writer.answered();
            stop.0 = None;
        }
        result
    }

    /// What a request of shape `expect` waits for: an answer (with a slot in the reader
    /// task's queue, in case it goes there), or only its being written. With no slot free,
    /// what is queued is written first (slots free up only as answers come, and answers only
    /// for what is written), then a slot is awaited until `deadline`; none free then means
    /// the connection is stuck, and it is dropped. With `turn`, the caller may read its
    /// answer itself.
    async fn awaits<'a>(
        &'a self,
        expect: Expect,
        deadline: Instant,
        turn: Option<&'a ReadTurn>,
        server: &str,
    ) -> Result<Awaits<'a>> {
        if expect == Expect::Nothing {
            return Ok(Awaits::Written);
        }
        let slot = match self.waiting.try_reserve() {
            Ok(permit) => permit,
            Err(mpsc::error::TrySendError::Closed(())) => return Err(closed(server)),
            Err(mpsc::error::TrySendError::Full(())) => {
                if let Some(queued) = self.writer.claim() {
                    self.write(queued, &[], server).await?;
                }
                match tokio::time::timeout_at(deadline, self.waiting.reserve()).await {
                    Ok(Ok(permit)) => permit,
                    Ok(Err(_)) => return Err(closed(server)),
                    Err(_) => {
                        self.close();
                        return Err(Error::Timeout(server.to_string()));
                    }
                }
            }
        };
        Ok(Awaits::Answer {
            slot,
            expect,
            deadline,
            turn,
        })
    }

    /// Write a batch this caller took (with `own`, its request, if the batch leaves that to
    /// it). If the call is dropped before the batch is written, or the write fails, the
    /// connection is stopped.
    async fn write(&self, batch: Batch, own: &[u8], server: &str) -> Result<()> {
        let mut stop = StopUnlessDone(Some(&self.0));
        let result = self.writer.write(batch, own, server).await;
        if result.is_ok() {
            stop.0 = None;
        }
        result
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
        let deadline = deadline_after(timeout);
        self.writer
            .reserve(batch.iter().map(|(bytes, _)| bytes.len()).sum());
        let mut pending = Vec::with_capacity(batch.len());
        for (bytes, expect) in batch {
            pending.push(
                self.awaits(expect, deadline, None, server)
                    .await
                    .map(|awaits| {
                        // Queued only: written together below.
                        self.writer.queue(&bytes, deadline, awaits, true).0
                    }),
            );
        }
        if let Some(queued) = self.writer.claim() {
            // A failed write stops the connection: every answer below reports it closed.
            let _ = self.write(queued, &[], server).await;
        }
        let mut results = Vec::with_capacity(pending.len());
        for hears in pending {
            results.push(match hears {
                Ok(Hears::From(answer)) => answer.await.unwrap_or_else(|_| Err(closed(server))),
                // (Not asked for: a batch's answers all come from the reader task.)
                Ok(Hears::ReadsItself | Hears::Stopped) => Err(closed(server)),
                Err(e) => Err(e),
            });
        }
        results
    }
}

/// The instant `timeout` from now; a timeout past what an `Instant` can hold means "no
/// deadline" (as tokio's own `timeout` treats it): about thirty years.
pub(crate) fn deadline_after(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout)
        .unwrap_or_else(|| now + Duration::from_secs(30 * 365 * 86_400))
}

/// The error of a request whose connection closed before it was answered.
pub(crate) fn closed(server: &str) -> Error {
    Error::Io {
        server: server.to_string(),
        source: std::io::Error::new(std::io::ErrorKind::ConnectionAborted, "connection closed"),
    }
}

/// The writer task: writes what callers queue while others' answers are awaited (and what is
/// queued behind a caller's own write), until the connection fails.
async fn write_loop(writer: Arc<RequestWriter>, broken: Arc<AtomicBool>, server: String) {
    let error = writer.write_handed_off(&server).await;
    broken.store(true, Ordering::Relaxed);
    tracing::debug!("write to {server} failed: {error}");
}
