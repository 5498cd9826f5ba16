//! `set`, `add`, `replace`, `append`, `prepend`, `cas`: store a value sent as a data block.

use bytes::{BufMut, Bytes, BytesMut};

use super::{put_noreply, put_number};
use crate::codec_error::{RequestError, RequestErrorKind};
use crate::number::{parse_i32, parse_u32, parse_u64};
use crate::tokens::Tokens;
use crate::KEY_MAX_LENGTH;

/// Which storage command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoreCommand {
    /// Store unconditionally.
    Set,
    /// Store only if the key is absent.
    Add,
    /// Store only if the key is present.
    Replace,
    /// Add the data after the existing value (flags and expiry are kept).
    Append,
    /// Add the data before the existing value (flags and expiry are kept).
    Prepend,
    /// Store only if the item's CAS unique still equals the given one.
    Cas,
}

impl StoreCommand {
    /// Every storage command.
    pub const ALL: [StoreCommand; 6] = [
        StoreCommand::Set,
        StoreCommand::Add,
        StoreCommand::Replace,
        StoreCommand::Append,
        StoreCommand::Prepend,
        StoreCommand::Cas,
    ];

    /// The command word on the wire.
    pub fn name(self) -> &'static str {
        match self {
            StoreCommand::Set => "set",
            StoreCommand::Add => "add",
            StoreCommand::Replace => "replace",
            StoreCommand::Append => "append",
            StoreCommand::Prepend => "prepend",
            StoreCommand::Cas => "cas",
        }
    }
}

/// A storage request with its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreRequest {
    /// Which command.
    pub command: StoreCommand,
    /// The key.
    pub key: Bytes,
    /// Opaque client flags stored with the value.
    pub flags: u32,
    /// Expiry: 0 never, up to 30 days relative seconds, above that a Unix time, negative expired.
    pub exptime: i32,
    /// The CAS unique to compare against (`cas` only; 0 otherwise).
    pub cas: u64,
    /// The value.
    pub data: Bytes,
    /// Do not answer.
    pub noreply: bool,
}

/// A validated storage command line, waiting for its data block.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StoreHeader {
    pub(crate) command: StoreCommand,
    pub(crate) key: (usize, usize),
    pub(crate) flags: u32,
    pub(crate) exptime: i32,
    pub(crate) cas: u64,
    pub(crate) len: usize,
    pub(crate) noreply: bool,
}

impl StoreHeader {
    /// Validate a storage line the way memcached's `process_update_command` does, in its order.
    pub(crate) fn parse(
        command: StoreCommand,
        line: &[u8],
        tokens: &Tokens,
    ) -> Result<StoreHeader, RequestError> {
        let with_cas = command == StoreCommand::Cas;
        let expected = if with_cas { 7 } else { 6 };
        let n = tokens.ntokens();
        if n != expected && n != expected + 1 {
            return Err(RequestError::always(RequestErrorKind::UnknownCommand));
        }
        let noreply = tokens.noreply(line);
        let bad = || RequestError::new(RequestErrorKind::BadCommandLine, noreply);
        let key = tokens.span(1);
        if key.1 - key.0 > KEY_MAX_LENGTH {
            return Err(bad());
        }
        let flags = parse_u32(tokens.get(line, 2));
        let exptime = parse_i32(tokens.get(line, 3));
        let len = parse_i32(tokens.get(line, 4));
        let (Some(flags), Some(exptime), Some(len)) = (flags, exptime, len) else {
            return Err(bad());
        };
        let cas = if with_cas {
            parse_u64(tokens.get(line, 5)).ok_or_else(bad)?
        } else {
            0
        };
        // memcached rejects negative lengths and ones that would overflow with the CRLF added.
        if !(0..=i32::MAX - 2).contains(&len) {
            return Err(bad());
        }
        Ok(StoreHeader {
            command,
            key,
            flags,
            exptime,
            cas,
            len: len as usize,
            noreply,
        })
    }

    /// The request, still without its data, from the line the header was parsed from.
    pub(crate) fn into_store(self, line: &Bytes) -> StoreRequest {
        StoreRequest {
            command: self.command,
            key: line.slice(self.key.0..self.key.1),
            flags: self.flags,
            exptime: self.exptime,
            cas: self.cas,
            data: Bytes::new(),
            noreply: self.noreply,
        }
    }
}

