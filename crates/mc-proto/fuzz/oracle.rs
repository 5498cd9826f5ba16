//! The properties the fuzz targets check, shared with the test that replays the corpus
//! (`tests/fuzz_corpus.rs`), so a crash found by fuzzing stays fixed.
//!
//! Requests: no panic; bounded buffering; splitting the input at any point decodes the same;
//! every decoded request re-encodes to bytes that decode to the same request.
//! Responses: no panic; splitting changes nothing; reading values in place (`peek_value`)
//! finds what decoding finds; decoded responses re-encode losslessly.

use bytes::{Buf, Bytes, BytesMut};
use mc_proto::{
    Limits, Peeked, Request, RequestDecoder, RequestError, Response, ResponseDecoder,
    ResponseError, Value,
};

/// What the decoder produced for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A request.
    Request(Request),
    /// A rejected request.
    Error(RequestError),
}

/// Feed `chunks` one after the other, decoding everything available after each; returns the
/// events and whether the decoder asked to close the connection. Also used by the tests.
pub fn run(limits: Limits, chunks: &[&[u8]]) -> (Vec<Event>, bool) {
    let mut decoder = RequestDecoder::new(limits);
    let mut buf = BytesMut::new();
    let mut events = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(r)) => events.push(Event::Request(r)),
                Ok(None) => break,
                Err(e) => {
                    let closes = e.closes_connection();
                    events.push(Event::Error(e));
                    if closes {
                        return (events, true);
                    }
                }
            }
        }
        // What stays buffered is bounded by the line limits and the largest item.
        assert!(buf.len() <= limits.max_get_line.max(limits.max_item_size) + 2);
    }
    (events, false)
}

/// The request decoder's properties, checked on arbitrary input (first byte: where to split).
pub fn check_request_stream(data: &[u8]) {
    let Some((&cut, input)) = data.split_first() else {
        return;
    };
    let limits = Limits {
        max_item_size: 4096,
        max_get_line: 8192,
    };
    let whole = run(limits, &[input]);
    let at = usize::from(cut) * input.len() / 255;
    let split = run(limits, &[&input[..at], &input[at..]]);
    assert_eq!(whole, split, "split at {at}");

    let requests: Vec<&Request> = whole
        .0
        .iter()
        .filter_map(|e| match e {
            Event::Request(r) => Some(r),
            Event::Error(_) => None,
        })
        .collect();
    let mut wire = BytesMut::new();
    for r in &requests {
        r.encode(&mut wire);
    }
    let again = run(limits, &[&wire]);
    let decoded: Vec<&Request> = again
        .0
        .iter()
        .map(|e| match e {
            Event::Request(r) => r,
            Event::Error(e) => panic!("re-encoded request rejected: {e}"),
        })
        .collect();
    assert_eq!(decoded, requests);
}

fn run_responses(chunks: &[&[u8]]) -> (Vec<Response>, Option<ResponseError>) {
    let mut decoder = ResponseDecoder::new(4096);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(r)) => out.push(r),
                Ok(None) => break,
                Err(e) => return (out, Some(e)),
            }
        }
    }
    (out, None)
}

/// Feed `chunks` the way a client reads a listing of values: `VALUE` items found in place with
/// `peek_value` (cut off the buffer only when something else comes), the rest decoded.
fn run_peeking(chunks: &[&[u8]]) -> (Vec<Response>, Option<ResponseError>) {
    let mut decoder = ResponseDecoder::new(4096);
    let mut buf = BytesMut::new();
    let mut at = 0;
    let mut out = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match decoder.peek_value(&buf[at..]) {
                Ok(Peeked::Value(span)) => {
                    let span = span.shifted(at);
                    at = span.end();
                    out.push(Response::Value(Value {
                        key: Bytes::copy_from_slice(&buf[span.key.clone()]),
                        flags: span.flags,
                        cas: span.cas,
                        data: Bytes::copy_from_slice(&buf[span.data.clone()]),
                    }));
                }
                Ok(Peeked::Incomplete) => break,
                Ok(Peeked::Other) => {
                    buf.advance(at);
                    at = 0;
                    match decoder.decode(&mut buf) {
                        Ok(Some(r)) => out.push(r),
                        // A meta `VA` line whose data block is still coming.
                        Ok(None) => break,
                        Err(e) => return (out, Some(e)),
                    }
                }
                Err(e) => return (out, Some(e)),
            }
        }
    }
    (out, None)
}

