//! Decoding binary requests from a byte stream, with memcached 1.6.18's checks and answers
//! for malformed ones.
//!
//! The decoder buffers at most a header, its extras and key (under 64 KiB) and, for a command
//! carrying a value, the value up to the item size limit: a larger value is answered "Too
//! large." and skipped as it arrives, never buffered.

use bytes::{Buf, Bytes, BytesMut};

use super::binary_header::{Header, Status, HEADER_LEN, REQUEST_MAGIC};
use super::binary_request::{BinaryCommand, BinaryRequest};
use super::opcode;
use crate::{item_size, StoreCommand, KEY_MAX_LENGTH};

/// memcached's longest SASL mechanism name.
pub const MAX_SASL_MECH_LEN: usize = 32;

/// The most SASL data accepted in one message (PLAIN carries two names and a password).
pub const MAX_SASL_DATA: usize = 4096;

/// A request the decoder refused, with the answer memcached gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinaryReject {
    /// The request's header (the answer echoes its opcode and opaque).
    pub header: Header,
    /// The status to answer with; `None` to close without a word (a bad magic byte).
    pub status: Option<Status>,
    /// Close the connection after answering.
    pub close: bool,
    /// A `SET` too large to store: memcached drops the key's old value so it is not served
    /// stale.
    pub stale_key: Option<Bytes>,
}

impl BinaryReject {
    fn new(header: Header, status: Status, close: bool) -> BinaryReject {
        BinaryReject {
            header,
            status: Some(status),
            close,
            stale_key: None,
        }
    }

    /// True when the rejected request was a storage command (counted as a set attempt).
    pub fn is_store(&self) -> bool {
        matches!(
            opcode::loud(self.header.opcode).0,
            opcode::SET | opcode::ADD | opcode::REPLACE | opcode::APPEND | opcode::PREPEND
        )
    }
}

/// A binary request decoder for one connection.
#[derive(Debug, Clone)]
pub struct BinaryDecoder {
    max_item_size: usize,
    /// Bytes of a refused request's value still to skip.
    swallow: usize,
}

impl BinaryDecoder {
    /// A decoder refusing items larger than `max_item_size` (memcached's `-I`).
    pub fn new(max_item_size: usize) -> BinaryDecoder {
        BinaryDecoder {
            max_item_size,
            swallow: 0,
        }
    }

