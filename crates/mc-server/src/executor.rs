//! The one request loop: decode a connection's pipelined requests, run them against the store
//! in bounded slices, and produce the answers.
//!
//! A TCP or Unix connection (`server::connection`) and the socket-free [`crate::harness`] (which
//! the connection fuzz target drives) both run connections through [`Executor::run`], so the
//! fuzzer exercises the code that serves sockets.
//!
//! Bounds, per request and not only per connection:
//! - requests are decoded outside the store lock, at most [`QUEUE`] ahead of execution;
//! - the lock is held for one slice: at most [`SLICE_STEPS`] steps (requests, keys, scanned
//!   chunks) and until [`WRITE_BUDGET`] bytes of answer are buffered, then released;
//! - a request whose answer is unbounded (a multi-get naming a large value a million times, a
//!   metadump of the whole cache) pauses at the end of a slice and resumes after the buffered
//!   answer is written out, so a connection holds at most [`WRITE_BUDGET`] plus one item of
//!   answer whatever it asks for, and others are served in between.

use std::collections::VecDeque;

use bytes::{Buf, BytesMut};
use mc_proto::binary::{self, Header, Status};
use mc_proto::{Limits, Request, RequestDecoder, RequestError};

use crate::commands::{self, Budget, Control, Ctx, Progress, Resume};
use crate::environment::Environment;
use crate::store_lock::{Locked, StoreLock};

/// Requests decoded ahead of execution.
const QUEUE: usize = 64;

/// Steps (requests, keys looked up, chunks scanned) per hold of the store lock. At a few
/// hundred nanoseconds each, a slice holds the lock for well under a millisecond.
pub const SLICE_STEPS: usize = 256;

/// Answer bytes a connection buffers before they are written out. A slice may pass it by at
/// most one item (up to `-I`) plus its `VALUE` line.
pub const WRITE_BUDGET: usize = 256 * 1024;

/// What the connection must do after [`Executor::run`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Every complete request was answered: write the output, then read more input.
    NeedInput,
    /// The output reached the write budget: write it, then call `run` again.
    Flush,
    /// A slice ended to let other connections in: write the output, yield, call `run` again.
    Yield,
    /// Write the output and close the connection.
    Close,
    /// Write the output, close, and stop the server (`shutdown` with `-A`).
    Shutdown,
}

/// How the connection's first byte says it speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    /// Nothing received yet.
    Unknown,
    /// The text and meta protocols.
    Text,
    /// The binary protocol (first byte 0x80).
    Binary,
}

/// How a slice under the lock ended.
enum SliceEnd {
    /// Nothing left to run: decode more.
    Drained,
    /// The output budget is spent.
    OutputFull,
    /// The step budget is spent.
    OutOfSteps,
    /// A request closes the connection (or stops the server).
    Stop(Control),
}

/// One connection's request state.
#[derive(Debug)]
pub(crate) struct Executor {
    decoder: RequestDecoder,
    /// Requests decoded and not yet run.
    queue: VecDeque<Result<Request, RequestError>>,
    /// A request answered in part.
    paused: Option<Resume>,
    protocol: Protocol,
}

impl Executor {
    /// A connection's executor, with the decoder's limits.
    pub(crate) fn new(limits: Limits) -> Executor {
        Executor {
            decoder: RequestDecoder::new(limits),
            queue: VecDeque::new(),
            paused: None,
            protocol: Protocol::Unknown,
        }
    }

    /// Decode requests from `input` (consuming them), run them, and append their answers to
    /// `out` until one of the [`Step`]s applies. The caller must empty `out` (by writing it)
    /// before the next call whenever it returns [`Step::Flush`].
    pub(crate) fn run(
        &mut self,
        input: &mut BytesMut,
        store: &StoreLock,
        env: &Environment,
        out: &mut BytesMut,
    ) -> Step {
        if self.protocol == Protocol::Unknown {
            match input.first() {
                None => return Step::NeedInput,
                Some(&binary::REQUEST_MAGIC) => self.protocol = Protocol::Binary,
                Some(_) => self.protocol = Protocol::Text,
            }
        }
        if self.protocol == Protocol::Binary {
            return refuse_binary(input, out);
        }
        loop {
            if self.paused.is_none() && self.queue.is_empty() {
                self.decode(input);
                if self.queue.is_empty() {
                    return Step::NeedInput;
                }
            }
            match self.run_slice(store, env, out) {
                SliceEnd::Drained => continue,
                SliceEnd::OutputFull => return Step::Flush,
                SliceEnd::OutOfSteps => return Step::Yield,
                SliceEnd::Stop(Control::Shutdown) => return Step::Shutdown,
                SliceEnd::Stop(_) => return Step::Close,
            }
        }
    }

    /// Decode up to [`QUEUE`] requests, stopping after one that closes the connection.
    fn decode(&mut self, input: &mut BytesMut) {
        while self.queue.len() < QUEUE {
            match self.decoder.decode(input) {
                Ok(Some(request)) => self.queue.push_back(Ok(request)),
                Ok(None) => return,
                Err(error) => {
                    let fatal = error.closes_connection();
                    self.queue.push_back(Err(error));
                    if fatal {
                        return;
                    }
                }
            }
        }
    }

    /// Run queued requests under the lock until the queue is empty or the budget is spent.
    fn run_slice(&mut self, store: &StoreLock, env: &Environment, out: &mut BytesMut) -> SliceEnd {
        // Held for this slice only: the budget bounds the work, and no I/O happens under it.
        let mut guard = store.lock();
        let end = self.run_locked(&mut guard, env, out);
        if matches!(end, SliceEnd::OutputFull | SliceEnd::OutOfSteps) {
            // More of this connection's work follows at once: let a waiting connection in
            // first, or this one would take the lock back before the waiter wakes.
            guard.hand_over();
        }
        end
    }

    fn run_locked(
        &mut self,
        locked: &mut Locked,
        env: &Environment,
        out: &mut BytesMut,
    ) -> SliceEnd {
        let mut budget = Budget::new(SLICE_STEPS, WRITE_BUDGET);
        let mut ctx = Ctx {
            store: &mut locked.store,
            counters: &mut locked.counters,
            now: env.clock.now(),
            env,
            out,
            budget: &mut budget,
        };
        loop {
            let progress = if let Some(paused) = self.paused.take() {
                commands::resume(paused, &mut ctx)
            } else if let Some(next) = self.queue.pop_front() {
                match next {
                    Ok(request) => commands::execute(request, &mut ctx),
                    Err(error) => Progress::Done(commands::reject(error, &mut ctx)),
                }
            } else {
                return SliceEnd::Drained;
            };
            match progress {
                Progress::Done(Control::Continue) => {}
                Progress::Done(stop) => {
                    self.queue.clear();
                    return SliceEnd::Stop(stop);
                }
                Progress::Paused(paused) => self.paused = Some(paused),
            }
            if ctx.budget.output_full(ctx.out) {
                return SliceEnd::OutputFull;
            }
            if ctx.budget.exhausted(ctx.out) {
                return SliceEnd::OutOfSteps;
            }
        }
    }
}

/// The binary protocol is not served yet: answer the first request "unknown command" (so a
/// binary client gets an error at once instead of waiting for a text line that a binary
/// header need not contain) and close.
fn refuse_binary(input: &mut BytesMut, out: &mut BytesMut) -> Step {
    let Some(header) = Header::parse(input) else {
        return Step::NeedInput;
    };
    input.advance(binary::HEADER_LEN);
    binary::encode_response(
        out,
        &header,
        Status::UnknownCommand,
        0,
        &[],
        &[],
        b"Unknown command",
    );
    Step::Close
}
