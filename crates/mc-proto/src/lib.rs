//! A sans-IO codec for the memcached text protocol and its meta commands.
//!
//! `mc-proto` turns bytes into requests and responses and back, and does nothing else: no
//! sockets, no clocks, no storage. The server (`mc-server`) and the client (`mc-client`) of this
//! toolkit share it, so both read the wire exactly the same way.
//!
//! * **Exact.** Requests are read as memcached 1.6 reads them, quirks included: tokens split on
//!   spaces only, numbers parsed with C's rules (flags wrap at 32 bits), a data block checked for
//!   its CRLF, long lines refused. Every error carries memcached's reply line and says whether
//!   the connection goes on ([`RequestError`]).
//! * **Incremental.** Decoders take a growing [`bytes::BytesMut`]; input split anywhere decodes
//!   the same as whole input, and incomplete input just asks for more.
//! * **Zero-copy.** Keys and values are [`bytes::Bytes`] slices of the read buffer; decoding a
//!   `get` allocates nothing.
//!
//! # Example
//!
//! ```
//! use bytes::BytesMut;
//! use mc_proto::{Request, RequestDecoder, Response, StoreCommand};
//!
//! let mut decoder = RequestDecoder::default();
//! let mut input = BytesMut::from(&b"set greeting 0 0 5\r\nhel"[..]);
//! // Half a request: the decoder waits for more.
//! assert_eq!(decoder.decode(&mut input).unwrap(), None);
//! input.extend_from_slice(b"lo\r\n");
//! let Some(Request::Store(store)) = decoder.decode(&mut input).unwrap() else {
//!     panic!("expected a store request");
//! };
//! assert_eq!(store.command, StoreCommand::Set);
//! assert_eq!(&store.key[..], b"greeting");
//! assert_eq!(&store.data[..], b"hello");
//!
//! let mut out = BytesMut::new();
//! Response::Stored.encode(&mut out);
//! assert_eq!(&out[..], b"STORED\r\n");
//!
//! // A malformed request carries memcached's own answer.
//! let mut input = BytesMut::from(&b"incr counter abc\r\n"[..]);
//! let err = decoder.decode(&mut input).unwrap_err();
//! assert_eq!(err.reply(), Some(&b"CLIENT_ERROR invalid numeric delta argument\r\n"[..]));
//! assert!(!err.closes_connection());
//! ```

#![forbid(unsafe_code)]

pub mod binary;
#[cfg(feature = "codec")]
pub mod codec;
mod codec_error;
mod key;
mod limits;
pub mod meta;
mod number;
pub mod request;
pub mod response;
mod tokens;

pub use codec_error::{MetaError, RequestError, RequestErrorKind, ResponseError};
pub use key::{check_key, check_key_default, KeyError};
pub use limits::{item_size, DEFAULT_MAX_ITEM_SIZE, KEY_MAX_LENGTH, MAX_LINE_LENGTH};
pub use meta::{MetaFlags, MetaOptions, MetaResponse, MetaStatus};
pub use request::{
    AdminWords, Arithmetic, ArithmeticOp, CacheMemlimit, Delete, FlushAll, Get, GetCommand, Keys,
    Limits, LruCrawler, Request, RequestDecoder, ShutdownMode, Stats, StoreCommand, StoreParts,
    StoreRequest, Touch, Verbosity,
};
pub use response::{
    encode_value, encode_value_header, Peeked, Response, ResponseDecoder, ServerMessage, Value,
    ValueSpan,
};

/// Number parsing with memcached's exact rules, for servers that interpret stored values (e.g.
/// `incr` on a stored number).
pub mod numbers {
    pub use crate::number::{parse_i32, parse_u32, parse_u64};
}
