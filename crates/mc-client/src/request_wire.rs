//! A request's bytes from encoding until they are written (or copied into a connection's
//! write queue).
//! Short requests — every single-key retrieval with a key up to memcached's 250-byte limit,
//! and stores of small values — are encoded on the stack, so they cost no buffer of their own;
//! longer ones (large stores, multi-key reads) in a buffer of their own.

use bytes::BytesMut;
use mc_proto::{Get, GetCommand, StoreParts};

/// The most bytes a request carries inline: `gats 4294967295 <250-byte key>\r\n` is 268.
const INLINE: usize = 272;

/// The encoded bytes of one request.
// Large by design: the inline variant is what spares a `get` its allocation; it lives on the
// caller's stack until written or copied into the write queue.
#[allow(clippy::large_enum_variant)]
pub(crate) enum RequestWire {
    /// Encoded into the value itself (on the caller's stack).
    Inline {
        /// Bytes of `bytes` in use.
        len: u16,
        /// The request, then unused space.
        bytes: [u8; INLINE],
    },
    /// Encoded into a buffer of its own (kept mutable: freezing a buffer with spare capacity
    /// would allocate a shared header just to be read once).
    Buffer(BytesMut),
}

impl RequestWire {
    /// A retrieval of one key, written as `prefix` then `key`, and the range of the request
    /// that holds the full key (to route and check it without building it elsewhere).
    pub(crate) fn retrieval(
        command: GetCommand,
        exptime: i32,
        prefix: &[u8],
        key: &[u8],
    ) -> (RequestWire, std::ops::Range<usize>) {
        let full_len = prefix.len() + key.len();
        let len = Get::encoded_len_one(command, exptime, full_len);
        // The key is the last word before the line end.
        let range = len - 2 - full_len..len - 2;
        if len <= INLINE {
            let mut bytes = [0u8; INLINE];
            let mut rest = &mut bytes[..];
            Get::encode_keys(command, exptime, prefix, [key], &mut rest);
            let len = u16::try_from(len).unwrap_or(u16::MAX);
            (RequestWire::Inline { len, bytes }, range)
        } else {
            let mut buf = BytesMut::with_capacity(len);
            Get::encode_keys(command, exptime, prefix, [key], &mut buf);
            (RequestWire::Buffer(buf), range)
        }
    }

    /// A storage request, and the range of it that holds the full key. Inline when it fits
    /// (a small value with a short key), else in a buffer of exactly its size.
    pub(crate) fn store(parts: &StoreParts<'_>) -> (RequestWire, std::ops::Range<usize>) {
        let len = parts.encoded_len();
        if len <= INLINE {
            let mut bytes = [0u8; INLINE];
            let mut rest = &mut bytes[..];
            parts.encode(&mut rest);
            let len = u16::try_from(len).unwrap_or(u16::MAX);
            (RequestWire::Inline { len, bytes }, parts.key_range())
        } else {
            let mut buf = BytesMut::with_capacity(len);
            parts.encode(&mut buf);
            (RequestWire::Buffer(buf), parts.key_range())
        }
    }

    /// The bytes to write.
    pub(crate) fn as_slice(&self) -> &[u8] {
        match self {
            RequestWire::Inline { len, bytes } => &bytes[..usize::from(*len)],
            RequestWire::Buffer(bytes) => bytes,
        }
    }
}

impl std::fmt::Debug for RequestWire {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    use mc_proto::{Keys, Request};

    use super::*;

    /// The same bytes as the codec's own `Get` encoding, inline or not, and the key range.
    #[test]
    fn retrievals_encode_as_the_codec_does() {
        let long = "k".repeat(300);
        for (command, exptime, prefix, key) in [
            (GetCommand::Get, 0, "", "a"),
            (GetCommand::Gats, 4_294_967, "app:", "session"),
            (GetCommand::Gat, -1, "p", long.as_str()),
        ] {
            let (wire, range) =
                RequestWire::retrieval(command, exptime, prefix.as_bytes(), key.as_bytes());
            let full = format!("{prefix}{key}");
            let mut expected = BytesMut::new();
            Request::Get(Get {
                command,
                exptime,
                keys: Keys::new([full.as_bytes()]),
            })
            .encode(&mut expected);
            assert_eq!(wire.as_slice(), &expected[..]);
            assert_eq!(&wire.as_slice()[range], full.as_bytes());
            assert_eq!(matches!(wire, RequestWire::Inline { .. }), key.len() < 250);
        }
    }

    /// Stores too, inline up to the inline size and in a buffer past it.
    #[test]
    fn stores_encode_as_the_codec_does() {
        for (key, data) in [("k", vec![b'v'; 32]), ("k", vec![b'v'; 300]), ("k", vec![])] {
            let parts = mc_proto::StoreParts {
                command: mc_proto::StoreCommand::Set,
                prefix: b"app:",
                key: key.as_bytes(),
                flags: 16,
                exptime: 60,
                cas: 0,
                data: &data,
                noreply: false,
            };
            let (wire, range) = RequestWire::store(&parts);
            let mut expected = BytesMut::new();
            Request::Store(mc_proto::StoreRequest {
                command: mc_proto::StoreCommand::Set,
                key: bytes::Bytes::from(format!("app:{key}")),
                flags: 16,
                exptime: 60,
                cas: 0,
                data: bytes::Bytes::from(data.clone()),
                noreply: false,
            })
            .encode(&mut expected);
            assert_eq!(wire.as_slice(), &expected[..]);
            assert_eq!(&wire.as_slice()[range], format!("app:{key}").as_bytes());
            assert_eq!(
                matches!(wire, RequestWire::Inline { .. }),
                expected.len() <= INLINE
            );
        }
    }
}
