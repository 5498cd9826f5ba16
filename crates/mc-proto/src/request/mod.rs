//! Requests: what a client sends and a server decodes.
//!
//! One file per command family, each with its parser (used by [`RequestDecoder`]) and its
//! encoder (used by clients through [`Request::encode`]).

mod admin_request;
mod delete_request;
mod flush_all_request;
mod get_request;
mod incr_decr_request;
mod request_decoder;
mod store_request;
mod touch_request;

pub use admin_request::{AdminWords, CacheMemlimit, LruCrawler, ShutdownMode, Stats, Verbosity};
pub use delete_request::Delete;
pub use flush_all_request::FlushAll;
pub use get_request::{Get, GetCommand, Keys, KeysIter};
pub use incr_decr_request::{Arithmetic, ArithmeticOp};
pub use request_decoder::{Limits, RequestDecoder};
pub use store_request::{StoreCommand, StoreParts, StoreRequest};
pub use touch_request::Touch;

use bytes::{BufMut, BytesMut};

use crate::meta::{MetaArithmetic, MetaDebug, MetaDelete, MetaGet, MetaSet};

/// One memcached request, text or meta protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `get`, `gets`, `gat`, `gats` (and the ancient alias `bget`).
    Get(Get),
    /// `set`, `add`, `replace`, `append`, `prepend`, `cas` with their data block.
    Store(StoreRequest),
    /// `delete <key> [0] [noreply]`.
    Delete(Delete),
    /// `incr`/`decr <key> <delta> [noreply]`.
    Arithmetic(Arithmetic),
    /// `touch <key> <exptime> [noreply]`.
    Touch(Touch),
    /// `flush_all [delay] [noreply]`.
    FlushAll(FlushAll),
    /// `version`.
    Version,
    /// `verbosity <level> [noreply]`.
    Verbosity(Verbosity),
    /// `quit`: the server closes the connection.
    Quit,
    /// `stats [args...]`.
    Stats(Stats),
    /// `shutdown [graceful]`.
    Shutdown(ShutdownMode),
    /// `cache_memlimit <megabytes> [noreply]`.
    CacheMemlimit(CacheMemlimit),
    /// `lru_crawler <args...>` (`metadump all`: list every item).
    LruCrawler(LruCrawler),
    /// `watch [types...]`: stream the server's log lines to this connection.
    Watch(AdminWords),
    /// `slabs reassign <src> <dst>`, `slabs automove <0|1|2>`.
    Slabs(AdminWords),
    /// `lru tune|mode|temp_ttl ...`: segmented-LRU tuning.
    Lru(AdminWords),
    /// `refresh_certs`: reload the TLS certificate and key.
    RefreshCerts,
    /// Meta get: `mg <key> <flags>*`.
    MetaGet(MetaGet),
    /// Meta set: `ms <key> <datalen> <flags>*` with a data block.
    MetaSet(MetaSet),
    /// Meta delete: `md <key> <flags>*`.
    MetaDelete(MetaDelete),
    /// Meta arithmetic: `ma <key> <flags>*`.
    MetaArithmetic(MetaArithmetic),
    /// Meta no-op: `mn`, answered with `MN` (marks the end of a quiet-mode batch).
    MetaNoop,
    /// Meta debug: `me <key> [b]`.
    MetaDebug(MetaDebug),
}