/// The response decoder's properties, checked on arbitrary input (first byte: where to split).
pub fn check_response_stream(data: &[u8]) {
    let Some((&cut, input)) = data.split_first() else {
        return;
    };
    let whole = run_responses(&[input]);
    let at = usize::from(cut) * input.len() / 255;
    let split = run_responses(&[&input[..at], &input[at..]]);
    // An error may be found earlier or later depending on the cut (a too-long line is noticed
    // once enough bytes are buffered), but the responses before it must agree.
    if whole.1.is_none() && split.1.is_none() {
        assert_eq!(whole.0, split.0, "split at {at}");
    }
    // Reading values in place finds exactly what decoding finds, errors included.
    let peeked = run_peeking(&[&input[..at], &input[at..]]);
    assert_eq!(peeked, split, "peeking, split at {at}");

    let mut wire = BytesMut::new();
    for r in &whole.0 {
        r.encode(&mut wire);
    }
    let again = run_responses(&[&wire]);
    assert_eq!(again.1, None, "re-encoded responses rejected");
    assert_eq!(again.0, whole.0);
}

/// What the binary decoder produced for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BinaryEvent {
    /// A request.
    Request(mc_proto::binary::BinaryRequest),
    /// A refused request.
    Reject(mc_proto::binary::BinaryReject),
}

/// Feed `chunks` to a binary decoder, as [`run`] does for text; stops at a refusal that closes.
pub fn run_binary(max_item_size: usize, chunks: &[&[u8]]) -> (Vec<BinaryEvent>, bool) {
    let mut decoder = mc_proto::binary::BinaryDecoder::new(max_item_size);
    let mut buf = BytesMut::new();
    let mut events = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(r)) => events.push(BinaryEvent::Request(r)),
                Ok(None) => break,
                Err(reject) => {
                    let closes = reject.close;
                    events.push(BinaryEvent::Reject(reject));
                    if closes {
                        return (events, true);
                    }
                }
            }
        }
        // At most a header, 255 bytes of extras, a 64 KiB key and one item are buffered.
        assert!(buf.len() <= 24 + 255 + 65_535 + max_item_size);
    }
    (events, false)
}

/// The binary decoder's properties on arbitrary input (first byte: where to split): no panic,
/// bounded buffering, the same result however the input is split, and every decoded request
/// re-encodes to bytes that decode to the same command.
pub fn check_binary_stream(data: &[u8]) {
    let Some((&cut, input)) = data.split_first() else {
        return;
    };
    let whole = run_binary(4096, &[input]);
    let at = usize::from(cut) * input.len() / 255;
    let split = run_binary(4096, &[&input[..at], &input[at..]]);
    assert_eq!(whole, split, "split at {at}");
    let requests: Vec<&mc_proto::binary::BinaryRequest> = whole
        .0
        .iter()
        .filter_map(|e| match e {
            BinaryEvent::Request(r) => Some(r),
            BinaryEvent::Reject(_) => None,
        })
        .collect();
    let mut wire = BytesMut::new();
    for r in &requests {
        r.command.encode(r.header.opaque, &mut wire);
    }
    let again = run_binary(4096, &[&wire]);
    let decoded: Vec<&mc_proto::binary::BinaryCommand> = again
        .0
        .iter()
        .map(|e| match e {
            BinaryEvent::Request(r) => &r.command,
            BinaryEvent::Reject(reject) => panic!("re-encoded request refused: {reject:?}"),
        })
        .collect();
    let original: Vec<&mc_proto::binary::BinaryCommand> =
        requests.iter().map(|r| &r.command).collect();
    assert_eq!(decoded, original);
}
