//! memcached's binary protocol: fixed 24-byte headers, then extras, key and value.
//!
//! A connection speaks binary when its first byte is the request magic `0x80`; memcached's
//! default `-B auto` decides so per connection. Sans-IO like the text codec: requests are
//! decoded from and responses encoded into byte buffers.

mod binary_decoder;
mod binary_header;
mod binary_request;
pub mod opcode;

pub use binary_decoder::{BinaryDecoder, BinaryReject, MAX_SASL_DATA, MAX_SASL_MECH_LEN};
pub use binary_header::{
    encode_error, encode_response, BinaryResponse, Header, Status, HEADER_LEN, REQUEST_MAGIC,
    RESPONSE_MAGIC,
};
pub use binary_request::{BinaryCommand, BinaryRequest};

/// The SASL mechanisms a server offers here, as `SASL_LIST_MECHS` answers.
pub const SASL_MECHANISMS: &[u8] = b"PLAIN";

/// The body of a successful `SASL_AUTH` answer.
pub const SASL_AUTHENTICATED: &[u8] = b"Authenticated";
