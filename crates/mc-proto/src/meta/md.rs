//! `md <key> <flags>*`: meta delete.

use bytes::{BufMut, Bytes, BytesMut};

use super::{check_opaque, parse_key_and_flags, put_key, MetaFlags, MetaLine};
use crate::codec_error::{MetaError, RequestError, RequestErrorKind};
use crate::tokens::Tokens;

/// Delete an item, or with `I` mark it stale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaDelete {
    /// The key (base64-decoded when the `b` flag is set).
    pub key: Bytes,
    /// The flags.
    pub flags: MetaFlags,
}

impl MetaDelete {
    pub(crate) fn parse(line: &Bytes, tokens: &Tokens) -> Result<MetaDelete, RequestError> {
        let split = MetaLine::split(line, tokens, 2, MetaError::FlagsTooLong)
            .map_err(RequestError::always)?;
        let (key, flags) = parse_key_and_flags(line, &split, |_| {
            RequestErrorKind::Meta(MetaError::InvalidOrDuplicateFlag)
        })
        .map_err(RequestError::always)?;
        check_opaque(flags.raw()).map_err(RequestError::always)?;
        Ok(MetaDelete { key, flags })
    }

    /// Append the wire form.
    pub fn encode(&self, dst: &mut BytesMut) {
        dst.put_slice(b"md ");
        put_key(dst, &self.key, &self.flags);
        self.flags.encode(dst);
        dst.put_slice(b"\r\n");
    }
}
