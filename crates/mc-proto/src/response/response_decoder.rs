//! The incremental response decoder (the client side of the protocol).

use bytes::{Buf, Bytes, BytesMut};

use super::{Response, Value};
use crate::codec_error::ResponseError;
use crate::meta::{MetaResponse, MetaStatus};
use crate::number::parse_u64;
use crate::tokens::words;

/// Decodes responses from a byte stream, one at a time.
///
/// Responses are recognised by their first word, without knowing the request, so one decoder
/// serves pipelined requests of any kind. Incomplete input yields `Ok(None)` however it was
/// split; anything that is not a memcached response is a [`ResponseError`], after which the
/// connection should be dropped. Declared lengths are bounded and nothing is allocated from
/// them: bytes are only buffered as they arrive.
#[derive(Debug)]
pub struct ResponseDecoder {
    max_line: usize,
    max_value: usize,
    scanned: usize,
}

impl Default for ResponseDecoder {
    fn default() -> Self {
        ResponseDecoder::new(128 * 1024 * 1024)
    }
}

/// Longest response line accepted (memcached's are far shorter; this bounds a server that never
/// sends a newline).
const MAX_RESPONSE_LINE: usize = 64 * 1024;

impl ResponseDecoder {
    /// A decoder accepting values up to `max_value` bytes.
    pub fn new(max_value: usize) -> ResponseDecoder {
        ResponseDecoder {
            max_line: MAX_RESPONSE_LINE,
            max_value,
            scanned: 0,
        }
    }

    /// Decode the next response from `buf`, consuming its bytes.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Response>, ResponseError> {
        let scanned = self.scanned.min(buf.len());
        let Some(found) = memchr::memchr(b'\n', &buf[scanned..]) else {
            if buf.len() > self.max_line {
                return Err(ResponseError::LineTooLong(self.max_line));
            }
            self.scanned = buf.len();
            return Ok(None);
        };
        let newline = scanned + found;
        if newline > self.max_line {
            return Err(ResponseError::LineTooLong(self.max_line));
        }
        let end = if newline > 0 && buf[newline - 1] == b'\r' {
            newline - 1
        } else {
            newline
        };
        if buf.starts_with(b"VALUE ") {
            return self.decode_value(buf, newline, end);
        }
        // A one-word answer (`END`, `STORED`...) carries nothing to keep: skip its bytes
        // rather than cut a shared slice out of the buffer only to compare and drop it.
        if let Some(response) = fixed_word(&buf[..end]) {
            self.scanned = 0;
            buf.advance(newline + 1);
            return Ok(Some(response));
        }
        // A value's line is only consumed together with its data block, so that an incomplete
        // block leaves the buffer untouched.
        let data_len = match value_length(&buf[..end])? {
            Some(len) if len > self.max_value as u64 => {
                return Err(ResponseError::ValueTooLarge {
                    declared: len,
                    limit: self.max_value,
                })
            }
            Some(len) => {
                let len = len as usize;
                if buf.len() < newline + 1 + len + 2 {
                    self.scanned = newline;
                    return Ok(None);
                }
                Some(len)
            }
            None => None,
        };
        self.scanned = 0;
        let mut line = buf.split_to(newline + 1).freeze();
        line.truncate(end);
        let data = match data_len {
            Some(len) => {
                let mut block = buf.split_to(len + 2).freeze();
                if &block[len..] != b"\r\n" {
                    return Err(ResponseError::BadDataChunk);
                }
                block.truncate(len);
                Some(block)
            }
            None => None,
        };
        parse_line(line, data).map(Some)
    }

    /// [`ResponseDecoder::decode`] for a `VALUE` line ending at `end` (its `\n` at `newline`):
    /// the line is read once, and only the key and the data become shared slices of the
    /// buffer (the line itself is skipped, not kept), so a retrieval's answer costs two
    /// reference counts per item.
    fn decode_value(
        &mut self,
        buf: &mut BytesMut,
        newline: usize,
        end: usize,
    ) -> Result<Option<Response>, ResponseError> {
        let line = &buf[..end];
        let malformed = || ResponseError::MalformedLine(Bytes::copy_from_slice(line));
        // `<key> <flags> <bytes> [<cas unique>]`: a fifth word makes the line malformed.
        let mut fields = [(0, 0); 4];
        let mut count = 0;
        for word in words(line).skip(1) {
            if count == fields.len() {
                return Err(malformed());
            }
            fields[count] = word;
            count += 1;
        }
        // The length first, as for any value: a block too large is refused as such.
        let field = |i: usize| &line[fields[i].0..fields[i].1];
        let len = (count >= 3)
            .then(|| strict_u64(field(2)))
            .flatten()
            .ok_or_else(malformed)?;
        if len > self.max_value as u64 {
            return Err(ResponseError::ValueTooLarge {
                declared: len,
                limit: self.max_value,
            });
        }
        let len = len as usize;
        if buf.len() < newline + 1 + len + 2 {
            self.scanned = newline;
            return Ok(None);
        }
        let flags = strict_u64(field(1)).and_then(|f| u32::try_from(f).ok());
        let cas = match count {
            4 => strict_u64(field(3)).map(Some),
            _ => Some(None),
        };
        let (Some(flags), Some(cas)) = (flags, cas) else {
            return Err(malformed());
        };
        let data_start = newline + 1;
        if &buf[data_start + len..data_start + len + 2] != b"\r\n" {
            return Err(ResponseError::BadDataChunk);
        }
        self.scanned = 0;
        let (key_start, key_end) = fields[0];
        buf.advance(key_start);
        let key = buf.split_to(key_end - key_start).freeze();
        buf.advance(data_start - key_end);
        let data = buf.split_to(len).freeze();
        buf.advance(2);
        Ok(Some(Response::Value(Value {
            key,
            flags,
            cas,
            data,
        })))
    }
}