    /// Decode the next request from `buf`, consuming it. `Ok(None)`: more bytes are needed.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<BinaryRequest>, BinaryReject> {
        if self.swallow > 0 {
            let n = self.swallow.min(buf.len());
            buf.advance(n);
            self.swallow -= n;
            if self.swallow > 0 {
                return Ok(None);
            }
        }
        let Some(header) = Header::parse(buf) else {
            return Ok(None);
        };
        if header.magic != REQUEST_MAGIC {
            return Err(BinaryReject {
                header,
                status: None,
                close: true,
                stale_key: None,
            });
        }
        let ext = usize::from(header.extras_len);
        let key_len = usize::from(header.key_len);
        let body = header.body_len as usize;
        if buf.len() < HEADER_LEN + ext + key_len {
            return Ok(None);
        }
        if key_len > body || key_len + ext > body {
            buf.advance(HEADER_LEN + ext + key_len);
            return Err(BinaryReject::new(header, Status::UnknownCommand, true));
        }
        let value_len = body - key_len - ext;
        let (loud, quiet) = opcode::loud(header.opcode);
        // memcached's per-command checks of the lengths; any failure closes the connection.
        let valid = match loud {
            opcode::VERSION | opcode::NOOP | opcode::QUIT | opcode::SASL_LIST_MECHS => body == 0,
            opcode::FLUSH => key_len == 0 && body == ext && (ext == 0 || ext == 4),
            opcode::SET | opcode::ADD | opcode::REPLACE => {
                ext == 8 && key_len != 0 && body >= key_len + 8
            }
            opcode::GET | opcode::GETK => ext == 0 && body == key_len && key_len > 0,
            opcode::DELETE => key_len > 0 && ext == 0 && body == key_len,
            opcode::INCREMENT | opcode::DECREMENT => {
                key_len > 0 && ext == 20 && body == key_len + ext
            }
            opcode::APPEND | opcode::PREPEND => key_len > 0 && ext == 0,
            opcode::STAT => ext == 0,
            opcode::SASL_AUTH | opcode::SASL_STEP => ext == 0 && key_len != 0,
            opcode::TOUCH | opcode::GAT | opcode::GATK => ext == 4 && key_len != 0,
            _ => {
                // Unknown: answer, and skip the rest of its body.
                buf.advance(HEADER_LEN + ext + key_len);
                self.swallow = value_len;
                let n = self.swallow.min(buf.len());
                buf.advance(n);
                self.swallow -= n;
                return Err(BinaryReject::new(header, Status::UnknownCommand, false));
            }
        };
        // Keys longer than the text protocol allows are refused before anything else.
        if key_len > KEY_MAX_LENGTH || !valid {
            buf.advance(HEADER_LEN + ext + key_len);
            return Err(BinaryReject::new(header, Status::InvalidArguments, true));
        }
        let stores = matches!(
            loud,
            opcode::SET | opcode::ADD | opcode::REPLACE | opcode::APPEND | opcode::PREPEND
        );
        let sasl = matches!(loud, opcode::SASL_AUTH | opcode::SASL_STEP);
        let refuse_value = if stores {
            // Flags are in the item on the text side too; 0 bytes of flags either way here.
            (item_size(key_len, 0, value_len) > self.max_item_size).then_some(Status::TooLarge)
        } else if sasl {
            (key_len > MAX_SASL_MECH_LEN || value_len > MAX_SASL_DATA)
                .then_some(Status::InvalidArguments)
        } else {
            None
        };
        if let Some(status) = refuse_value {
            let key = Bytes::copy_from_slice(&buf[HEADER_LEN + ext..HEADER_LEN + ext + key_len]);
            buf.advance(HEADER_LEN + ext + key_len);
            self.swallow = value_len;
            let n = self.swallow.min(buf.len());
            buf.advance(n);
            self.swallow -= n;
            let mut reject = BinaryReject::new(header, status, false);
            if loud == opcode::SET {
                reject.stale_key = Some(key);
            }
            return Err(reject);
        }
        if buf.len() < HEADER_LEN + body {
            return Ok(None);
        }
        buf.advance(HEADER_LEN);
        let extras = buf.split_to(ext).freeze();
        let key = buf.split_to(key_len).freeze();
        let value = buf.split_to(value_len).freeze();
        let u32_at = |at: usize| -> u32 {
            extras
                .get(at..at + 4)
                .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        };
        let u64_at =
            |at: usize| -> u64 { (u64::from(u32_at(at)) << 32) | u64::from(u32_at(at + 4)) };
        let cas = header.cas;
        let command = match loud {
            opcode::GET | opcode::GETK => BinaryCommand::Get {
                key,
                quiet,
                with_key: loud == opcode::GETK,
            },
            opcode::GAT | opcode::GATK => BinaryCommand::GetAndTouch {
                key,
                exptime: u32_at(0),
                quiet,
                with_key: loud == opcode::GATK,
            },
            opcode::TOUCH => BinaryCommand::Touch {
                key,
                exptime: u32_at(0),
            },
            opcode::SET | opcode::ADD | opcode::REPLACE => BinaryCommand::Store {
                command: match loud {
                    opcode::SET => StoreCommand::Set,
                    opcode::ADD => StoreCommand::Add,
                    _ => StoreCommand::Replace,
                },
                key,
                flags: u32_at(0),
                exptime: u32_at(4),
                cas,
                value,
                quiet,
            },
            opcode::APPEND | opcode::PREPEND => BinaryCommand::Store {
                command: if loud == opcode::APPEND {
                    StoreCommand::Append
                } else {
                    StoreCommand::Prepend
                },
                key,
                flags: 0,
                exptime: 0,
                cas,
                value,
                quiet,
            },
            opcode::DELETE => BinaryCommand::Delete { key, cas, quiet },
            opcode::INCREMENT | opcode::DECREMENT => BinaryCommand::Arithmetic {
                incr: loud == opcode::INCREMENT,
                key,
                delta: u64_at(0),
                initial: u64_at(8),
                exptime: u32_at(16),
                cas,
                quiet,
            },
            opcode::QUIT => BinaryCommand::Quit { quiet },
            opcode::FLUSH => BinaryCommand::Flush {
                delay: (ext == 4).then(|| u32_at(0)),
                quiet,
            },
            opcode::NOOP => BinaryCommand::Noop,
            opcode::VERSION => BinaryCommand::Version,
            opcode::STAT => BinaryCommand::Stat { group: key },
            opcode::SASL_LIST_MECHS => BinaryCommand::SaslListMechs,
            opcode::SASL_AUTH => BinaryCommand::SaslAuth {
                mechanism: key,
                data: value,
            },
            _ => BinaryCommand::SaslStep {
                mechanism: key,
                data: value,
            },
        };
        Ok(Some(BinaryRequest { header, command }))
    }

    /// Bytes of a refused value still to be skipped.
    pub fn swallowing(&self) -> usize {
        self.swallow
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(command: &BinaryCommand) -> BytesMut {
        let mut wire = BytesMut::new();
        command.encode(7, &mut wire);
        wire
    }

    #[test]
    fn every_command_round_trips() {
        let commands = vec![
            BinaryCommand::Get {
                key: Bytes::from_static(b"k"),
                quiet: true,
                with_key: true,
            },
            BinaryCommand::GetAndTouch {
                key: Bytes::from_static(b"k"),
                exptime: 9,
                quiet: false,
                with_key: false,
            },
            BinaryCommand::Touch {
                key: Bytes::from_static(b"k"),
                exptime: 5,
            },
            BinaryCommand::Store {
                command: StoreCommand::Add,
                key: Bytes::from_static(b"key"),
                flags: 0xdead_beef,
                exptime: 100,
                cas: 42,
                value: Bytes::from_static(b"value"),
                quiet: true,
            },
            BinaryCommand::Store {
                command: StoreCommand::Prepend,
                key: Bytes::from_static(b"key"),
                flags: 0,
                exptime: 0,
                cas: 0,
                value: Bytes::from_static(b"pre"),
                quiet: false,
            },
            BinaryCommand::Delete {
                key: Bytes::from_static(b"k"),
                cas: 3,
                quiet: false,
            },
            BinaryCommand::Arithmetic {
                incr: false,
                key: Bytes::from_static(b"n"),
                delta: 1 << 40,
                initial: 7,
                exptime: 0xffff_ffff,
                cas: 0,
                quiet: true,
            },
            BinaryCommand::Quit { quiet: true },
            BinaryCommand::Flush {
                delay: Some(10),
                quiet: false,
            },
            BinaryCommand::Flush {
                delay: None,
                quiet: true,
            },
            BinaryCommand::Noop,
            BinaryCommand::Version,
            BinaryCommand::Stat {
                group: Bytes::from_static(b"settings"),
            },
            BinaryCommand::SaslListMechs,
            BinaryCommand::SaslAuth {
                mechanism: Bytes::from_static(b"PLAIN"),
                data: Bytes::from_static(b"\0u\0p"),
            },
        ];
        let mut wire = BytesMut::new();
        for command in &commands {
            wire.extend_from_slice(&encoded(command));
        }
        let mut decoder = BinaryDecoder::new(1 << 20);
        for command in &commands {
            let decoded = decoder.decode(&mut wire).expect("valid").expect("complete");
            assert_eq!(&decoded.command, command);
            assert_eq!(decoded.header.opaque, 7);
        }
        assert!(wire.is_empty());
    }

    #[test]
    fn partial_input_waits() {
        let wire = encoded(&BinaryCommand::Store {
            command: StoreCommand::Set,
            key: Bytes::from_static(b"k"),
            flags: 0,
            exptime: 0,
            cas: 0,
            value: Bytes::from_static(b"0123456789"),
            quiet: false,
        });
        let mut decoder = BinaryDecoder::new(1 << 20);
        for cut in 0..wire.len() {
            let mut part = BytesMut::from(&wire[..cut]);
            assert_eq!(decoder.decode(&mut part), Ok(None), "cut at {cut}");
        }
    }

    #[test]
    fn malformed_requests_get_memcacheds_answers() {
        let mut decoder = BinaryDecoder::new(1 << 20);
        // GET with extras: invalid arguments, close.
        let mut wire = BytesMut::from(
            &[
                0x80, 0x00, 0, 1, 4, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2,
                3, 4, b'k',
            ][..],
        );
        let reject = decoder.decode(&mut wire).expect_err("invalid");
        assert_eq!(
            (reject.status, reject.close),
            (Some(Status::InvalidArguments), true)
        );
        // Key longer than the body: unknown command, close.
        let mut wire = BytesMut::from(
            &[
                0x80, 0x00, 0, 5, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, b'k',
                b'k', b'k', b'k', b'k',
            ][..],
        );
        let reject = decoder.decode(&mut wire).expect_err("invalid");
        assert_eq!(
            (reject.status, reject.close),
            (Some(Status::UnknownCommand), true)
        );
        // Unknown opcode: answered, body skipped, connection kept.
        let mut wire = BytesMut::from(
            &[
                0x80, 0x1b, 0, 0, 4, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                0, 1,
            ][..],
        );
        let reject = decoder.decode(&mut wire).expect_err("unknown");
        assert_eq!(
            (reject.status, reject.close),
            (Some(Status::UnknownCommand), false)
        );
        assert!(wire.is_empty());
        // Bad magic: close without a word.
        let mut wire = BytesMut::from(&[0x81; 24][..]);
        assert_eq!(decoder.decode(&mut wire).expect_err("magic").status, None);
    }

    #[test]
    fn a_too_large_value_is_refused_and_skipped_as_it_arrives() {
        let mut decoder = BinaryDecoder::new(1024);
        let big = BinaryCommand::Store {
            command: StoreCommand::Set,
            key: Bytes::from_static(b"k"),
            flags: 0,
            exptime: 0,
            cas: 0,
            value: Bytes::from(vec![b'x'; 5000]),
            quiet: false,
        };
        let wire = encoded(&big);
        let mut first = BytesMut::from(&wire[..100]);
        let reject = decoder.decode(&mut first).expect_err("too large");
        assert_eq!(reject.status, Some(Status::TooLarge));
        assert_eq!(reject.stale_key.as_deref(), Some(&b"k"[..]));
        assert!(first.is_empty());
        let mut rest = BytesMut::from(&wire[100..]);
        rest.extend_from_slice(&encoded(&BinaryCommand::Noop));
        let next = decoder.decode(&mut rest).expect("valid").expect("complete");
        assert_eq!(next.command, BinaryCommand::Noop);
    }
}
