//! The one request loop: decode a connection's pipelined requests, run them against the store
//! in bounded slices, and produce the answers.
//!
//! A TCP, TLS or Unix connection (`server::connection`), a UDP datagram and the socket-free
//! [`crate::harness`] (which the connection fuzz target drives) all run requests through
//! [`Executor::run`], so the fuzzer exercises the code that serves sockets.
//!
//! Bounds, per request and not only per connection:
//! - requests are decoded at most [`QUEUE`] ahead of execution;
//! - they run in slices of at most [`SLICE_STEPS`] steps (requests, keys, scanned chunks) and
//!   until [`WRITE_BUDGET`] bytes of answer are buffered; a store shard is locked for one
//!   operation at a time within a slice, never across one;
//! - a request whose answer is unbounded (a multi-get naming a large value a million times, a
//!   metadump of the whole cache) pauses at the end of a slice and resumes after the buffered
//!   answer is written out, so a connection holds at most [`WRITE_BUDGET`] plus one item of
//!   answer whatever it asks for, and others are served in between;
//! - after `-R` requests in a row a connection lets the others of its worker run.

use std::collections::VecDeque;

use bytes::{Buf, BytesMut};
use mc_proto::binary::{self, BinaryDecoder, BinaryReject, BinaryRequest};
use mc_proto::{Limits, Request, RequestDecoder, RequestError, Response, ServerMessage};

use crate::client_state::ClientState;
use crate::commands::{self, Budget, Control, Ctx, Progress, Resume};
use crate::config::{Auth, Protocol as Binding};
use crate::environment::Environment;
use crate::server_counters::ConnectionStats;
use crate::server_counters::{CommandStats, ReadCounts};
use crate::storage::{Lookup, Miss};
use crate::store_shards::StoreShards;
use crate::verbose_log::VerboseLog;

/// Requests decoded ahead of execution.
const QUEUE: usize = 64;

/// Steps (requests, keys looked up, chunks scanned) per slice. At a few hundred nanoseconds
/// each, a slice runs well under a millisecond before the connection lets others in.
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
    /// A slice used up its steps: write the output, let the worker's other connections run,
    /// call `run` again.
    Yield,
    /// `-R` requests ran in a row: write the output, let the worker's other connections run,
    /// call `run` again.
    TakeTurns,
    /// Write the output and close the connection.
    Close,
    /// Write the output, close, and stop the server (`shutdown` with `-A`).
    Shutdown,
    /// Write the output, then stream the event log the client watches (`watch`).
    Watch,
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

/// How a slice ended.
enum SliceEnd {
    /// Nothing left to run: decode more.
    Drained,
    /// The output budget is spent.
    OutputFull,
    /// The step budget is spent.
    OutOfSteps,
    /// `-R` requests ran since the last read.
    TurnOver,
    /// A request closes the connection, stops the server or starts a watch.
    Stop(Control),
}

/// A decoded request (or the decoder's refusal) waiting to run.
#[derive(Debug)]
enum Job {
    Text(Result<Request, RequestError>),
    Binary(Result<BinaryRequest, BinaryReject>),
}

impl Job {
    /// True when running it ends the connection whatever happens.
    fn closes(&self) -> bool {
        match self {
            Job::Text(Err(error)) => error.closes_connection(),
            Job::Binary(Err(reject)) => reject.close,
            _ => false,
        }
    }
}

/// The longest `-Y` authentication line memcached waits for before giving up on a client.
const AUTH_LINE_MAX: usize = 2048;

/// One connection's request state.
#[derive(Debug)]
pub(crate) struct Executor {
    decoder: RequestDecoder,
    binary: BinaryDecoder,
    /// Requests decoded and not yet run.
    queue: VecDeque<Job>,
    /// A request answered in part.
    paused: Option<Resume>,
    protocol: Protocol,
    /// The client on this connection.
    pub(crate) client: ClientState,
    /// Requests run since the connection last read input (for `-R`).
    since_read: u32,
    /// `-vv` lines gathered during a slice, printed after it.
    verbose: VerboseLog,
    /// The gets a slice answered with shared access, added to the thread's counts when it
    /// ends (kept between slices for its memory).
    reads: ReadCounts,
}