impl Request {
    /// Append this request's wire form to `dst`.
    ///
    /// Encoding does not validate: a client checks keys (see [`crate::check_key`]) before
    /// building a request.
    pub fn encode(&self, dst: &mut BytesMut) {
        match self {
            Request::Get(r) => r.encode(dst),
            Request::Store(r) => r.encode(dst),
            Request::Delete(r) => r.encode(dst),
            Request::Arithmetic(r) => r.encode(dst),
            Request::Touch(r) => r.encode(dst),
            Request::FlushAll(r) => r.encode(dst),
            Request::Version => dst.put_slice(b"version\r\n"),
            Request::Verbosity(r) => r.encode(dst),
            Request::Quit => dst.put_slice(b"quit\r\n"),
            Request::Stats(r) => r.encode(dst),
            Request::Shutdown(mode) => mode.encode(dst),
            Request::CacheMemlimit(r) => r.encode(dst),
            Request::LruCrawler(r) => r.encode(dst),
            Request::Watch(r) => r.encode(b"watch", dst),
            Request::Slabs(r) => r.encode(b"slabs", dst),
            Request::Lru(r) => r.encode(b"lru", dst),
            Request::RefreshCerts => dst.put_slice(b"refresh_certs\r\n"),
            Request::MetaGet(r) => r.encode(dst),
            Request::MetaSet(r) => r.encode(dst),
            Request::MetaDelete(r) => r.encode(dst),
            Request::MetaArithmetic(r) => r.encode(dst),
            Request::MetaNoop => dst.put_slice(b"mn\r\n"),
            Request::MetaDebug(r) => r.encode(dst),
        }
    }

    /// True when the client asked not to be answered (`noreply`, or `q` on meta commands, which
    /// only hides the nominal answer).
    pub fn is_noreply(&self) -> bool {
        match self {
            Request::Store(r) => r.noreply,
            Request::Delete(r) => r.noreply,
            Request::Arithmetic(r) => r.noreply,
            Request::Touch(r) => r.noreply,
            Request::FlushAll(r) => r.noreply,
            Request::Verbosity(r) => r.noreply,
            Request::CacheMemlimit(r) => r.noreply,
            Request::MetaGet(r) => r.flags.options().quiet,
            Request::MetaSet(r) => r.flags.options().quiet,
            Request::MetaDelete(r) => r.flags.options().quiet,
            Request::MetaArithmetic(r) => r.flags.options().quiet,
            _ => false,
        }
    }
}

/// The shape `<command> <key> <argument> [noreply]` (`incr`, `decr`, `touch`): checks the
/// token count and the key length, and returns the key, the argument and `noreply`.
pub(crate) fn key_and_argument<'l>(
    line: &'l bytes::Bytes,
    tokens: &crate::tokens::Tokens,
) -> Result<(bytes::Bytes, &'l [u8], bool), crate::RequestError> {
    use crate::codec_error::{RequestError, RequestErrorKind};
    let n = tokens.ntokens();
    if n != 4 && n != 5 {
        return Err(RequestError::always(RequestErrorKind::UnknownCommand));
    }
    let noreply = tokens.noreply(line);
    let (s, e) = tokens.span(1);
    if e - s > crate::KEY_MAX_LENGTH {
        return Err(RequestError::new(RequestErrorKind::BadCommandLine, noreply));
    }
    Ok((line.slice(s..e), tokens.get(line, 2), noreply))
}

/// The shape `<command> <number> [noreply]` (`verbosity`, `cache_memlimit`): the number (as
/// u32; `malformed` when it is not one) and `noreply`.
pub(crate) fn number_argument(
    line: &bytes::Bytes,
    tokens: &crate::tokens::Tokens,
    malformed: crate::RequestErrorKind,
) -> Result<(u32, bool), crate::RequestError> {
    use crate::codec_error::{RequestError, RequestErrorKind};
    let n = tokens.ntokens();
    if n != 3 && n != 4 {
        return Err(RequestError::always(RequestErrorKind::UnknownCommand));
    }
    let noreply = tokens.noreply(line);
    let number = crate::number::parse_u32(tokens.get(line, 1))
        .ok_or(RequestError::new(malformed, noreply))?;
    Ok((number, noreply))
}

/// Write a decimal number.
pub(crate) fn put_number<N: itoa::Integer>(dst: &mut impl BufMut, n: N) {
    let mut buf = itoa::Buffer::new();
    dst.put_slice(buf.format(n).as_bytes());
}

/// Write ` noreply` when asked to.
pub(crate) fn put_noreply(dst: &mut impl BufMut, noreply: bool) {
    if noreply {
        dst.put_slice(b" noreply");
    }
}