impl StoreRequest {
    /// Append the wire form: the command line and the data block.
    pub fn encode(&self, dst: &mut BytesMut) {
        dst.reserve(self.key.len() + self.data.len() + 48);
        StoreParts {
            command: self.command,
            prefix: b"",
            key: &self.key,
            flags: self.flags,
            exptime: self.exptime,
            cas: self.cas,
            data: &self.data,
            noreply: self.noreply,
        }
        .encode(dst);
    }
}

/// A storage request from borrowed parts, its key written as `prefix` then `key`: a client
/// encodes it straight from the caller's key and value, with no key or data buffer of its
/// own. The bytes are exactly what [`StoreRequest::encode`] writes for the same full key.
#[derive(Debug, Clone, Copy)]
pub struct StoreParts<'a> {
    /// Which command.
    pub command: StoreCommand,
    /// Written before the key (a client's key prefix; may be empty).
    pub prefix: &'a [u8],
    /// The key, after the prefix.
    pub key: &'a [u8],
    /// Opaque client flags.
    pub flags: u32,
    /// Expiry as sent.
    pub exptime: i32,
    /// The CAS unique (`cas` only).
    pub cas: u64,
    /// The data block.
    pub data: &'a [u8],
    /// `noreply`.
    pub noreply: bool,
}

impl StoreParts<'_> {
    /// Append the wire form: the command line and the data block.
    pub fn encode(&self, dst: &mut impl BufMut) {
        dst.put_slice(self.command.name().as_bytes());
        dst.put_u8(b' ');
        dst.put_slice(self.prefix);
        dst.put_slice(self.key);
        dst.put_u8(b' ');
        put_number(dst, self.flags);
        dst.put_u8(b' ');
        put_number(dst, self.exptime);
        dst.put_u8(b' ');
        put_number(dst, self.data.len());
        if self.command == StoreCommand::Cas {
            dst.put_u8(b' ');
            put_number(dst, self.cas);
        }
        put_noreply(dst, self.noreply);
        dst.put_slice(b"\r\n");
        dst.put_slice(self.data);
        dst.put_slice(b"\r\n");
    }

    /// How many bytes [`StoreParts::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        let number = |n: u64| itoa::Buffer::new().format(n).len();
        let cas = match self.command {
            StoreCommand::Cas => 1 + number(self.cas),
            _ => 0,
        };
        self.command.name().len()
            + 1
            + self.prefix.len()
            + self.key.len()
            + 1
            + number(u64::from(self.flags))
            + 1
            + itoa::Buffer::new().format(self.exptime).len()
            + 1
            + number(self.data.len() as u64)
            + cas
            + if self.noreply { b" noreply".len() } else { 0 }
            + 2
            + self.data.len()
            + 2
    }

    /// Where the full key (prefix and key) lies in what [`StoreParts::encode`] writes.
    pub fn key_range(&self) -> std::ops::Range<usize> {
        let start = self.command.name().len() + 1;
        start..start + self.prefix.len() + self.key.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same bytes as a built request, of exactly the length announced, the key where
    /// `key_range` says; for every command, with and without prefix, noreply, extreme numbers.
    #[test]
    fn parts_encode_as_the_request_does() {
        for command in StoreCommand::ALL {
            for (prefix, key, flags, exptime, cas, data, noreply) in [
                ("", "k", 0, 0, 0, &b"v"[..], false),
                ("app:", "session", u32::MAX, -1, u64::MAX, &b""[..], true),
                ("p", "x", 7, i32::MIN, 1, &[b'\n'; 300][..], false),
            ] {
                let full = format!("{prefix}{key}");
                let mut expected = BytesMut::new();
                StoreRequest {
                    command,
                    key: Bytes::from(full.clone()),
                    flags,
                    exptime,
                    cas,
                    data: Bytes::copy_from_slice(data),
                    noreply,
                }
                .encode(&mut expected);
                let parts = StoreParts {
                    command,
                    prefix: prefix.as_bytes(),
                    key: key.as_bytes(),
                    flags,
                    exptime,
                    cas,
                    data,
                    noreply,
                };
                let mut wire = Vec::new();
                parts.encode(&mut wire);
                assert_eq!(wire, &expected[..]);
                assert_eq!(parts.encoded_len(), wire.len());
                assert_eq!(&wire[parts.key_range()], full.as_bytes());
            }
        }
    }
}
