//! Helpers shared by the integration tests.
#![allow(dead_code)]

use bytes::BytesMut;
use mc_proto::{Limits, Request, RequestDecoder, RequestError};

/// What the decoder produced for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Request(Request),
    Error(RequestError),
}

/// The outcome of feeding a stream to a decoder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub events: Vec<Event>,
    /// The decoder asked for the connection to be closed.
    pub closed: bool,
}

/// Feed `chunks` one after the other, decoding everything available after each.
pub fn decode_chunks(limits: Limits, chunks: &[&[u8]]) -> Outcome {
    let mut decoder = RequestDecoder::new(limits);
    let mut buf = BytesMut::new();
    let mut events = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(request)) => events.push(Event::Request(request)),
                Ok(None) => break,
                Err(error) => {
                    let closes = error.closes_connection();
                    events.push(Event::Error(error));
                    if closes {
                        return Outcome {
                            events,
                            closed: true,
                        };
                    }
                }
            }
        }
    }
    Outcome {
        events,
        closed: false,
    }
}

/// Decode a whole input with default limits.
pub fn decode_all(input: &[u8]) -> Outcome {
    decode_chunks(Limits::default(), &[input])
}

/// Decode exactly one request, which must be the whole input.
pub fn decode_one(input: &[u8]) -> Result<Request, RequestError> {
    let outcome = decode_all(input);
    assert_eq!(
        outcome.events.len(),
        1,
        "one event for {input:?}: {outcome:?}"
    );
    match outcome.events.into_iter().next() {
        Some(Event::Request(r)) => Ok(r),
        Some(Event::Error(e)) => Err(e),
        None => unreachable!("length checked"),
    }
}
