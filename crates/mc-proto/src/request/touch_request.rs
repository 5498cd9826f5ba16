//! `touch <key> <exptime> [noreply]`.

use bytes::{BufMut, Bytes, BytesMut};

use super::{key_and_argument, put_noreply, put_number};
use crate::codec_error::{RequestError, RequestErrorKind};
use crate::number::parse_i32;
use crate::tokens::Tokens;

/// Update a key's expiry without fetching it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Touch {
    /// The key.
    pub key: Bytes,
    /// The new expiry.
    pub exptime: i32,
    /// Do not answer.
    pub noreply: bool,
}

impl Touch {
    pub(crate) fn parse(line: &Bytes, tokens: &Tokens) -> Result<Touch, RequestError> {
        let (key, exptime, noreply) = key_and_argument(line, tokens)?;
        let exptime = parse_i32(exptime)
            .ok_or(RequestError::new(RequestErrorKind::InvalidExptime, noreply))?;
        Ok(Touch {
            key,
            exptime,
            noreply,
        })
    }

    /// Append the wire form.
    pub fn encode(&self, dst: &mut BytesMut) {
        dst.put_slice(b"touch ");
        dst.put_slice(&self.key);
        dst.put_u8(b' ');
        put_number(dst, self.exptime);
        put_noreply(dst, self.noreply);
        dst.put_slice(b"\r\n");
    }
}
