//! Client-side key checks.

use crate::KEY_MAX_LENGTH;

/// Why a key cannot be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The key is empty.
    #[error("key is empty")]
    Empty,
    /// The key is longer than the maximum.
    #[error("key is {len} bytes long; the limit is {max}")]
    TooLong {
        /// The key's length.
        len: usize,
        /// The limit it broke.
        max: usize,
    },
    /// The key holds a space or a control byte, which would break the text protocol.
    #[error("key has a space or control byte 0x{byte:02x} at offset {offset}")]
    InvalidByte {
        /// The offending byte.
        byte: u8,
        /// Where it is.
        offset: usize,
    },
}

/// Check a key the way python-memcached does before sending it: not empty, at most `max_len`
/// bytes, and no byte below 33 (space and control characters) or equal to 127 (DEL).
///
/// The server side is more lenient (memcached accepts control bytes other than space and
/// newline); clients refuse them so that every server and proxy reads the key the same way.
pub fn check_key(key: &[u8], max_len: usize) -> Result<(), KeyError> {
    if key.is_empty() {
        return Err(KeyError::Empty);
    }
    if key.len() > max_len {
        return Err(KeyError::TooLong {
            len: key.len(),
            max: max_len,
        });
    }
    match key.iter().position(|&b| b < 33 || b == 127) {
        Some(offset) => Err(KeyError::InvalidByte {
            byte: key[offset],
            offset,
        }),
        None => Ok(()),
    }
}

/// [`check_key`] with memcached's limit of 250 bytes.
pub fn check_key_default(key: &[u8]) -> Result<(), KeyError> {
    check_key(key, KEY_MAX_LENGTH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_what_python_memcached_rejects() {
        assert_eq!(check_key_default(b""), Err(KeyError::Empty));
        assert_eq!(
            check_key_default(&[b'k'; 251]),
            Err(KeyError::TooLong { len: 251, max: 250 })
        );
        assert!(check_key_default(&[b'k'; 250]).is_ok());
        assert_eq!(
            check_key_default(b"a b"),
            Err(KeyError::InvalidByte {
                byte: b' ',
                offset: 1
            })
        );
        assert!(check_key_default(b"a\x7f").is_err());
        assert!(check_key_default(b"a\r\n").is_err());
        assert!(check_key_default("ключ".as_bytes()).is_ok());
    }
}