impl Executor {
    /// A connection's executor, with the decoder's limits.
    pub(crate) fn new(limits: Limits, client: ClientState) -> Executor {
        Executor {
            binary: BinaryDecoder::new(limits.max_item_size),
            decoder: RequestDecoder::new(limits),
            queue: VecDeque::new(),
            paused: None,
            protocol: Protocol::Unknown,
            client,
            since_read: 0,
            verbose: VerboseLog::default(),
            reads: ReadCounts::default(),
        }
    }

    /// Print no `-vv` lines for this connection (the socket-free harness).
    pub(crate) fn mute_verbose(&mut self) {
        self.verbose.mute();
    }

    /// Decode requests from `input` (consuming them), run them, and append their answers to
    /// `out` until one of the [`Step`]s applies. The caller must empty `out` (by writing it)
    /// before the next call whenever it returns [`Step::Flush`].
    pub(crate) fn run(
        &mut self,
        input: &mut BytesMut,
        store: &StoreShards,
        env: &Environment,
        out: &mut BytesMut,
    ) -> Step {
        if self.protocol == Protocol::Unknown {
            let Some(&first) = input.first() else {
                return Step::NeedInput;
            };
            self.protocol = match (env.config.protocol, first) {
                (Binding::Ascii, _) => Protocol::Text,
                (Binding::Binary, _) | (Binding::Auto, binary::REQUEST_MAGIC) => Protocol::Binary,
                (Binding::Auto, _) => Protocol::Text,
            };
        }
        if let Some(info) = &self.client.info {
            info.touch(env.clock.now());
        }
        if !self.client.authenticated && self.protocol == Protocol::Text {
            if let Auth::Ascii { .. } = env.config.auth {
                if let Some(step) = self.ascii_auth(input, env, out) {
                    return step;
                }
                if !self.client.authenticated {
                    return Step::NeedInput;
                }
            }
        }
        loop {
            if self.paused.is_none() && self.queue.is_empty() {
                self.decode(input);
                if self.queue.is_empty() {
                    self.since_read = 0;
                    return Step::NeedInput;
                }
            }
            let end = self.run_slice(store, env, out);
            self.verbose.print();
            match end {
                SliceEnd::Drained => continue,
                SliceEnd::OutputFull => return Step::Flush,
                SliceEnd::OutOfSteps => return Step::Yield,
                SliceEnd::TurnOver => {
                    self.since_read = 0;
                    ConnectionStats::add(&env.conn_stats.conn_yields, 1);
                    return Step::TakeTurns;
                }
                SliceEnd::Stop(Control::Shutdown) => return Step::Shutdown,
                SliceEnd::Stop(Control::Watch) => return Step::Watch,
                SliceEnd::Stop(_) => return Step::Close,
            }
        }
    }

    /// memcached's `-Y` handshake: before anything else, the client sends
    /// `set <any key> <flags> <exptime> <bytes>\r\n<user> <password>\r\n`. Answers `STORED` and
    /// marks the client authenticated, or answers an error. Returns a step when the
    /// connection must stop here, `None` to go on.
    fn ascii_auth(
        &mut self,
        input: &mut BytesMut,
        env: &Environment,
        out: &mut BytesMut,
    ) -> Option<Step> {
        let stats = &env.conn_stats;
        while !self.client.authenticated {
            let Some(end) = input.iter().position(|&b| b == b'\n') else {
                // A client that sends this much without a line is not authenticating.
                return (input.len() > AUTH_LINE_MAX).then_some(Step::Close);
            };
            let line = &input[..end];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let words: Vec<&[u8]> = line
                .split(|&b| b == b' ')
                .filter(|w| !w.is_empty())
                .collect();
            let size = match words.as_slice() {
                [b"set", _, _, _, size, ..] => mc_proto::numbers::parse_u32(size),
                _ => None,
            };
            let Some(size) = size.map(|s| s as usize) else {
                input.advance(end + 1);
                Response::Message(ServerMessage::Unauthenticated).encode(out);
                continue;
            };
            if size + 2 > AUTH_LINE_MAX {
                Response::Message(ServerMessage::BadAuthenticationToken).encode(out);
                return Some(Step::Close);
            }
            let total = end + 1 + size + 2;
            if input.len() < total {
                return None;
            }
            let token = input[end + 1..total].to_vec();
            input.advance(total);
            if !token.ends_with(b"\r\n") {
                Response::Message(ServerMessage::BadLineTermination).encode(out);
                continue;
            }
            let words: Vec<&[u8]> = token[..size]
                .split(|&b| b == b' ')
                .filter(|w| !w.is_empty())
                .collect();
            let [user, password, ..] = words.as_slice() else {
                Response::Message(ServerMessage::BadAuthenticationToken).encode(out);
                continue;
            };
            ConnectionStats::add(&stats.auth_cmds, 1);
            if env.credentials.check(user, password) {
                self.client.authenticated = true;
                Response::Stored.encode(out);
            } else {
                ConnectionStats::add(&stats.auth_errors, 1);
                Response::Message(ServerMessage::AuthenticationFailure).encode(out);
            }
        }
        None
    }

