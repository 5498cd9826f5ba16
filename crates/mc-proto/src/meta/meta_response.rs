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
