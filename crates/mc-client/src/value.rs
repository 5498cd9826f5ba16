//! What can be stored, and how it is flagged so python-memcached reads it back as the same type.
//!
//! | Rust | flags | bytes on the wire | python-memcached reads |
//! | --- | --- | --- | --- |
//! | `&[u8]`, `Vec<u8>`, `Bytes` | 0 | as is | `bytes` |
//! | `&str`, `String` | 16 (`TEXT`) | UTF-8 | `str` |
//! | integers | 2 (`INTEGER`) | decimal | `int` |
//! | [`Json<T>`] | 32 (ours) | JSON | an unknown-flags error (use bytes there) |
//! | compressed (any of the above) | `| 8` (`COMPRESSED`) | zlib | the decompressed value |
//!
//! python-memcached's pickled values (flag 1) can be read as [`Raw`].

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::client_error::{Error, Result};

/// python-memcached's flag bits, and ours.
pub mod flags {
    /// A pickled Python object.
    pub const PICKLE: u32 = 1;
    /// A decimal integer (Python `int`).
    pub const INTEGER: u32 = 2;
    /// A decimal integer (Python 2 `long`).
    pub const LONG: u32 = 4;
    /// zlib-compressed data.
    pub const COMPRESSED: u32 = 8;
    /// UTF-8 text (Python `str`).
    pub const TEXT: u32 = 16;
    /// JSON (this crate's own flag; python-memcached does not know it).
    pub const JSON: u32 = 32;
}

/// A value as stored: bytes and the flags that say what they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raw {
    /// The client flags.
    pub flags: u32,
    /// The bytes, after decompression.
    pub data: Bytes,
}

/// Something that can be stored.
pub trait ToValue {
    /// The flags and bytes to send (before any compression).
    fn to_value(&self) -> Result<Raw>;

    /// The same flags and bytes, borrowed, when the value already holds them as they are
    /// sent (bytes, text): a store then encodes them straight into its request instead of
    /// copying them into a [`Raw`] first. `None` (the default) means "call `to_value`".
    fn as_sent(&self) -> Option<(u32, &[u8])> {
        None
    }
}

/// Something a stored value can be read as.
pub trait FromValue: Sized {
    /// Convert the stored bytes (already decompressed) with their flags.
    fn from_value(raw: Raw) -> Result<Self>;
}

fn unexpected<T>(raw: &Raw, wanted: &str) -> Result<T> {
    Err(Error::Value(format!(
        "a value with flags {} cannot be read as {wanted}",
        raw.flags
    )))
}

impl ToValue for Raw {
    fn to_value(&self) -> Result<Raw> {
        Ok(self.clone())
    }

    fn as_sent(&self) -> Option<(u32, &[u8])> {
        Some((self.flags, &self.data))
    }
}

impl FromValue for Raw {
    fn from_value(raw: Raw) -> Result<Self> {
        Ok(raw)
    }
}

impl ToValue for [u8] {
    fn to_value(&self) -> Result<Raw> {
        Ok(Raw {
            flags: 0,
            data: Bytes::copy_from_slice(self),
        })
    }

    fn as_sent(&self) -> Option<(u32, &[u8])> {
        Some((0, self))
    }
}

impl ToValue for Vec<u8> {
    fn to_value(&self) -> Result<Raw> {
        self.as_slice().to_value()
    }

    fn as_sent(&self) -> Option<(u32, &[u8])> {
        self.as_slice().as_sent()
    }
}

impl ToValue for Bytes {
    fn to_value(&self) -> Result<Raw> {
        Ok(Raw {
            flags: 0,
            data: self.clone(),
        })
    }

    fn as_sent(&self) -> Option<(u32, &[u8])> {
        Some((0, self))
    }
}

impl ToValue for str {
    fn to_value(&self) -> Result<Raw> {
        Ok(Raw {
            flags: flags::TEXT,
            data: Bytes::copy_from_slice(self.as_bytes()),
        })
    }

    fn as_sent(&self) -> Option<(u32, &[u8])> {
        Some((flags::TEXT, self.as_bytes()))
    }
}

impl ToValue for String {
    fn to_value(&self) -> Result<Raw> {
        self.as_str().to_value()
    }

    fn as_sent(&self) -> Option<(u32, &[u8])> {
        self.as_str().as_sent()
    }
}

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Result<Raw> {
        (**self).to_value()
    }

    fn as_sent(&self) -> Option<(u32, &[u8])> {
        (**self).as_sent()
    }
}

/// Bytes come back whatever their flags say (like python-memcached's bare values).
impl FromValue for Bytes {
    fn from_value(raw: Raw) -> Result<Self> {
        Ok(raw.data)
    }
}

impl FromValue for Vec<u8> {
    fn from_value(raw: Raw) -> Result<Self> {
        Ok(raw.data.to_vec())
    }
}

impl FromValue for String {
    fn from_value(raw: Raw) -> Result<Self> {
        match raw.flags & !flags::COMPRESSED {
            0 | flags::TEXT | flags::INTEGER | flags::LONG | flags::JSON => {
                String::from_utf8(raw.data.to_vec()).map_err(|e| Error::Value(e.to_string()))
            }
            _ => unexpected(&raw, "a string"),
        }
    }
}

