//! A connection's writing side, shared by the tasks that call through it. A caller alone on
//! the connection (no other answer awaited) that finds nothing queued writes its request to
//! the socket itself, straight from its own buffer: no task hop, no copy. Otherwise its
//! request is queued, and the connection's writer task writes the queue in one go; a caller
//! whose own write finds more queued behind it hands the writing to that task, so no caller
//! is kept writing other callers' requests.
//!
//! A request's answer slot (in the reader's queue) and its bytes (in this queue) are queued
//! under one lock, so the answers come back in the order of the slots whoever writes.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::BytesMut;
use tokio::sync::{mpsc, oneshot, Notify};
use tokio::time::Instant;

use crate::answer_reader::Waiting;
use crate::client_error::{Error, Result};
use crate::pipeline::{Expect, Reply};
use crate::read_turn::ReadTurn;

/// The writing half of a connected socket.
#[derive(Debug)]
pub(crate) enum WriteSocket {
    Tcp(tokio::net::tcp::OwnedWriteHalf),
    Unix(tokio::net::unix::OwnedWriteHalf),
}

impl WriteSocket {
    /// Write what the socket takes now, without waiting.
    fn try_write(&self, bytes: &[u8]) -> io::Result<usize> {
        match self {
            WriteSocket::Tcp(half) => half.try_write(bytes),
            WriteSocket::Unix(half) => half.try_write(bytes),
        }
    }

    /// Wait until the socket may take more.
    async fn writable(&self) -> io::Result<()> {
        match self {
            WriteSocket::Tcp(half) => half.writable().await,
            WriteSocket::Unix(half) => half.writable().await,
        }
    }
}

/// What a request to be queued waits for.
pub(crate) enum Awaits<'a> {
    /// Its answer.
    Answer {
        /// The slot reserved in the reader task's queue, filled when the bytes are queued
        /// (unless the caller reads the answer itself).
        slot: mpsc::Permit<'a, Waiting>,
        expect: Expect,
        deadline: Instant,
        /// Where the caller may claim the next answer to read it itself, if no other is
        /// awaited; none for a request of a batch.
        turn: Option<&'a ReadTurn>,
    },
    /// Only its being written (`noreply`).
    Written,
}

/// How a queued request's caller hears of it.
#[derive(Debug)]
pub(crate) enum Hears {
    /// It reads the answer itself: its turn is claimed.
    ReadsItself,
    /// On this channel: the answer, or that the request was written (`noreply`).
    From(oneshot::Receiver<Result<Reply>>),
    /// Not at all: the connection is stopped, nothing was queued.
    Stopped,
}

/// Requests taken off the queue to be written in one go.
pub(crate) struct Batch {
    /// The socket, held while the batch is written.
    socket: Arc<WriteSocket>,
    /// The caller's own request is the batch, written from the caller's buffer (`bytes` is
    /// then empty).
    own_first: bool,
    bytes: BytesMut,
    /// The `noreply` callers among them, told once they are written.
    written: Vec<oneshot::Sender<Result<Reply>>>,
    /// The earliest deadline among them: the write must be done by then.
    deadline: Instant,
}

impl Batch {
    /// Tell the `noreply` callers in the batch that it could not be written.
    pub(crate) fn fail(self, error: &Error) {
        for caller in self.written {
            let _ = caller.send(Err(error.for_each_key()));
        }
    }
}

/// What is queued for writing.
#[derive(Debug, Default)]
struct Queue {
    /// Requests queued and not yet taken by a writer.
    bytes: BytesMut,
    /// The `noreply` callers of those requests.
    written: Vec<oneshot::Sender<Result<Reply>>>,
    /// The earliest deadline of those requests.
    deadline: Option<Instant>,
    /// A caller or the writer task is writing; what is queued now goes out after.
    writing: bool,
    /// The buffer of the last batch, cleared, for the next one (two buffers take turns: a
    /// write allocates nothing).
    spare: BytesMut,
    /// The socket; none once the connection is stopped: nothing more is queued, whoever
    /// would wait is told so, and the socket closes as soon as a write under way ends.
    socket: Option<Arc<WriteSocket>>,
}

/// A queue buffer's first size: about 60 small requests.
const FIRST_BUFFER: usize = 4 * 1024;

/// A written batch's buffer is kept for reuse up to this size; a larger one (a large value)
/// is freed, so an idle connection holds little.
const KEPT_BUFFER: usize = 64 * 1024;

