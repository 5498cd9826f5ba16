//! Every row of memcached 1.6.18's measured edge-case answers that concerns parsing: the error
//! lines the decoder produces, in order, must be the error lines memcached sent, and the
//! connection must close exactly when memcached closed it.
//!
//! The data (`crates/mc-testkit/data/memcached-1.6.18-edge-cases.json`) was captured from Debian's
//! memcached 1.6.18. Answers that come from stored data rather than from parsing (values, hits,
//! misses) are the server's to reproduce and are checked by `mc-server`'s tests.

mod common;

use common::{decode_all, Event};
use mc_proto::Request;
use mc_testkit::latin1;
use serde_json::Value;

/// Rows whose error lines are produced by the store, not the parser, with the reason.
const STORE_ERRORS: &[(&str, &str)] = &[
    (
        "incr-nonnumeric",
        "the stored value decides: CLIENT_ERROR cannot increment",
    ),
    (
        "stats-unknown",
        "the server answers ERROR for a stats group it lacks",
    ),
];

fn cases() -> Vec<Value> {
    let doc: Value =
        serde_json::from_str(mc_testkit::EDGE_CASES_JSON).expect("valid conformance JSON");
    doc["cases"].as_array().expect("cases array").clone()
}

/// A case's setup requests followed by its request, as bytes.
fn case_input(case: &Value) -> Vec<u8> {
    let mut input = Vec::new();
    for setup in case["setup"].as_array().expect("setup") {
        input.extend(latin1(setup.as_str().expect("setup string")));
    }
    input.extend(latin1(case["request"].as_str().expect("request")));
    input
}

fn is_error_line(line: &[u8]) -> bool {
    line.starts_with(b"ERROR")
        || line.starts_with(b"CLIENT_ERROR")
        || line.starts_with(b"SERVER_ERROR")
}

/// The error lines of memcached's answer. Value data is skipped by its declared length so a
/// stored value that looks like an error line is not miscounted.
fn expected_errors(response: &[u8]) -> Vec<Vec<u8>> {
    let mut errors = Vec::new();
    let mut rest = response;
    while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
        let line = &rest[..nl + 1];
        rest = &rest[nl + 1..];
        if line.starts_with(b"VALUE ") || line.starts_with(b"VA ") {
            let field = if line.starts_with(b"VALUE ") { 3 } else { 1 };
            let text = String::from_utf8_lossy(&line[..line.len() - 2]).into_owned();
            let len: usize = text
                .split(' ')
                .nth(field)
                .and_then(|f| f.parse().ok())
                .expect("length in value line");
            rest = &rest[len + 2..];
        } else if is_error_line(line) {
            errors.push(line.to_vec());
        }
    }
    errors
}

#[test]
fn parse_level_answers_match_memcached() {
    let mut checked = 0;
    for case in cases() {
        let name = case["name"].as_str().expect("name");
        let input = case_input(&case);
        let response = latin1(case["response"].as_str().expect("response"));
        let closes = case["closes_connection"].as_bool().expect("closes flag");

        let outcome = decode_all(&input);
        let ours: Vec<Vec<u8>> = outcome
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Error(err) => err.reply().map(<[u8]>::to_vec),
                Event::Request(_) => None,
            })
            .collect();
        let quits = outcome
            .events
            .iter()
            .any(|e| matches!(e, Event::Request(Request::Quit)));
        assert_eq!(
            outcome.closed || quits,
            closes,
            "{name}: connection close differs from memcached"
        );
        if STORE_ERRORS.iter().any(|(n, _)| *n == name) {
            assert!(
                ours.is_empty(),
                "{name}: the parser must accept this request"
            );
            continue;
        }
        let theirs = expected_errors(&response);
        assert_eq!(
            ours.iter()
                .map(|l| String::from_utf8_lossy(l).into_owned())
                .collect::<Vec<_>>(),
            theirs
                .iter()
                .map(|l| String::from_utf8_lossy(l).into_owned())
                .collect::<Vec<_>>(),
            "{name}: error lines differ from memcached"
        );
        checked += 1;
    }
    assert_eq!(checked + STORE_ERRORS.len(), cases().len());
}

/// Splitting the same bytes at every point must not change what is decoded.
#[test]
fn every_split_point_decodes_like_the_whole() {
    for case in cases() {
        let name = case["name"].as_str().expect("name");
        let input = case_input(&case);
        let whole = decode_all(&input);
        for split in 0..=input.len() {
            let (a, b) = input.split_at(split);
            let parts = common::decode_chunks(Default::default(), &[a, b]);
            assert_eq!(parts, whole, "{name}: split at {split}");
        }
    }
}