    /// Decode up to [`QUEUE`] requests, stopping after one that closes the connection.
    fn decode(&mut self, input: &mut BytesMut) {
        while self.queue.len() < QUEUE {
            let job = if self.protocol == Protocol::Binary {
                match self.binary.decode(input) {
                    Ok(None) => return,
                    Ok(Some(request)) => Job::Binary(Ok(request)),
                    Err(reject) => Job::Binary(Err(reject)),
                }
            } else {
                match self.decoder.decode(input) {
                    Ok(None) => return,
                    Ok(Some(request)) => Job::Text(Ok(request)),
                    Err(error) => Job::Text(Err(error)),
                }
            };
            let fatal = job.closes();
            self.queue.push_back(job);
            if fatal {
                return;
            }
        }
    }

    /// Run queued requests until the queue is empty or the budget is spent. The commands
    /// count into a slice-local tally, added to this thread's counters once at the end.
    fn run_slice(
        &mut self,
        store: &StoreShards,
        env: &Environment,
        out: &mut BytesMut,
    ) -> SliceEnd {
        let mut counters = CommandStats::default();
        let mut reads = std::mem::take(&mut self.reads);
        let end = self.run_commands(store, &mut counters, &mut reads, env, out);
        if counters != CommandStats::default() || !reads.is_empty() {
            let mut thread = store.counters();
            thread.commands.merge(&counters);
            thread.reads.merge(&reads);
            drop(thread);
            reads.clear();
        }
        self.reads = reads;
        end
    }

    fn run_commands(
        &mut self,
        store: &StoreShards,
        counters: &mut CommandStats,
        reads: &mut ReadCounts,
        env: &Environment,
        out: &mut BytesMut,
    ) -> SliceEnd {
        let mut budget = Budget::new(SLICE_STEPS, WRITE_BUDGET);
        let verbose = env.runtime.verbosity() >= 2;
        let turn = env.config.reqs_per_event.max(1);
        let mut ctx = Ctx {
            store,
            counters,
            reads,
            client: &mut self.client,
            now: env.clock.now(),
            env,
            out,
            budget: &mut budget,
            lookup: Lookup::Missed(Miss::NotFound),
        };
        loop {
            let answered_from = ctx.out.len();
            let progress = if let Some(paused) = self.paused.take() {
                commands::resume(paused, &mut ctx)
            } else if let Some(next) = self.queue.pop_front() {
                self.since_read += 1;
                match next {
                    Job::Text(Ok(request)) => {
                        if verbose {
                            self.verbose.request(ctx.client.id, &request);
                        }
                        commands::execute(request, &mut ctx)
                    }
                    Job::Text(Err(error)) => Progress::Done(commands::reject(error, &mut ctx)),
                    Job::Binary(Ok(request)) => {
                        if verbose {
                            self.verbose.binary(ctx.client.id, &request);
                        }
                        Progress::Done(commands::binary_commands::execute(request, &mut ctx))
                    }
                    Job::Binary(Err(reject)) => {
                        Progress::Done(commands::binary_commands::reject(reject, &mut ctx))
                    }
                }
            } else {
                return SliceEnd::Drained;
            };
            ctx.observe_evictions();
            if verbose && self.protocol == Protocol::Text {
                self.verbose
                    .answers(ctx.client.id, &ctx.out[answered_from..]);
            }
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
            if self.since_read >= turn && (self.paused.is_some() || !self.queue.is_empty()) {
                return SliceEnd::TurnOver;
            }
        }
    }
}
