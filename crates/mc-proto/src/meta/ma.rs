//! `ma <key> <flags>*`: meta arithmetic.

use bytes::{BufMut, Bytes, BytesMut};

use super::{check_opaque, parse_key_and_flags, put_key, MetaFlags, MetaLine};
use crate::codec_error::{MetaError, RequestError, RequestErrorKind};
use crate::request::ArithmeticOp;
use crate::tokens::Tokens;

/// Increment or decrement a counter, optionally creating it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaArithmetic {
    /// The key (base64-decoded when the `b` flag is set).
    pub key: Bytes,
    /// The flags.
    pub flags: MetaFlags,
}

impl MetaArithmetic {
    pub(crate) fn parse(line: &Bytes, tokens: &Tokens) -> Result<MetaArithmetic, RequestError> {
        let split = MetaLine::split(line, tokens, 2, MetaError::FlagsTooLong)
            .map_err(RequestError::always)?;
        let (key, flags) = parse_key_and_flags(line, &split, |_| {
            RequestErrorKind::Meta(MetaError::InvalidOrDuplicateFlag)
        })
        .map_err(RequestError::always)?;
        if let Some(mode) = flags.options().mode {
            if !matches!(mode, b'I' | b'i' | b'+' | b'D' | b'd' | b'-') {
                return Err(RequestError::meta(MetaError::InvalidArithmeticMode));
            }
        }
        check_opaque(flags.raw()).map_err(RequestError::always)?;
        Ok(MetaArithmetic { key, flags })
    }

    /// Increment (the default) or decrement, from the `M` flag.
    pub fn op(&self) -> ArithmeticOp {
        match self.flags.options().mode {
            Some(b'D' | b'd' | b'-') => ArithmeticOp::Decr,
            _ => ArithmeticOp::Incr,
        }
    }

    /// The delta (`D`), 1 when absent.
    pub fn delta(&self) -> u64 {
        self.flags.options().delta.unwrap_or(1)
    }

    /// Append the wire form.
    pub fn encode(&self, dst: &mut BytesMut) {
        dst.put_slice(b"ma ");
        put_key(dst, &self.key, &self.flags);
        self.flags.encode(dst);
        dst.put_slice(b"\r\n");
    }
}
