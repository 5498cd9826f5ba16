//! The 24-byte header both directions share, the response statuses, and response encoding.

use bytes::{BufMut, BytesMut};

/// First byte of every request.
pub const REQUEST_MAGIC: u8 = 0x80;
/// First byte of every response.
pub const RESPONSE_MAGIC: u8 = 0x81;
/// Bytes in a header.
pub const HEADER_LEN: usize = 24;

/// A request or response header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// [`REQUEST_MAGIC`] or [`RESPONSE_MAGIC`].
    pub magic: u8,
    /// The command.
    pub opcode: u8,
    /// Length of the key.
    pub key_len: u16,
    /// Length of the extras.
    pub extras_len: u8,
    /// Reserved for data types (always 0).
    pub data_type: u8,
    /// The vbucket id in a request, the [`Status`] in a response.
    pub status: u16,
    /// Length of extras, key and value together.
    pub body_len: u32,
    /// Echoed back unchanged in the response.
    pub opaque: u32,
    /// A CAS unique.
    pub cas: u64,
}

impl Header {
    /// Read a header from the first [`HEADER_LEN`] bytes of `bytes`; `None` when fewer are
    /// there.
    pub fn parse(bytes: &[u8]) -> Option<Header> {
        let b: &[u8; HEADER_LEN] = bytes.get(..HEADER_LEN)?.try_into().ok()?;
        let u16_at = |i: usize| u16::from_be_bytes([b[i], b[i + 1]]);
        let u32_at = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        Some(Header {
            magic: b[0],
            opcode: b[1],
            key_len: u16_at(2),
            extras_len: b[4],
            data_type: b[5],
            status: u16_at(6),
            body_len: u32_at(8),
            opaque: u32_at(12),
            cas: (u64::from(u32_at(16)) << 32) | u64::from(u32_at(20)),
        })
    }

    /// Append the header's wire form.
    pub fn encode(&self, dst: &mut BytesMut) {
        dst.put_u8(self.magic);
        dst.put_u8(self.opcode);
        dst.put_u16(self.key_len);
        dst.put_u8(self.extras_len);
        dst.put_u8(self.data_type);
        dst.put_u16(self.status);
        dst.put_u32(self.body_len);
        dst.put_u32(self.opaque);
        dst.put_u64(self.cas);
    }
}

/// Response statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum Status {
    /// The command succeeded.
    Success = 0x00,
    /// The key is not there.
    KeyNotFound = 0x01,
    /// The key is there (`add`), or the CAS unique did not match.
    KeyExists = 0x02,
    /// The value is too large.
    TooLarge = 0x03,
    /// Bad arguments.
    InvalidArguments = 0x04,
    /// The item was not stored.
    NotStored = 0x05,
    /// `incr`/`decr` on a value that is not a number.
    NonNumeric = 0x06,
    /// Authentication failed.
    AuthError = 0x20,
    /// Authentication continues.
    AuthContinue = 0x21,
    /// The opcode is unknown (or not supported).
    UnknownCommand = 0x81,
    /// Out of memory.
    OutOfMemory = 0x82,
}

impl Status {
    /// The status for a wire value, if it is one of these.
    pub fn from_u16(value: u16) -> Option<Status> {
        Some(match value {
            0x00 => Status::Success,
            0x01 => Status::KeyNotFound,
            0x02 => Status::KeyExists,
            0x03 => Status::TooLarge,
            0x04 => Status::InvalidArguments,
            0x05 => Status::NotStored,
            0x06 => Status::NonNumeric,
            0x20 => Status::AuthError,
            0x21 => Status::AuthContinue,
            0x81 => Status::UnknownCommand,
            0x82 => Status::OutOfMemory,
            _ => return None,
        })
    }

