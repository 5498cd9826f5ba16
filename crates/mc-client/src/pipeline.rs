//! One pipelined connection: many tasks send requests through it without waiting for each
//! other; a writer task batches what is queued into one write, a reader task hands each answer
//! to whoever is next in line.
//!
//! Both queues are bounded: at most [`QUEUE_DEPTH`] requests wait to be written and as many
//! answers are awaited, so a server that stops reading or answering slows its callers down
//! (they wait to enqueue, then time out) instead of growing the client's memory. A call's
//! deadline travels with its request: the writer keeps it while writing, the reader while
//! reading (see `answer_reader`), and the call itself arms no timer.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use mc_proto::{Response, Value};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tokio::task::AbortHandle;
use tokio::time::Instant;

use crate::address::ServerAddr;
use crate::answer_reader::{read_loop, Waiting};
use crate::client_error::{Error, Result};
use crate::found_values::FoundValues;
use crate::request_wire::RequestWire;

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

/// A request queued for writing.
struct Job {
    /// The request's bytes.
    bytes: RequestWire,
    /// What shape of answer it gets.
    expect: Expect,
    /// Where the answer goes.
    reply: oneshot::Sender<Result<Reply>>,
    /// When its caller stops waiting.
    deadline: Instant,
}

/// A connection's two tasks, and whether the connection is done for.
#[derive(Debug)]
struct Tasks {
    /// Set once the connection failed or was dropped; read by both tasks.
    broken: Arc<AtomicBool>,
    /// The task writing queued requests.
    writer: AbortHandle,
    /// The task reading answers.
    reader: AbortHandle,
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

impl Tasks {
    /// Stop both tasks where they wait. Dropping a task drops its half of the socket (closed
    /// once both are gone) and every answer slot it holds, so whoever waits on one sees the
    /// connection closed. Aborting costs the waiting reads nothing, where a notification
    /// checked on every read would.
    fn stop(&self) {
        count_close();
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
        let reader = tokio::spawn(read_loop(
            reader,
            wait_rx,
            broken.clone(),
            name,
            max_value,
            writer.abort_handle(),
        ));
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

    /// Send one request and wait for its answer, for at most `timeout`.
    pub(crate) async fn call(
        &self,
        bytes: RequestWire,
        expect: Expect,
        timeout: Duration,
        server: &str,
    ) -> Result<Reply> {
        let deadline = deadline_after(timeout);
        let (reply, answer) = oneshot::channel();
        let job = Job {
            bytes,
            expect,
            reply,
            deadline,
        };
        self.enqueue(job, server).await?;
        // The reader answers by the deadline: with the answer, or a timeout.
        answer.await.unwrap_or_else(|_| Err(closed(server)))
    }

    /// Queue `job` for writing, waiting for room until its deadline. A queue still full then
    /// means the connection is stuck: it is dropped.
    async fn enqueue(&self, job: Job, server: &str) -> Result<()> {
        let deadline = job.deadline;
        let job = match self.jobs.try_send(job) {
            Ok(()) => return Ok(()),
            Err(mpsc::error::TrySendError::Closed(_)) => return Err(closed(server)),
            Err(mpsc::error::TrySendError::Full(job)) => job,
        };
        match tokio::time::timeout_at(deadline, self.jobs.send(job)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(closed(server)),
            Err(_) => {
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
        let deadline = deadline_after(timeout);
        let mut pending = Vec::with_capacity(batch.len());
        for (bytes, expect) in batch {
            let (reply, answer) = oneshot::channel();
            let job = Job {
                bytes: RequestWire::Buffer(bytes),
                expect,
                reply,
                deadline,
            };
            pending.push(self.enqueue(job, server).await.map(|()| answer));
        }
        let mut results = Vec::with_capacity(pending.len());
        for answer in pending {
            results.push(match answer {
                Ok(answer) => answer.await.unwrap_or_else(|_| Err(closed(server))),
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

/// Write what is queued, in batches: each job's answer slot is taken before its bytes go out,
/// so answers and callers stay in the same order.
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
        // The batch is written by the first job's deadline, the earliest in it.
        let deadline = first.deadline;
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
                    deadline,
                } = job;
                match waiting.try_send(Waiting {
                    expect,
                    reply,
                    deadline,
                }) {
                    Ok(()) => buf.extend_from_slice(bytes.as_slice()),
                    Err(mpsc::error::TrySendError::Full(w)) => {
                        blocked = Some(Job {
                            bytes,
                            expect: w.expect,
                            reply: w.reply,
                            deadline: w.deadline,
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
            let result = write_by(&mut writer, &buf, deadline, &server).await;
            buf.clear();
            if let Err(e) = result {
                broken.store(true, Ordering::Relaxed);
                for reply in sent_now {
                    let _ = reply.send(Err(e.for_each_key()));
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
                deadline,
            } = job;
            let slot = Waiting {
                expect,
                reply,
                deadline,
            };
            if let Err(refused) = waiting.send(slot).await {
                broken.store(true, Ordering::Relaxed);
                let _ = refused.0.reply.send(Err(closed(&server)));
                break;
            }
            buf.extend_from_slice(bytes.as_slice());
            if let Err(e) = write_by(&mut writer, &buf, deadline, &server).await {
                broken.store(true, Ordering::Relaxed);
                tracing::debug!("write to {server} failed: {e}");
                break;
            }
            buf.clear();
        }
    }
    // Dropping `waiting` lets the reader finish the requests already written.
}

/// Write all of `bytes` by `deadline` (a server that stops reading fills the socket's
/// buffer; the write then waits, but not forever). A write that completes at once arms no
/// timer.
async fn write_by(
    writer: &mut (impl AsyncWrite + Unpin),
    bytes: &[u8],
    deadline: Instant,
    server: &str,
) -> Result<()> {
    match tokio::time::timeout_at(deadline, writer.write_all(bytes)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(source)) => Err(Error::Io {
            server: server.to_string(),
            source,
        }),
        Err(_) => Err(Error::Timeout(server.to_string())),
    }
}
