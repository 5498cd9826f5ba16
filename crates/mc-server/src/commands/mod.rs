//! Executing requests against the store: one file per command family, each turning a decoded
//! request into its answer.
//!
//! A command sees only what [`Ctx`] gives it: the sharded store (it locks the shard of the key
//! it works on, for that one operation), the slice's counters, the clock reading, the
//! read-only [`Environment`], the output buffer and the [`Budget`] of the current slice.
//! Commands whose answer has no fixed size (multi-key retrievals, `lru_crawler metadump`) stop
//! when the budget is spent and hand back a [`Resume`], so the executor can write what is
//! buffered and continue later from where they stopped.

mod admin;
pub(crate) mod binary_commands;
mod crawler;
mod delete;
mod get;
mod incr_decr;
mod lru;
mod meta_commands;
mod observe;
mod slabs;
mod stats;
mod store;
mod touch;
mod watch;

use bytes::{BufMut, BytesMut};
use mc_proto::meta::{MetaReply, MetaStatus};
use mc_proto::{Request, RequestError, RequestErrorKind, Response, ServerMessage};

use crate::client_state::ClientState;
use crate::environment::Environment;
use crate::server_counters::{CommandStats, ReadCounts};
use crate::storage::{Lookup, Store};
use crate::store_shards::StoreShards;

pub(crate) use crawler::Metadump;
pub(crate) use stats::{Cachedump, ConnsDump, DetailDump};

/// What the connection does after a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Control {
    /// Keep reading.
    Continue,
    /// Flush what was written and close (`quit`, fatal protocol errors).
    Close,
    /// Flush, close, and stop the server (`shutdown` with `-A`).
    Shutdown,
    /// Flush, then stream the event log the client now watches ([`ClientState::watcher`]).
    Watch,
}

/// How far a command got.
#[derive(Debug)]
pub(crate) enum Progress {
    /// Answered completely.
    Done(Control),
    /// The slice's budget ran out part way; continue with [`resume`].
    Paused(Resume),
}

/// A command answered in part, with what it needs to go on.
#[derive(Debug)]
pub(crate) enum Resume {
    /// A retrieval with the keys not yet answered.
    Get(mc_proto::Get),
    /// A metadump with its place in the walk.
    Metadump(Metadump),
    /// A `stats cachedump` with its place in the walk.
    Cachedump(Cachedump),
    /// A `stats conns` with the next connection to list.
    Conns(ConnsDump),
    /// A `stats detail dump` with the next prefix to list.
    Detail(DetailDump),
}

/// How much one slice of work may do before the connection writes its answer and lets
/// others run: a number of steps (keys looked up, requests run, chunks scanned) and a number
/// of output bytes. Bounding both keeps other connections' waits short and a connection's
/// buffered answer small, whatever one request asks for.
#[derive(Debug)]
pub(crate) struct Budget {
    steps: usize,
    output: usize,
}

impl Budget {
    /// A budget of `steps` and `output` bytes.
    pub(crate) fn new(steps: usize, output: usize) -> Budget {
        Budget { steps, output }
    }

    /// Count `n` steps.
    pub(crate) fn spend(&mut self, n: usize) {
        self.steps = self.steps.saturating_sub(n);
    }

    /// The steps left, to be counted down by a walk that takes many small steps.
    pub(crate) fn steps_mut(&mut self) -> &mut usize {
        &mut self.steps
    }

    /// True when the slice must end: no steps left, or `out` holds the most it may.
    pub(crate) fn exhausted(&self, out: &BytesMut) -> bool {
        self.steps == 0 || self.output_full(out)
    }

    /// True when `out` holds the most a slice may buffer.
    pub(crate) fn output_full(&self, out: &BytesMut) -> bool {
        out.len() >= self.output
    }
}

/// The state a command runs against.
pub(crate) struct Ctx<'a> {
    /// The cache; a command locks the shard of its key with [`StoreShards::for_key`].
    pub(crate) store: &'a StoreShards,
    /// This slice's command counts (added to the thread's counters when the slice ends).
    pub(crate) counters: &'a mut CommandStats,
    /// This slice's gets answered with shared access to their shard (counted here, as the
    /// shard's counters need exclusive access).
    pub(crate) reads: &'a mut ReadCounts,
    /// What the command's last key lookup found, read from the shard before it is unlocked
    /// (for `watch fetchers` and `stats detail`).
    pub(crate) lookup: Lookup,
    /// The client on this connection.
    pub(crate) client: &'a mut ClientState,
    /// Server time of this slice.
    pub(crate) now: u32,
    pub(crate) env: &'a Environment,
    pub(crate) out: &'a mut BytesMut,
    pub(crate) budget: &'a mut Budget,
}