/// The writing side: the queue (with the socket), and the writer task's wake-up.
#[derive(Debug)]
pub(crate) struct RequestWriter {
    /// Held only to queue or take requests, never across a write.
    queue: Mutex<Queue>,
    /// Hands the writing to the writer task.
    hand_off: Notify,
    /// Requests queued whose answers have not been handed out yet: none means the caller
    /// about to queue one is alone on the connection.
    unanswered: AtomicUsize,
}

impl RequestWriter {
    pub(crate) fn new(socket: WriteSocket) -> RequestWriter {
        RequestWriter {
            queue: Mutex::new(Queue {
                socket: Some(Arc::new(socket)),
                ..Queue::default()
            }),
            hand_off: Notify::new(),
            unanswered: AtomicUsize::new(0),
        }
    }

    /// An answer was handed out (by the reader).
    pub(crate) fn answered(&self) {
        self.unanswered.fetch_sub(1, Ordering::Relaxed);
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // Nothing panics while the lock is held; a poisoned queue is still consistent.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queue a request, and say how its caller hears of it. A caller alone on the
    /// connection (no other answer awaited) writes what is queued itself if nobody is
    /// writing: it is returned to it (then [`write`](Self::write) it). Otherwise the writer
    /// task writes it, or, with `later`, nobody yet: more requests of the same caller follow,
    /// then a [`claim`](Self::claim).
    pub(crate) fn queue(
        &self,
        bytes: &[u8],
        deadline: Instant,
        awaits: Awaits<'_>,
        later: bool,
    ) -> (Hears, Option<Batch>) {
        let mut queue = self.lock();
        if queue.socket.is_none() {
            return (Hears::Stopped, None);
        }
        // Under the lock, so slots, claims and bytes are in one order: a request counted
        // alone has every request before it answered.
        let (hears, alone) = match awaits {
            Awaits::Answer {
                slot,
                expect,
                deadline,
                turn,
            } => {
                let alone = self.unanswered.fetch_add(1, Ordering::Relaxed) == 0;
                match turn {
                    Some(turn) if alone => {
                        turn.claim();
                        (Hears::ReadsItself, true)
                    }
                    _ => {
                        let (reply, answer) = oneshot::channel();
                        slot.send(Waiting {
                            expect,
                            reply,
                            deadline,
                        });
                        (Hears::From(answer), alone)
                    }
                }
            }
            Awaits::Written => {
                let (reply, written) = oneshot::channel();
                queue.written.push(reply);
                let alone = self.unanswered.load(Ordering::Relaxed) == 0;
                (Hears::From(written), alone)
            }
        };
        if alone && !later && !queue.writing && queue.bytes.is_empty() {
            // Nothing before it: the caller writes its request from its own buffer.
            if let Some(socket) = queue.socket.clone() {
                queue.writing = true;
                let batch = Batch {
                    socket,
                    own_first: true,
                    bytes: BytesMut::new(),
                    written: std::mem::take(&mut queue.written),
                    deadline,
                };
                return (hears, Some(batch));
            }
        }
        if queue.bytes.capacity() == 0 {
            // Room for a batch of small requests at once, rather than growing by each.
            queue.bytes.reserve(bytes.len().max(FIRST_BUFFER));
        }
        queue.bytes.extend_from_slice(bytes);
        queue.deadline = Some(queue.deadline.map_or(deadline, |d| d.min(deadline)));
        if later {
            return (hears, None);
        }
        if alone {
            // No task hop on the way out.
            return (hears, take_if_free(&mut queue));
        }
        // Others' answers are awaited too: the writer task writes what they all queue.
        if !queue.writing {
            queue.writing = true;
            drop(queue);
            self.hand_off.notify_one();
        }
        (hears, None)
    }

    /// Make room in the queue for `bytes` more, in one allocation: a batch about to queue
    /// many requests then does not grow the queue (copying what it holds) as it goes.
    pub(crate) fn reserve(&self, bytes: usize) {
        let mut queue = self.lock();
        if queue.socket.is_some() {
            queue.bytes.reserve(bytes);
        }
    }

    /// Take the writing if nobody has it and something is queued.
    pub(crate) fn claim(&self) -> Option<Batch> {
        take_if_free(&mut self.lock())
    }

    /// The connection is stopped: what is queued is dropped (its `noreply` callers hear the
    /// connection closed), nothing more is queued, and the socket's writing half is let go
    /// (closed now, or when a write under way ends).
    pub(crate) fn stop(&self) {
        let mut queue = self.lock();
        queue.socket = None;
        queue.bytes = BytesMut::new();
        queue.written.clear();
        queue.deadline = None;
    }

    /// Write `batch` by its deadline (`own`, the caller's request, if the batch is that),
    /// then tell its `noreply` callers. Whoever calls this has the writing; on success
    /// it is given up, or handed to the writer task when more was queued meanwhile. On an
    /// error the batch is failed and the writing kept: the caller must stop the connection.
    pub(crate) async fn write(&self, batch: Batch, own: &[u8], server: &str) -> Result<()> {
        // A batch that leaves the caller's request to it holds nothing else.
        let bytes = if batch.own_first { own } else { &batch.bytes };
        if let Err(e) = write_by(&batch.socket, bytes, batch.deadline, server).await {
            batch.fail(&e);
            return Err(e);
        }
        if self.written(batch) {
            self.hand_off.notify_one();
        }
        Ok(())
    }

    /// A batch has gone out: its callers are told, its buffer kept for the next one. True if
    /// more was queued meanwhile (the writing is kept, to be handed on); false if the writing
    /// was given up.
    fn written(&self, batch: Batch) -> bool {
        let Batch {
            mut bytes, written, ..
        } = batch;
        // (The batch's hold on the socket ends here: a stopped connection's socket closes.)
        for caller in written {
            let _ = caller.send(Ok(Reply::Sent));
        }
        bytes.clear();
        let mut queue = self.lock();
        // (A caller's own write took no buffer: the spare stays.)
        if bytes.capacity() > 0 && bytes.capacity() <= KEPT_BUFFER {
            queue.spare = bytes;
        }
        if queue.bytes.is_empty() {
            queue.writing = false;
            false
        } else {
            true
        }
    }

    /// The writer task's work: wait for a hand-off, then write until the queue is empty.
    /// Returns the error that ended the connection; the batch it hit has been failed, and the
    /// queue stopped.
    pub(crate) async fn write_handed_off(&self, server: &str) -> Error {
        loop {
            self.hand_off.notified().await;
            // Let the tasks that are ready run first: they queue their requests, and one
            // write takes them all (woken tasks run soon after their waker; without this
            // the writer would write after every caller or two).
            tokio::task::yield_now().await;
            loop {
                let batch = {
                    let mut queue = self.lock();
                    let taken = take(&mut queue);
                    if taken.is_none() {
                        queue.writing = false;
                    }
                    taken
                };
                let Some(batch) = batch else { break };
                if let Err(e) = write_by(&batch.socket, &batch.bytes, batch.deadline, server).await
                {
                    batch.fail(&e);
                    self.stop();
                    return e;
                }
                if !self.written(batch) {
                    break;
                }
            }
        }
    }
}

/// Write all of `bytes` by `deadline` (a server that stops reading fills the socket's
/// buffer; the write then waits, but not forever). A write that completes at once arms
/// no timer.
async fn write_by(
    socket: &WriteSocket,
    bytes: &[u8],
    deadline: Instant,
    server: &str,
) -> Result<()> {
    let io_error = |source| Error::Io {
        server: server.to_string(),
        source,
    };
    let mut rest = bytes;
    while !rest.is_empty() {
        match socket.try_write(rest) {
            Ok(0) => return Err(io_error(io::ErrorKind::WriteZero.into())),
            Ok(n) => rest = &rest[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                match tokio::time::timeout_at(deadline, socket.writable()).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => return Err(io_error(e)),
                    Err(_) => return Err(Error::Timeout(server.to_string())),
                }
            }
            Err(e) => return Err(io_error(e)),
        }
    }
    Ok(())
}

/// Take the writing and what is queued, if nobody writes and something is queued.
fn take_if_free(queue: &mut Queue) -> Option<Batch> {
    if queue.writing {
        return None;
    }
    let batch = take(queue)?;
    queue.writing = true;
    Some(batch)
}

/// Take what is queued, leaving the spare buffer to queue into; none if nothing is queued or
/// the connection is stopped.
fn take(queue: &mut Queue) -> Option<Batch> {
    if queue.bytes.is_empty() {
        return None;
    }
    let socket = queue.socket.clone()?;
    let spare = std::mem::take(&mut queue.spare);
    Some(Batch {
        socket,
        own_first: false,
        bytes: std::mem::replace(&mut queue.bytes, spare),
        written: std::mem::take(&mut queue.written),
        deadline: queue
            .deadline
            .take()
            .unwrap_or_else(|| crate::pipeline::deadline_after(std::time::Duration::MAX)),
    })
}