/// The data length a meta `VA` line announces, if the line is one (`VALUE` lines are read by
/// [`ResponseDecoder::decode_value`]).
fn value_length(line: &[u8]) -> Result<Option<u64>, ResponseError> {
    if !line.starts_with(b"VA ") {
        return Ok(None);
    }
    let malformed = || ResponseError::MalformedLine(Bytes::copy_from_slice(line));
    let (s, e) = words(line).nth(1).ok_or_else(malformed)?;
    strict_u64(&line[s..e]).map(Some).ok_or_else(malformed)
}

/// Plain decimal digits only: servers never send anything else.
fn strict_u64(token: &[u8]) -> Option<u64> {
    if token.is_empty() || !token.iter().all(u8::is_ascii_digit) {
        return None;
    }
    parse_u64(token)
}

/// The answer a line of one fixed word stands for.
fn fixed_word(line: &[u8]) -> Option<Response> {
    match line {
        b"END" => Some(Response::End),
        b"STORED" => Some(Response::Stored),
        b"NOT_STORED" => Some(Response::NotStored),
        b"EXISTS" => Some(Response::Exists),
        b"NOT_FOUND" => Some(Response::NotFound),
        b"DELETED" => Some(Response::Deleted),
        b"TOUCHED" => Some(Response::Touched),
        b"OK" => Some(Response::Ok),
        b"RESET" => Some(Response::Reset),
        _ => None,
    }
}

fn parse_line(line: Bytes, data: Option<Bytes>) -> Result<Response, ResponseError> {
    let malformed = |line: &Bytes| ResponseError::MalformedLine(line.clone());
    let after = |prefix: &[u8]| line.slice(prefix.len()..);
    if let Some(data) = data {
        return parse_meta(&line, Some(data)).ok_or_else(|| malformed(&line));
    }
    if let Some(n) = strict_u64(&line) {
        return Ok(Response::Number(n));
    }
    if line.starts_with(b"STAT ") {
        let rest = after(b"STAT ");
        let split = memchr::memchr(b' ', &rest).ok_or_else(|| malformed(&line))?;
        return Ok(Response::Stat {
            name: rest.slice(..split),
            value: rest.slice(split + 1..),
        });
    }
    if line.starts_with(b"VERSION ") {
        return Ok(Response::Version(after(b"VERSION ")));
    }
    if line.starts_with(b"CLIENT_ERROR") {
        return Ok(Response::ClientError(message(&line, b"CLIENT_ERROR")));
    }
    if line.starts_with(b"SERVER_ERROR") {
        return Ok(Response::ServerError(message(&line, b"SERVER_ERROR")));
    }
    if line.starts_with(b"ERROR") {
        return Ok(Response::Error(after(b"ERROR")));
    }
    if line.starts_with(b"ME ") {
        let rest = after(b"ME ");
        let split = memchr::memchr(b' ', &rest).unwrap_or(rest.len());
        return Ok(Response::MetaDebug {
            key: rest.slice(..split),
            info: rest.slice((split + 1).min(rest.len())..),
        });
    }
    if line.starts_with(b"MEMLIMIT_") {
        return Ok(Response::Line(line));
    }
    if let Some(meta) = parse_meta(&line, None) {
        return Ok(meta);
    }
    Err(ResponseError::UnknownLine(line))
}

/// The text after an error word and its space.
fn message(line: &Bytes, word: &[u8]) -> Bytes {
    let rest = line.slice(word.len()..);
    match rest.first() {
        Some(b' ') => rest.slice(1..),
        _ => rest,
    }
}