macro_rules! integers {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> Result<Raw> {
                Ok(Raw { flags: flags::INTEGER, data: Bytes::from(self.to_string()) })
            }
        }

        impl FromValue for $t {
            fn from_value(raw: Raw) -> Result<Self> {
                let text = std::str::from_utf8(&raw.data).map_err(|e| Error::Value(e.to_string()))?;
                // Counters changed by decr may carry trailing spaces (memcached pads in place).
                text.trim().parse().map_err(|e| Error::Value(format!("{text:?}: {e}")))
            }
        }
    )*};
}

integers!(i8, i16, i32, i64, i128, u8, u16, u32, u64, u128, isize, usize);

/// A value stored as JSON under this crate's [`flags::JSON`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Json<T>(pub T);

impl<T: Serialize> ToValue for Json<T> {
    fn to_value(&self) -> Result<Raw> {
        let data = serde_json::to_vec(&self.0).map_err(|e| Error::Value(e.to_string()))?;
        Ok(Raw {
            flags: flags::JSON,
            data: Bytes::from(data),
        })
    }
}

impl<T: DeserializeOwned> FromValue for Json<T> {
    fn from_value(raw: Raw) -> Result<Self> {
        match raw.flags & !flags::COMPRESSED {
            flags::JSON | flags::TEXT | 0 => serde_json::from_slice(&raw.data)
                .map(Json)
                .map_err(|e| Error::Value(e.to_string())),
            _ => unexpected(&raw, "JSON"),
        }
    }
}

/// Compress when it is worth it, as python-memcached does: only above `min_len` bytes, never
/// integers, and only when the result is smaller.
pub(crate) fn compress(raw: Raw, min_len: usize) -> Raw {
    use std::io::Write as _;
    if !worth_compressing(raw.flags, raw.data.len(), min_len) {
        return raw;
    }
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    if encoder.write_all(&raw.data).is_err() {
        return raw;
    }
    match encoder.finish() {
        Ok(compressed) if compressed.len() < raw.data.len() => Raw {
            flags: raw.flags | flags::COMPRESSED,
            data: Bytes::from(compressed),
        },
        _ => raw,
    }
}

/// Whether [`compress`] tries a value with these flags and length.
pub(crate) fn worth_compressing(flags: u32, len: usize, min_len: usize) -> bool {
    min_len != 0 && len > min_len && flags & (flags::INTEGER | flags::LONG) == 0
}

/// Undo zlib compression (flag 8), refusing to expand past `limit` bytes: a few KiB of
/// compressed zeros written by anyone with access to the cache would otherwise make every
/// reader allocate gigabytes.
pub(crate) fn decompress(raw: Raw, limit: usize) -> Result<Raw> {
    use std::io::Read as _;
    if raw.flags & flags::COMPRESSED == 0 {
        return Ok(raw);
    }
    let mut data = Vec::new();
    let bound = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    flate2::read::ZlibDecoder::new(&raw.data[..])
        .take(bound)
        .read_to_end(&mut data)
        .map_err(|e| Error::Value(format!("bad compressed value: {e}")))?;
    if data.len() > limit {
        return Err(Error::Value(format!(
            "compressed value expands past {limit} bytes"
        )));
    }
    Ok(Raw {
        flags: raw.flags & !flags::COMPRESSED,
        data: Bytes::from(data),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_memcached_flags() {
        assert_eq!("v1".to_value().map(|r| r.flags).ok(), Some(flags::TEXT));
        assert_eq!(b"raw".as_slice().to_value().map(|r| r.flags).ok(), Some(0));
        let nine = 9i64.to_value().expect("int");
        assert_eq!((nine.flags, &nine.data[..]), (flags::INTEGER, &b"9"[..]));
        assert_eq!(
            i64::from_value(Raw {
                flags: 2,
                data: Bytes::from_static(b"99 ")
            })
            .ok(),
            Some(99)
        );
        assert!(String::from_value(Raw {
            flags: flags::PICKLE,
            data: Bytes::new()
        })
        .is_err());
        assert!(Raw::from_value(Raw {
            flags: 12345,
            data: Bytes::new()
        })
        .is_ok());
    }

    #[test]
    fn compression_round_trips_and_skips_small_or_numeric_values() {
        let text = "x".repeat(200).to_value().expect("text");
        let packed = compress(text.clone(), 10);
        assert_eq!(packed.flags, flags::TEXT | flags::COMPRESSED);
        assert!(packed.data.len() < 200);
        assert_eq!(decompress(packed.clone(), 200).ok(), Some(text.clone()));
        assert!(
            matches!(decompress(packed, 199), Err(Error::Value(_))),
            "expanding past the limit is refused"
        );
        assert_eq!(compress(text.clone(), 0), text, "0 disables compression");
        let number = 123_456_789i64.to_value().expect("int");
        assert_eq!(compress(number.clone(), 1), number);
    }

    #[test]
    fn json_values() {
        let v = Json(serde_json::json!({"a": [1, 2]}))
            .to_value()
            .expect("json");
        assert_eq!(v.flags, flags::JSON);
        let back: Json<serde_json::Value> = Json::from_value(v).expect("back");
        assert_eq!(back.0["a"][1], 2);
    }
}
