//! The incremental response decoder (the client side of the protocol).

use std::ops::Range;

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
        let Some((newline, end)) = self.find_line(buf)? else {
            return Ok(None);
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

    /// Where the first line of `buf` ends: its `\n` and the end of its text (before any
    /// `\r`); `None` while it is incomplete. Remembers how far it looked, so a line arriving
    /// in many reads is scanned once.
    fn find_line(&mut self, buf: &[u8]) -> Result<Option<(usize, usize)>, ResponseError> {
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
        Ok(Some((newline, end)))
    }

    /// Where the `VALUE` item at the start of `buf` lies, without consuming or sharing any of
    /// it: a reader collecting a listing keeps the items in place and cuts the buffer once
    /// at the end, where [`ResponseDecoder::decode`] cuts two slices per item. Anything but a
    /// `VALUE` line is [`Peeked::Other`] (decode it with [`ResponseDecoder::decode`]). After
    /// [`Peeked::Incomplete`], call again with the same start and more bytes; after a value,
    /// call with the bytes after [`ValueSpan::end`].
    pub fn peek_value(&mut self, buf: &[u8]) -> Result<Peeked, ResponseError> {
        let Some((newline, end)) = self.find_line(buf)? else {
            return Ok(Peeked::Incomplete);
        };
        if !buf.starts_with(b"VALUE ") {
            return Ok(Peeked::Other);
        }
        Ok(self
            .value_span(buf, newline, end)?
            .map_or(Peeked::Incomplete, Peeked::Value))
    }

    /// [`ResponseDecoder::decode`] for a `VALUE` line ending at `end` (its `\n` at `newline`):
    /// only the key and the data become shared slices of the buffer (the line itself is
    /// skipped, not kept), so a retrieval's answer costs two reference counts per item.
    fn decode_value(
        &mut self,
        buf: &mut BytesMut,
        newline: usize,
        end: usize,
    ) -> Result<Option<Response>, ResponseError> {
        let Some(span) = self.value_span(buf, newline, end)? else {
            return Ok(None);
        };
        buf.advance(span.key.start);
        let key = buf.split_to(span.key.len()).freeze();
        buf.advance(span.data.start - span.key.end);
        let data = buf.split_to(span.data.len()).freeze();
        buf.advance(2);
        Ok(Some(Response::Value(Value {
            key,
            flags: span.flags,
            cas: span.cas,
            data,
        })))
    }

    /// Read the `VALUE` line ending at `end` (its `\n` at `newline`) once, and check its data
    /// block: where the item lies, or `None` while the block is incomplete.
    fn value_span(
        &mut self,
        buf: &[u8],
        newline: usize,
        end: usize,
    ) -> Result<Option<ValueSpan>, ResponseError> {
        let line = &buf[..end];
        let fields = ValueLine::read(line)
            .ok_or_else(|| ResponseError::MalformedLine(Bytes::copy_from_slice(line)))?;
        if fields.len > self.max_value as u64 {
            return Err(ResponseError::ValueTooLarge {
                declared: fields.len,
                limit: self.max_value,
            });
        }
        let len = fields.len as usize;
        if buf.len() < newline + 1 + len + 2 {
            self.scanned = newline;
            return Ok(None);
        }
        let data_start = newline + 1;
        if &buf[data_start + len..data_start + len + 2] != b"\r\n" {
            return Err(ResponseError::BadDataChunk);
        }
        self.scanned = 0;
        Ok(Some(ValueSpan {
            key: fields.key,
            flags: fields.flags,
            cas: fields.cas,
            data: data_start..data_start + len,
        }))
    }
}

/// The fields of a `VALUE` line: `VALUE <key> <flags> <bytes> [<cas unique>]`, words
/// separated by runs of spaces, numbers in plain decimal digits.
struct ValueLine {
    key: Range<usize>,
    flags: u32,
    len: u64,
    cas: Option<u64>,
}

impl ValueLine {
    /// Read the line (without its line end) in one pass; `None` when it is malformed (a word
    /// missing or extra, a number with anything but digits in it or out of range).
    fn read(line: &[u8]) -> Option<ValueLine> {
        let mut words = LineCursor {
            line,
            pos: b"VALUE ".len(),
        };
        let key = words.word()?;
        let flags = u32::try_from(words.number()?).ok()?;
        let len = words.number()?;
        let cas = match words.at_end() {
            true => None,
            false => Some(words.number()?),
        };
        words.at_end().then_some(ValueLine {
            key,
            flags,
            len,
            cas,
        })
    }
}

/// Reads the words of a line in turn.
struct LineCursor<'a> {
    line: &'a [u8],
    pos: usize,
}