impl Ctx<'_> {
    /// Run `operation` on the shard that holds `key`, locked for just that, and note what its
    /// lookup found in [`Ctx::lookup`].
    pub(crate) fn on_key<R>(&mut self, key: &[u8], operation: impl FnOnce(&mut Store) -> R) -> R {
        let mut shard = self.store.for_key(key);
        let result = operation(&mut shard);
        self.lookup = shard.last_lookup();
        result
    }

    /// Encode a reply unless the client asked for none.
    pub(crate) fn reply(&mut self, noreply: bool, response: Response) {
        if !noreply {
            response.encode(self.out);
        }
    }

    /// Encode a reply.
    pub(crate) fn answer(&mut self, response: Response) {
        response.encode(self.out);
    }

    /// Encode one of memcached's fixed answers.
    pub(crate) fn message(&mut self, message: ServerMessage) {
        Response::Message(message).encode(self.out);
    }

    /// A request's expiry as server time.
    pub(crate) fn expiry(&self, exptime: i32) -> u32 {
        self.env.clock.expiry(exptime, self.now)
    }
}

/// Run one request.
pub(crate) fn execute(request: Request, ctx: &mut Ctx<'_>) -> Progress {
    ctx.budget.spend(1);
    let control = match request {
        Request::Get(r) => return get::get(r, ctx),
        Request::LruCrawler(r) => return crawler::lru_crawler(r, ctx),
        Request::Stats(r) => return stats::stats(r, ctx),
        Request::Store(r) => store::store(r, ctx),
        Request::Delete(r) => delete::delete(r, ctx),
        Request::Arithmetic(r) => incr_decr::arithmetic(r, ctx),
        Request::Touch(r) => touch::touch(r, ctx),
        Request::FlushAll(r) => admin::flush_all(r, ctx),
        Request::Version => admin::version(ctx),
        Request::Verbosity(r) => admin::verbosity(r, ctx),
        Request::Quit => Control::Close,
        Request::Watch(r) => watch::watch(r, ctx),
        Request::Slabs(r) => slabs::slabs(r, ctx),
        Request::Lru(r) => lru::lru(r, ctx),
        Request::RefreshCerts => admin::refresh_certs(ctx),
        Request::Shutdown(mode) => admin::shutdown(mode, ctx),
        Request::CacheMemlimit(r) => admin::cache_memlimit(r, ctx),
        Request::MetaGet(r) => meta_commands::get(r, ctx),
        Request::MetaSet(r) => meta_commands::set(r, ctx),
        Request::MetaDelete(r) => meta_commands::delete(r, ctx),
        Request::MetaArithmetic(r) => meta_commands::arithmetic(r, ctx),
        Request::MetaNoop => {
            MetaReply::start(ctx.out, MetaStatus::Noop).end();
            Control::Continue
        }
        Request::MetaDebug(r) => meta_commands::debug(r, ctx),
    };
    Progress::Done(control)
}

/// Go on with a command that paused.
pub(crate) fn resume(paused: Resume, ctx: &mut Ctx<'_>) -> Progress {
    match paused {
        Resume::Get(r) => get::get(r, ctx),
        Resume::Metadump(m) => crawler::metadump(m, ctx),
        Resume::Cachedump(d) => stats::cachedump(d, ctx),
        Resume::Conns(d) => stats::conns(d, ctx),
        Resume::Detail(d) => stats::detail_dump(d, ctx),
    }
}

/// Answer a request the decoder rejected.
pub(crate) fn reject(error: RequestError, ctx: &mut Ctx<'_>) -> Control {
    ctx.budget.spend(1);
    if let RequestErrorKind::TooLarge { stale_key } = error.kind() {
        ctx.counters.cmd_set += 1;
        if let Some(key) = stale_key {
            ctx.store.for_key(key).discard(key, ctx.now);
        }
    }
    if let Some(reply) = error.reply() {
        ctx.out.put_slice(reply);
    }
    if error.closes_connection() {
        Control::Close
    } else {
        Control::Continue
    }
}
