//! `mg <key> <flags>*`: meta get.

use bytes::{BufMut, Bytes, BytesMut};

use super::{check_opaque, parse_key_and_flags, put_key, MetaFlags, MetaLine};
use crate::codec_error::{MetaError, RequestError};
use crate::tokens::Tokens;

/// Fetch an item's value and/or metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaGet {
    /// The key (base64-decoded when the `b` flag is set).
    pub key: Bytes,
    /// The flags.
    pub flags: MetaFlags,
}

impl MetaGet {
    pub(crate) fn parse(line: &Bytes, tokens: &Tokens) -> Result<MetaGet, RequestError> {
        let split = MetaLine::split(line, tokens, 2, MetaError::GetFlagsTooLong)
            .map_err(RequestError::always)?;
        let (key, flags) =
            parse_key_and_flags(line, &split, |e| e).map_err(RequestError::always)?;
        check_opaque(flags.raw()).map_err(RequestError::always)?;
        Ok(MetaGet { key, flags })
    }

    /// Append the wire form.
    pub fn encode(&self, dst: &mut BytesMut) {
        dst.put_slice(b"mg ");
        put_key(dst, &self.key, &self.flags);
        self.flags.encode(dst);
        dst.put_slice(b"\r\n");
    }
}
