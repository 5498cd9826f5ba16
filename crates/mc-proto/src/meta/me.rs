//! `me <key> [b]`: meta debug, a human-readable dump of an item's metadata.

use base64::Engine as _;
use bytes::{BufMut, Bytes, BytesMut};

use crate::codec_error::{RequestError, RequestErrorKind};
use crate::tokens::Tokens;
use crate::KEY_MAX_LENGTH;

/// Ask for an item's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaDebug {
    /// The key (decoded when `base64_key`).
    pub key: Bytes,
    /// The key was sent base64 encoded (`me <key> b`).
    pub base64_key: bool,
}

impl MetaDebug {
    pub(crate) fn parse(line: &Bytes, tokens: &Tokens) -> Result<MetaDebug, RequestError> {
        let bad = || RequestError::always(RequestErrorKind::BadCommandLine);
        if tokens.ntokens() < 3 {
            return Err(bad());
        }
        let (s, e) = tokens.span(1);
        if e - s > KEY_MAX_LENGTH {
            return Err(bad());
        }
        let mut key = line.slice(s..e);
        let base64_key = tokens.ntokens() >= 4 && tokens.get(line, 2) == b"b";
        if base64_key {
            key = match base64::engine::general_purpose::STANDARD.decode(&key) {
                Ok(k) if !k.is_empty() => Bytes::from(k),
                _ => return Err(bad()),
            };
        }
        Ok(MetaDebug { key, base64_key })
    }

    /// Append the wire form.
    pub fn encode(&self, dst: &mut BytesMut) {
        dst.put_slice(b"me ");
        if self.base64_key {
            let encoded = base64::engine::general_purpose::STANDARD.encode(&self.key);
            dst.put_slice(encoded.as_bytes());
            dst.put_slice(b" b");
        } else {
            dst.put_slice(&self.key);
        }
        dst.put_slice(b"\r\n");
    }
}
