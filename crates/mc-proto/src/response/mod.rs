//! Responses: what a server sends and a client decodes.

mod listing;
mod response_decoder;
mod server_message;

pub(crate) use listing::put_item_fields;
pub use listing::{
    cachedump_item_len, encode_cachedump_item, encode_metadump_entry, encode_prefix_stats,
    encode_stat, encode_stat_number, uri_encode, MetadumpEntry,
};
pub use response_decoder::{Peeked, ResponseDecoder, ValueSpan};
pub use server_message::ServerMessage;

use bytes::{BufMut, Bytes, BytesMut};

use crate::meta::MetaResponse;
use crate::request::put_number;

/// One item in the answer to a retrieval command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    /// The key.
    pub key: Bytes,
    /// The client flags stored with the value.
    pub flags: u32,
    /// The CAS unique (answers to `gets`/`gats` only).
    pub cas: Option<u64>,
    /// The value.
    pub data: Bytes,
}

/// One memcached response line (with its data block, for values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// `VALUE <key> <flags> <bytes> [<cas>]` and the data; a retrieval answer is zero or more of
    /// these followed by [`Response::End`].
    Value(Value),
    /// `END`
    End,
    /// `STORED`
    Stored,
    /// `NOT_STORED`
    NotStored,
    /// `EXISTS`
    Exists,
    /// `NOT_FOUND`
    NotFound,
    /// `DELETED`
    Deleted,
    /// `TOUCHED`
    Touched,
    /// `OK`
    Ok,
    /// `RESET` (the answer to `stats reset`)
    Reset,
    /// The new value after `incr`/`decr`.
    Number(u64),
    /// `STAT <name> <value>`; a stats answer is a run of these followed by [`Response::End`].
    Stat {
        /// The statistic's name.
        name: Bytes,
        /// Its value, which may contain spaces.
        value: Bytes,
    },
    /// `VERSION <text>`
    Version(Bytes),
    /// `ERROR` followed verbatim by this suffix: empty for the plain `ERROR`,
    /// `" Too many open connections"`, `": shutdown not enabled"`.
    Error(Bytes),
    /// `CLIENT_ERROR <message>`
    ClientError(Bytes),
    /// `SERVER_ERROR <message>`
    ServerError(Bytes),
    /// A meta command's answer (`HD VA EN NF NS EX MN`).
    Meta(MetaResponse),
    /// `ME <key> <key=value ...>`: the answer to `me`.
    MetaDebug {
        /// The key as the server printed it.
        key: Bytes,
        /// The metadata text.
        info: Bytes,
    },
    /// Another status line, sent verbatim (e.g. `MEMLIMIT_TOO_SMALL ...` for `cache_memlimit`).
    Line(Bytes),
    /// One of memcached's fixed answers, named (a decoder reads it back as the error or
    /// [`Response::Line`] it spells).
    Message(ServerMessage),
}

impl Response {
    /// Append this response's wire form to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) {
        let fixed: &[u8] = match self {
            Response::Value(v) => {
                encode_value(dst, &v.key, v.flags, v.cas, &v.data);
                return;
            }
            Response::End => b"END\r\n",
            Response::Stored => b"STORED\r\n",
            Response::NotStored => b"NOT_STORED\r\n",
            Response::Exists => b"EXISTS\r\n",
            Response::NotFound => b"NOT_FOUND\r\n",
            Response::Deleted => b"DELETED\r\n",
            Response::Touched => b"TOUCHED\r\n",
            Response::Ok => b"OK\r\n",
            Response::Reset => b"RESET\r\n",
            Response::Number(n) => {
                put_number(dst, *n);
                dst.put_slice(b"\r\n");
                return;
            }
            Response::Stat { name, value } => {
                put_line(dst, &[b"STAT ", name, b" ", value]);
                return;
            }
            Response::Version(v) => {
                put_line(dst, &[b"VERSION ", v]);
                return;
            }
            Response::Error(suffix) => {
                put_line(dst, &[b"ERROR", suffix]);
                return;
            }
            Response::ClientError(m) => {
                put_line(dst, &[b"CLIENT_ERROR ", m]);
                return;
            }
            Response::ServerError(m) => {
                put_line(dst, &[b"SERVER_ERROR ", m]);
                return;
            }
            Response::Meta(m) => {
                m.encode(dst);
                return;
            }
            Response::MetaDebug { key, info } => {
                put_line(dst, &[b"ME ", key, b" ", info]);
                return;
            }
            Response::Line(line) => {
                put_line(dst, &[line]);
                return;
            }
            Response::Message(message) => {
                put_line(dst, &[message.text()]);
                return;
            }
        };
        dst.put_slice(fixed);
    }
}

fn put_line(dst: &mut BytesMut, parts: &[&[u8]]) {
    for part in parts {
        dst.put_slice(part);
    }
    dst.put_slice(b"\r\n");
}

/// Append one `VALUE` line and its data block, as memcached formats them. Servers that keep
/// values in their own storage call this directly rather than building a [`Value`].
pub fn encode_value(dst: &mut BytesMut, key: &[u8], flags: u32, cas: Option<u64>, data: &[u8]) {
    encode_value_header(dst, key, flags, data.len(), cas);
    dst.put_slice(data);
    dst.put_slice(b"\r\n");
}

/// Append just the `VALUE <key> <flags> <bytes> [<cas>]\r\n` line.
pub fn encode_value_header(
    dst: &mut BytesMut,
    key: &[u8],
    flags: u32,
    len: usize,
    cas: Option<u64>,
) {
    dst.reserve(key.len() + len + 48);
    dst.put_slice(b"VALUE ");
    dst.put_slice(key);
    dst.put_u8(b' ');
    put_number(dst, flags);
    dst.put_u8(b' ');
    put_number(dst, len);
    if let Some(cas) = cas {
        dst.put_u8(b' ');
        put_number(dst, cas);
    }
    dst.put_slice(b"\r\n");
}