fn parse_meta(line: &Bytes, data: Option<Bytes>) -> Option<Response> {
    let code = line.get(..2)?;
    let status = MetaStatus::from_code(code)?;
    let mut rest = line.slice(2..);
    if !rest.is_empty() {
        if rest[0] != b' ' {
            return None;
        }
        rest.advance(1);
    }
    if status == MetaStatus::Value {
        // Skip the length, which the caller already used to read the data.
        let split = memchr::memchr(b' ', &rest).map_or(rest.len(), |n| n + 1);
        rest.advance(split);
        data.as_ref()?;
    } else if data.is_some() {
        return None;
    }
    Some(Response::Meta(MetaResponse {
        status,
        flags: rest,
        data,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(input: &[u8]) -> Vec<Response> {
        let mut decoder = ResponseDecoder::default();
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        while let Some(r) = decoder.decode(&mut buf).expect("valid responses") {
            out.push(r);
        }
        assert!(buf.is_empty(), "all input consumed");
        out
    }

    #[test]
    fn decodes_value_and_end() {
        let r = decode_all(b"VALUE k 5 3 77\r\nabc\r\nEND\r\n");
        assert_eq!(
            r,
            vec![
                Response::Value(Value {
                    key: Bytes::from_static(b"k"),
                    flags: 5,
                    cas: Some(77),
                    data: Bytes::from_static(b"abc"),
                }),
                Response::End
            ]
        );
    }

    #[test]
    fn decodes_errors_and_stats() {
        let r = decode_all(
            b"ERROR\r\nERROR Too many open connections\r\nCLIENT_ERROR bad data chunk\r\n\
              STAT version 1.6.18\r\nSTAT libevent 2.1.12-stable\r\n",
        );
        assert_eq!(r[0], Response::Error(Bytes::new()));
        assert_eq!(
            r[1],
            Response::Error(Bytes::from_static(b" Too many open connections"))
        );
        assert_eq!(
            r[2],
            Response::ClientError(Bytes::from_static(b"bad data chunk"))
        );
        assert_eq!(
            r[4],
            Response::Stat {
                name: Bytes::from_static(b"libevent"),
                value: Bytes::from_static(b"2.1.12-stable")
            }
        );
    }

    #[test]
    fn rejects_lies() {
        let mut d = ResponseDecoder::new(10);
        let mut buf = BytesMut::from(&b"VALUE k 0 11\r\n"[..]);
        assert!(matches!(
            d.decode(&mut buf),
            Err(ResponseError::ValueTooLarge { declared: 11, .. })
        ));
        let mut d = ResponseDecoder::default();
        let mut buf = BytesMut::from(&b"VALUE k 0 2\r\nabcd\r\n"[..]);
        assert_eq!(d.decode(&mut buf), Err(ResponseError::BadDataChunk));
        let mut buf = BytesMut::from(&b"HELLO\r\n"[..]);
        assert!(matches!(
            d.decode(&mut buf),
            Err(ResponseError::UnknownLine(_))
        ));
        for lie in [
            &b"VALUE k x 2\r\nab\r\n"[..],
            b"VALUE k 4294967296 2\r\nab\r\n",
            b"VALUE k 0 2 -1\r\nab\r\n",
            b"VALUE k 0 2 1 extra\r\nab\r\n",
            b"VALUE k 0 +2\r\nab\r\n",
            b"VALUE k 0\r\n",
            b"VALUE \r\n",
        ] {
            let mut d = ResponseDecoder::default();
            let mut buf = BytesMut::from(lie);
            assert!(
                matches!(d.decode(&mut buf), Err(ResponseError::MalformedLine(_))),
                "{:?}",
                String::from_utf8_lossy(lie)
            );
        }
    }

    /// However the answer is cut into reads, the same items come out, key and data intact,
    /// and a partly arrived item leaves the buffer for the next read.
    #[test]
    fn values_decode_the_same_however_they_arrive() {
        let wire = b"VALUE alpha 7 3 99\r\nabc\r\nVALUE  b  0  0 \r\n\r\nVALUE c 4294967295 2\r\n\r\n\r\nEND\r\n";
        let whole = decode_all(wire);
        assert_eq!(whole.len(), 4);
        assert_eq!(
            whole[1],
            Response::Value(Value {
                key: Bytes::from_static(b"b"),
                flags: 0,
                cas: None,
                data: Bytes::new(),
            })
        );
        assert_eq!(
            whole[2],
            Response::Value(Value {
                key: Bytes::from_static(b"c"),
                flags: u32::MAX,
                cas: None,
                data: Bytes::from_static(b"\r\n"),
            })
        );
        for cut in 0..wire.len() {
            let mut decoder = ResponseDecoder::default();
            let mut buf = BytesMut::from(&wire[..cut]);
            let mut out = Vec::new();
            while let Some(r) = decoder.decode(&mut buf).expect("valid so far") {
                out.push(r);
            }
            buf.extend_from_slice(&wire[cut..]);
            while let Some(r) = decoder.decode(&mut buf).expect("valid") {
                out.push(r);
            }
            assert_eq!(out, whole, "cut at {cut}");
        }
    }
}