    /// The text memcached sends as the body of an error response with this status.
    pub fn message(self) -> &'static str {
        match self {
            Status::Success | Status::AuthContinue => "",
            Status::KeyNotFound => "Not found",
            Status::KeyExists => "Data exists for key.",
            Status::TooLarge => "Too large.",
            Status::InvalidArguments => "Invalid arguments",
            Status::NotStored => "Not stored.",
            Status::NonNumeric => "Non-numeric server-side value for incr or decr",
            Status::AuthError => "Auth failure.",
            Status::UnknownCommand => "Unknown command",
            Status::OutOfMemory => "Out of memory",
        }
    }
}

/// A response split into its parts (for clients and tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinaryResponse {
    /// The header (`status` holds the [`Status`] value).
    pub header: Header,
    /// The extras (flags for a get).
    pub extras: bytes::Bytes,
    /// The key, for `GETK` answers and stats.
    pub key: bytes::Bytes,
    /// The value, or an error's message.
    pub value: bytes::Bytes,
}

impl BinaryResponse {
    /// Take one complete response off the front of `buf`; `None` when it is not all there.
    pub fn decode(buf: &mut BytesMut) -> Option<BinaryResponse> {
        let header = Header::parse(buf)?;
        let body = header.body_len as usize;
        if buf.len() < HEADER_LEN + body {
            return None;
        }
        let _ = buf.split_to(HEADER_LEN);
        let mut body = buf.split_to(body).freeze();
        let extras = body.split_to(usize::from(header.extras_len).min(body.len()));
        let key = body.split_to(usize::from(header.key_len).min(body.len()));
        Some(BinaryResponse {
            header,
            extras,
            key,
            value: body,
        })
    }
}

/// Append an error response: `status` with its message as the body.
pub fn encode_error(dst: &mut BytesMut, request: &Header, status: Status) {
    encode_response(
        dst,
        request,
        status,
        0,
        &[],
        &[],
        status.message().as_bytes(),
    );
}

/// Append a response with `status`, echoing the request's `opcode` and `opaque`, carrying
/// `extras`, `key` and `value` as its body.
pub fn encode_response(
    dst: &mut BytesMut,
    request: &Header,
    status: Status,
    cas: u64,
    extras: &[u8],
    key: &[u8],
    value: &[u8],
) {
    let body = extras.len() + key.len() + value.len();
    dst.reserve(HEADER_LEN + body);
    Header {
        magic: RESPONSE_MAGIC,
        opcode: request.opcode,
        key_len: key.len() as u16,
        extras_len: extras.len() as u8,
        data_type: 0,
        status: status as u16,
        body_len: body as u32,
        opaque: request.opaque,
        cas,
    }
    .encode(dst);
    dst.put_slice(extras);
    dst.put_slice(key);
    dst.put_slice(value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip() {
        let header = Header {
            magic: REQUEST_MAGIC,
            opcode: 0x0a,
            key_len: 3,
            extras_len: 4,
            data_type: 0,
            status: 0,
            body_len: 7,
            opaque: 0xdead_beef,
            cas: 0x0102_0304_0506_0708,
        };
        let mut wire = BytesMut::new();
        header.encode(&mut wire);
        assert_eq!(wire.len(), HEADER_LEN);
        assert_eq!(Header::parse(&wire), Some(header));
        assert_eq!(Header::parse(&wire[..HEADER_LEN - 1]), None);
    }

    #[test]
    fn an_error_response_echoes_opcode_and_opaque() {
        let request = Header::parse(&[
            0x80, 0x42, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0,
        ])
        .expect("a header");
        let mut out = BytesMut::new();
        encode_response(
            &mut out,
            &request,
            Status::UnknownCommand,
            0,
            &[],
            &[],
            b"Unknown command",
        );
        assert_eq!(&out[..8], &[0x81, 0x42, 0, 0, 0, 0, 0, 0x81]);
        assert_eq!(&out[8..12], &15u32.to_be_bytes());
        assert_eq!(&out[12..16], &[1, 2, 3, 4]);
        assert_eq!(&out[HEADER_LEN..], b"Unknown command");
    }
}
