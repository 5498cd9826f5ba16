//! `ms <key> <datalen> <flags>*` followed by a data block: meta set.

use bytes::{BufMut, Bytes, BytesMut};

use super::{check_opaque, preparse, put_key, MetaFlags, MetaLine};
use crate::codec_error::{MetaError, RequestError, RequestErrorKind};
use crate::number::parse_i32;
use crate::request::{put_number, StoreCommand};
use crate::tokens::Tokens;

/// Store a value, with the mode (`M`) choosing set, add, replace, append or prepend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaSet {
    /// The key (base64-decoded when the `b` flag is set).
    pub key: Bytes,
    /// The flags.
    pub flags: MetaFlags,
    /// The value.
    pub data: Bytes,
}

impl MetaSet {
    /// The storage semantics: the `M` mode, upgraded to compare-and-swap when `C` is given for
    /// set or replace, as memcached does.
    pub fn command(&self) -> StoreCommand {
        let o = self.flags.options();
        let command = match o.mode {
            Some(b'E' | b'e') => StoreCommand::Add,
            Some(b'A' | b'a') => StoreCommand::Append,
            Some(b'P' | b'p') => StoreCommand::Prepend,
            Some(b'R' | b'r') => StoreCommand::Replace,
            _ => StoreCommand::Set,
        };
        match command {
            StoreCommand::Set | StoreCommand::Replace if o.compare_cas.is_some() => {
                StoreCommand::Cas
            }
            other => other,
        }
    }

    /// Append the wire form.
    pub fn encode(&self, dst: &mut BytesMut) {
        dst.put_slice(b"ms ");
        put_key(dst, &self.key, &self.flags);
        dst.put_u8(b' ');
        put_number(dst, self.data.len());
        self.flags.encode(dst);
        dst.put_slice(b"\r\n");
        dst.put_slice(&self.data);
        dst.put_slice(b"\r\n");
    }
}

/// A validated `ms` line, waiting for its data block.
#[derive(Debug)]
pub(crate) struct MetaSetHeader {
    pub(crate) key: Bytes,
    pub(crate) flags: MetaFlags,
    pub(crate) len: usize,
}

/// An `ms` line memcached rejects; `swallow` is how many bytes of data block it skips after it.
#[derive(Debug)]
pub(crate) struct MetaSetRejected {
    pub(crate) error: RequestError,
    pub(crate) swallow: usize,
}

impl MetaSetHeader {
    /// Validate in memcached's order. Errors found before the data length is known skip nothing;
    /// later ones skip the data block.
    pub(crate) fn parse(line: &Bytes, tokens: &Tokens) -> Result<MetaSetHeader, MetaSetRejected> {
        let reject = |kind, swallow| MetaSetRejected {
            error: RequestError::always(kind),
            swallow,
        };
        let split = MetaLine::split(line, tokens, 3, MetaError::FlagsTooLong);
        let split = match split {
            // `ms <key>` without a length.
            Ok(_) if tokens.ntokens() == 3 => {
                return Err(reject(RequestErrorKind::BadCommandLine, 0))
            }
            // memcached checks the key length before the missing length, and the number of
            // tokens after it; MetaLine::split checks in that order too.
            Ok(split) => split,
            Err(kind) => return Err(reject(kind, 0)),
        };
        let len = match parse_i32(tokens.get(line, 2)) {
            Some(len) if (0..=i32::MAX - 2).contains(&len) => len as usize,
            _ => return Err(reject(RequestErrorKind::BadCommandLine, 0)),
        };
        let swallow = len + 2;
        let raw = line.slice(split.flags.0..split.flags.1);
        let key = line.slice(split.key.0..split.key.1);
        let (options, decoded) =
            preparse(&raw, Some(&key)).map_err(|kind| reject(kind, swallow))?;
        let opaque = check_opaque(&raw);
        if let Some(mode) = options.mode {
            if !matches!(
                mode,
                b'E' | b'e' | b'A' | b'a' | b'P' | b'p' | b'R' | b'r' | b'S' | b's'
            ) {
                return Err(reject(
                    RequestErrorKind::Meta(MetaError::InvalidSetMode),
                    swallow,
                ));
            }
        }
        opaque.map_err(|kind| reject(kind, swallow))?;
        Ok(MetaSetHeader {
            key: decoded.unwrap_or(key),
            flags: MetaFlags::from_parts(raw, options),
            len,
        })
    }
}
