//! `delete <key> [0] [noreply]`.

use bytes::{BufMut, Bytes, BytesMut};

use super::put_noreply;
use crate::codec_error::{RequestError, RequestErrorKind};
use crate::tokens::Tokens;
use crate::KEY_MAX_LENGTH;

/// Remove a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delete {
    /// The key.
    pub key: Bytes,
    /// Do not answer.
    pub noreply: bool,
}

impl Delete {
    /// Parse; accepts the legacy hold time only when it is `0`, like memcached.
    pub(crate) fn parse(line: &Bytes, tokens: &Tokens) -> Result<Delete, RequestError> {
        let n = tokens.ntokens();
        if !(3..=5).contains(&n) {
            return Err(RequestError::always(RequestErrorKind::UnknownCommand));
        }
        let mut noreply = false;
        if n > 3 {
            let hold_is_zero = tokens.get(line, 2) == b"0";
            noreply = tokens.noreply(line);
            let valid =
                (n == 4 && (hold_is_zero || noreply)) || (n == 5 && hold_is_zero && noreply);
            if !valid {
                return Err(RequestError::new(RequestErrorKind::DeleteUsage, noreply));
            }
        }
        let (s, e) = tokens.span(1);
        if e - s > KEY_MAX_LENGTH {
            return Err(RequestError::new(RequestErrorKind::BadCommandLine, noreply));
        }
        Ok(Delete {
            key: line.slice(s..e),
            noreply,
        })
    }

    /// Append the wire form.
    pub fn encode(&self, dst: &mut BytesMut) {
        dst.put_slice(b"delete ");
        dst.put_slice(&self.key);
        put_noreply(dst, self.noreply);
        dst.put_slice(b"\r\n");
    }
}
