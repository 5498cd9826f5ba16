//! Helpers shared by the integration tests.
#![allow(dead_code)]

#[path = "../../fuzz/oracle.rs"]
pub mod oracle;

use mc_proto::{Limits, Request, RequestError};

pub use oracle::Event;

/// The outcome of feeding a stream to a decoder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub events: Vec<Event>,
    /// The decoder asked for the connection to be closed.
    pub closed: bool,
}

/// Feed `chunks` one after the other, decoding everything available after each (the fuzz
/// oracle's loop, so tests and fuzzing read streams the same way).
pub fn decode_chunks(limits: Limits, chunks: &[&[u8]]) -> Outcome {
    let (events, closed) = oracle::run(limits, chunks);
    Outcome { events, closed }
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
