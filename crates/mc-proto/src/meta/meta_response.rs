//! Meta responses: a two-letter status, return flags, and for `VA` a data block.

use bytes::{BufMut, Bytes, BytesMut};

use crate::request::put_number;

/// The status code that starts a meta response line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetaStatus {
    /// `HD`: success, no value.
    Header,
    /// `VA <len>`: success with a value.
    Value,
    /// `EN`: miss.
    Miss,
    /// `NF`: not found.
    NotFound,
    /// `NS`: not stored.
    NotStored,
    /// `EX`: CAS mismatch.
    Exists,
    /// `MN`: the no-op answer.
    Noop,
}

impl MetaStatus {
    /// The two letters on the wire.
    pub fn code(self) -> &'static [u8; 2] {
        match self {
            MetaStatus::Header => b"HD",
            MetaStatus::Value => b"VA",
            MetaStatus::Miss => b"EN",
            MetaStatus::NotFound => b"NF",
            MetaStatus::NotStored => b"NS",
            MetaStatus::Exists => b"EX",
            MetaStatus::Noop => b"MN",
        }
    }

    /// The status for two letters.
    pub fn from_code(code: &[u8]) -> Option<MetaStatus> {
        Some(match code {
            b"HD" => MetaStatus::Header,
            b"VA" => MetaStatus::Value,
            b"EN" => MetaStatus::Miss,
            b"NF" => MetaStatus::NotFound,
            b"NS" => MetaStatus::NotStored,
            b"EX" => MetaStatus::Exists,
            b"MN" => MetaStatus::Noop,
            _ => return None,
        })
    }
}

/// A meta response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaResponse {
    /// The status.
    pub status: MetaStatus,
    /// Return flags as sent, space separated, without a leading space (e.g. `f5 kfoo O12`).
    pub flags: Bytes,
    /// The value, present exactly when the status is `VA`.
    pub data: Option<Bytes>,
}

impl MetaResponse {
    /// Append the wire form.
    pub fn encode(&self, dst: &mut BytesMut) {
        dst.put_slice(self.status.code());
        if let (MetaStatus::Value, Some(data)) = (self.status, &self.data) {
            dst.put_u8(b' ');
            put_number(dst, data.len());
        }
        if !self.flags.is_empty() {
            dst.put_u8(b' ');
            dst.put_slice(&self.flags);
        }
        dst.put_slice(b"\r\n");
        if let Some(data) = &self.data {
            dst.put_slice(data);
            dst.put_slice(b"\r\n");
        }
    }
}

/// Writes one meta response into a buffer piece by piece, for servers that answer from their
/// own storage without building a [`MetaResponse`]: the status (`VA <len>` with its length),
/// then return flags, then the end of the line and, for `VA`, the data.
#[derive(Debug)]
pub struct MetaReply<'a> {
    dst: &'a mut BytesMut,
}

impl<'a> MetaReply<'a> {
    /// Start a line with `status` (for [`MetaStatus::Value`] use [`MetaReply::value`]).
    pub fn start(dst: &'a mut BytesMut, status: MetaStatus) -> MetaReply<'a> {
        dst.put_slice(status.code());
        MetaReply { dst }
    }

    /// Start a `VA <len>` line.
    pub fn value(dst: &'a mut BytesMut, len: usize) -> MetaReply<'a> {
        dst.put_slice(b"VA ");
        put_number(dst, len);
        MetaReply { dst }
    }

    /// ` <flag><n>`.
    pub fn number(&mut self, flag: u8, n: impl itoa::Integer) {
        self.dst.put_u8(b' ');
        self.dst.put_u8(flag);
        put_number(self.dst, n);
    }

    /// ` <flag><bytes>` (the opaque `O`, an echoed token).
    pub fn token(&mut self, flag: u8, bytes: &[u8]) {
        self.dst.put_u8(b' ');
        self.dst.put_u8(flag);
        self.dst.put_slice(bytes);
    }

    /// A flag without an argument: ` W`, ` Z`, ` X`.
    pub fn flag(&mut self, flag: u8) {
        self.dst.put_u8(b' ');
        self.dst.put_u8(flag);
    }

    /// ` k<key>`; base64-encoded and followed by ` b` when the request's key was.
    pub fn key(&mut self, key: &[u8], base64: bool) {
        use base64::Engine as _;
        if base64 {
            let encoded = base64::engine::general_purpose::STANDARD.encode(key);
            self.token(b'k', encoded.as_bytes());
            self.flag(b'b');
        } else {
            self.token(b'k', key);
        }
    }

    /// End the line.
    pub fn end(self) {
        self.dst.put_slice(b"\r\n");
    }

    /// End the line and append the value's data block.
    pub fn end_with_data(self, data: &[u8]) {
        self.dst.put_slice(b"\r\n");
        self.dst.put_slice(data);
        self.dst.put_slice(b"\r\n");
    }
}

/// What `me` reports about an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetaDebugInfo {
    /// memcached's `exp`: now minus the expiry time (negative while alive), -1 for never.
    pub exp: i64,
    /// Seconds since the last access.
    pub last_access: u32,
    /// The CAS unique.
    pub cas: u64,
    /// Whether it was read since stored.
    pub fetched: bool,
    /// Its slab class.
    pub class: usize,
    /// Bytes it occupies.
    pub size: usize,
}

/// `ME <key> exp=… la=… cas=… fetch=yes|no cls=… size=…\r\n`, the answer to `me` (`key` as
/// the request gave it: base64 when it came so).
pub fn encode_meta_debug(dst: &mut BytesMut, key: &[u8], info: &MetaDebugInfo) {
    dst.put_slice(b"ME ");
    dst.put_slice(key);
    crate::response::put_item_fields(
        dst,
        info.exp,
        i64::from(info.last_access),
        info.cas,
        info.fetched,
        info.class,
        info.size,
    );
    dst.put_slice(b"\r\n");
}
