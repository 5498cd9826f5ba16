//! `flush_all [delay] [noreply]`.

use bytes::{BufMut, Bytes, BytesMut};

use super::{put_noreply, put_number};
use crate::codec_error::{RequestError, RequestErrorKind};
use crate::number::parse_i32;
use crate::tokens::Tokens;

/// Invalidate every item, now or after a delay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlushAll {
    /// Seconds (or a Unix time) after which items stored before now become invalid; `None` or a
    /// value ≤ 0 means now.
    pub delay: Option<i32>,
    /// Do not answer.
    pub noreply: bool,
}

impl FlushAll {
    pub(crate) fn parse(line: &Bytes, tokens: &Tokens) -> Result<FlushAll, RequestError> {
        let n = tokens.ntokens();
        if !(2..=4).contains(&n) {
            return Err(RequestError::always(RequestErrorKind::UnknownCommand));
        }
        let noreply = tokens.noreply(line);
        let delay = if n != if noreply { 3 } else { 2 } {
            Some(
                parse_i32(tokens.get(line, 1))
                    .ok_or(RequestError::new(RequestErrorKind::InvalidExptime, noreply))?,
            )
        } else {
            None
        };
        Ok(FlushAll { delay, noreply })
    }

    /// Append the wire form.
    pub fn encode(&self, dst: &mut BytesMut) {
        dst.put_slice(b"flush_all");
        if let Some(delay) = self.delay {
            dst.put_u8(b' ');
            put_number(dst, delay);
        }
        put_noreply(dst, self.noreply);
        dst.put_slice(b"\r\n");
    }
}
