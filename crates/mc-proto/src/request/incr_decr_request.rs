//! `incr`/`decr <key> <delta> [noreply]`.

use bytes::{BufMut, Bytes, BytesMut};

use super::{key_and_argument, put_noreply, put_number};
use crate::codec_error::{RequestError, RequestErrorKind};
use crate::number::parse_u64;
use crate::tokens::Tokens;

/// Increment or decrement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArithmeticOp {
    /// `incr`: adds, wrapping at 2^64.
    Incr,
    /// `decr`: subtracts, stopping at 0.
    Decr,
}

/// Change a decimal counter in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arithmetic {
    /// Which operation.
    pub op: ArithmeticOp,
    /// The key.
    pub key: Bytes,
    /// The amount.
    pub delta: u64,
    /// Do not answer.
    pub noreply: bool,
}

impl Arithmetic {
    pub(crate) fn parse(
        op: ArithmeticOp,
        line: &Bytes,
        tokens: &Tokens,
    ) -> Result<Arithmetic, RequestError> {
        let (key, delta, noreply) = key_and_argument(line, tokens)?;
        let delta =
            parse_u64(delta).ok_or(RequestError::new(RequestErrorKind::InvalidDelta, noreply))?;
        Ok(Arithmetic {
            op,
            key,
            delta,
            noreply,
        })
    }

    /// Append the wire form.
    pub fn encode(&self, dst: &mut BytesMut) {
        dst.put_slice(match self.op {
            ArithmeticOp::Incr => b"incr ",
            ArithmeticOp::Decr => b"decr ",
        });
        dst.put_slice(&self.key);
        dst.put_u8(b' ');
        put_number(dst, self.delta);
        put_noreply(dst, self.noreply);
        dst.put_slice(b"\r\n");
    }
}