impl LineCursor<'_> {
    fn skip_spaces(&mut self) {
        while self.line.get(self.pos) == Some(&b' ') {
            self.pos += 1;
        }
    }

    /// True when nothing but spaces is left.
    fn at_end(&mut self) -> bool {
        self.skip_spaces();
        self.pos == self.line.len()
    }

    /// The next word's place in the line.
    fn word(&mut self) -> Option<Range<usize>> {
        if self.at_end() {
            return None;
        }
        let start = self.pos;
        self.pos = memchr::memchr(b' ', &self.line[start..]).map_or(self.line.len(), |n| start + n);
        Some(start..self.pos)
    }

    /// The next word as a number of plain decimal digits, read as it is scanned.
    fn number(&mut self) -> Option<u64> {
        self.skip_spaces();
        let start = self.pos;
        let mut value = 0u64;
        while let Some(&byte) = self.line.get(self.pos) {
            if byte == b' ' {
                break;
            }
            let digit = byte.wrapping_sub(b'0');
            if digit > 9 {
                return None;
            }
            value = value.checked_mul(10)?.checked_add(u64::from(digit))?;
            self.pos += 1;
        }
        (self.pos > start).then_some(value)
    }
}

/// Where one `VALUE` item lies in a buffer (offsets from the start given to
/// [`ResponseDecoder::peek_value`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueSpan {
    /// The key.
    pub key: Range<usize>,
    /// The client flags.
    pub flags: u32,
    /// The CAS unique (`gets`, `gats`).
    pub cas: Option<u64>,
    /// The data block, without its `\r\n`.
    pub data: Range<usize>,
}

impl ValueSpan {
    /// Where the item ends (after its data block's `\r\n`): where the next answer starts.
    pub fn end(&self) -> usize {
        self.data.end + 2
    }

    /// The same item seen from `offset` bytes earlier in the buffer.
    pub fn shifted(self, offset: usize) -> ValueSpan {
        ValueSpan {
            key: self.key.start + offset..self.key.end + offset,
            data: self.data.start + offset..self.data.end + offset,
            ..self
        }
    }
}

/// What [`ResponseDecoder::peek_value`] found at the start of a buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peeked {
    /// A whole `VALUE` item.
    Value(ValueSpan),
    /// Not all of the next answer has arrived.
    Incomplete,
    /// A whole line that is not a `VALUE` line (`END`, an error...).
    Other,
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
            b"VALUE k 0 18446744073709551616\r\n",
            b"VALUE k 0 2 18446744073709551616\r\nab\r\n",
            b"VALUE k 0 2\t\r\nab\r\n",
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

    /// Peeking finds the same items as decoding, in place, however the answer is cut into
    /// reads; what is not a `VALUE` line is left for `decode`, and lies are refused the same.
    #[test]
    fn peeked_values_match_decoded_ones() {
        let wire = b"VALUE alpha 7 3 99\r\nabc\r\nVALUE  b  0  0 \r\n\r\nVALUE c 4294967295 2\r\n\r\n\r\nEND\r\n";
        let whole = decode_all(wire);
        for cut in 0..=wire.len() {
            let mut decoder = ResponseDecoder::default();
            let mut buf = BytesMut::from(&wire[..cut]);
            let mut at = 0;
            let mut out = Vec::new();
            let mut arrived = cut == wire.len();
            loop {
                match decoder.peek_value(&buf[at..]).expect("valid") {
                    Peeked::Value(span) => {
                        let span = span.shifted(at);
                        at = span.end();
                        out.push(Response::Value(Value {
                            key: Bytes::copy_from_slice(&buf[span.key]),
                            flags: span.flags,
                            cas: span.cas,
                            data: Bytes::copy_from_slice(&buf[span.data]),
                        }));
                    }
                    Peeked::Incomplete => {
                        assert!(!arrived, "cut at {cut}: all of it is there");
                        buf.extend_from_slice(&wire[cut..]);
                        arrived = true;
                    }
                    Peeked::Other => {
                        let _ = buf.split_to(at);
                        while let Some(r) = decoder.decode(&mut buf).expect("valid") {
                            out.push(r);
                        }
                        break;
                    }
                }
            }
            assert_eq!(out, whole, "cut at {cut}");
        }
        let mut d = ResponseDecoder::new(10);
        assert!(matches!(
            d.peek_value(b"VALUE k 0 11\r\n"),
            Err(ResponseError::ValueTooLarge { declared: 11, .. })
        ));
        let mut d = ResponseDecoder::default();
        assert_eq!(
            d.peek_value(b"VALUE k 0 2\r\nabcd\r\n"),
            Err(ResponseError::BadDataChunk)
        );
        assert!(matches!(
            d.peek_value(b"VALUE k 0 2 1 extra\r\nab\r\n"),
            Err(ResponseError::MalformedLine(_))
        ));
        let mut d = ResponseDecoder::new(10);
        assert!(matches!(
            d.peek_value(&[b'x'; 70 * 1024]),
            Err(ResponseError::LineTooLong(_))
        ));
    }
}
