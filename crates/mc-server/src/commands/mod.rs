//! Executing requests against the store: one file per command family, each turning a decoded
//! request into response bytes.

mod admin;
mod arithmetic;
mod crawler;
mod delete;
mod meta;
mod retrieval;
mod stats;
mod storage;
mod touch;

use bytes::{BufMut, BytesMut};
use mc_proto::{Request, RequestError, RequestErrorKind};

use crate::server::Shared;
use crate::stats::CommandStats;
use crate::storage::Store;

/// What the connection does after a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Control {
    /// Keep reading.
    Continue,
    /// Flush what was written and close (`quit`, fatal protocol errors).
    Close,
    /// Flush, close, and stop the server (`shutdown` with `-A`).
    Shutdown,
}

/// The state a command runs against: the locked store, the clock reading, the output buffer.
pub(crate) struct Ctx<'a> {
    pub(crate) store: &'a mut Store,
    pub(crate) counters: &'a mut CommandStats,
    pub(crate) now: u32,
    pub(crate) out: &'a mut BytesMut,
    pub(crate) shared: &'a Shared,
}

impl Ctx<'_> {
    /// Write a fixed reply unless the client asked for none.
    pub(crate) fn reply(&mut self, noreply: bool, line: &[u8]) {
        if !noreply {
            self.out.put_slice(line);
        }
    }

    /// A request's expiry as server time.
    pub(crate) fn expiry(&self, exptime: i32) -> u32 {
        self.shared.clock.expiry(exptime, self.now)
    }
}

/// Run one request.
pub(crate) fn execute(request: Request, ctx: &mut Ctx<'_>) -> Control {
    match request {
        Request::Get(r) => retrieval::get(r, ctx),
        Request::Store(r) => storage::store(r, ctx),
        Request::Delete(r) => delete::delete(r, ctx),
        Request::Arithmetic(r) => arithmetic::arithmetic(r, ctx),
        Request::Touch(r) => touch::touch(r, ctx),
        Request::FlushAll(r) => admin::flush_all(r, ctx),
        Request::Version => admin::version(ctx),
        Request::Verbosity(r) => admin::verbosity(r, ctx),
        Request::Quit => Control::Close,
        Request::Stats(r) => stats::stats(r, ctx),
        Request::Shutdown(mode) => admin::shutdown(mode, ctx),
        Request::CacheMemlimit(r) => admin::cache_memlimit(r, ctx),
        Request::LruCrawler(r) => crawler::lru_crawler(r, ctx),
        Request::MetaGet(r) => meta::get(r, ctx),
        Request::MetaSet(r) => meta::set(r, ctx),
        Request::MetaDelete(r) => meta::delete(r, ctx),
        Request::MetaArithmetic(r) => meta::arithmetic(r, ctx),
        Request::MetaNoop => {
            ctx.out.put_slice(b"MN\r\n");
            Control::Continue
        }
        Request::MetaDebug(r) => meta::debug(r, ctx),
    }
}

/// Answer a request the decoder rejected.
pub(crate) fn reject(error: RequestError, ctx: &mut Ctx<'_>) -> Control {
    if let RequestErrorKind::TooLarge { stale_key } = error.kind() {
        ctx.counters.cmd_set += 1;
        if let Some(key) = stale_key {
            ctx.store.discard(key, ctx.now);
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
