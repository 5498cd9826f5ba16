//! Every row of memcached 1.6.18's measured edge-case table gets the same bytes from mc-server,
//! and the connection closes exactly when memcached closed it.

use std::time::Duration;

use mc_server::{Config, RunningServer};
use mc_testkit::{latin1, send_and_read, EDGE_CASES_JSON};
use serde_json::Value;

/// Replace what legitimately differs between servers: CAS uniques and the version text.
fn normalize(answer: &[u8]) -> Vec<u8> {
    let text: String = answer.iter().map(|&b| b as char).collect();
    let mut out = String::new();
    for line in text.split_inclusive("\r\n") {
        if line.starts_with("VERSION ") {
            out.push_str("VERSION <v>\r\n");
            continue;
        }
        if line.starts_with("VALUE ") {
            let fields: Vec<&str> = line.trim_end().split(' ').collect();
            if fields.len() == 5 {
                out.push_str(&format!(
                    "{} {} {} {} <cas>\r\n",
                    fields[0], fields[1], fields[2], fields[3]
                ));
                continue;
            }
        }
        out.push_str(line);
    }
    latin1(&out)
}

#[test]
fn every_edge_case_matches_memcached() {
    for io_uring in mc_testkit::io_paths(mc_server::io_uring_available()) {
        every_edge_case_matches_memcached_on(io_uring);
    }
}

fn every_edge_case_matches_memcached_on(io_uring: bool) {
    let path = if io_uring { "io_uring" } else { "default" };
    let doc: Value = serde_json::from_str(EDGE_CASES_JSON).expect("valid JSON");
    let cases = doc["cases"].as_array().expect("cases");
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let expected = latin1(case["response"].as_str().expect("response"));
        let closes = case["closes_connection"].as_bool().expect("closes");
        // A fresh server per case, as the table was measured on fresh state.
        let server = RunningServer::start(Config {
            threads: 1,
            io_uring,
            ..Config::ephemeral()
        })
        .expect("server starts");
        let addr = server.local_addr().expect("tcp address");
        for setup in case["setup"].as_array().expect("setup") {
            let setup = latin1(setup.as_str().expect("setup string"));
            let (answer, _) = send_and_read(addr, &setup, Duration::from_secs(2), |a| {
                a.ends_with(b"\r\n")
            });
            assert!(!answer.is_empty(), "{name} ({path} I/O): setup unanswered");
        }
        let request = latin1(case["request"].as_str().expect("request"));
        let wait = if closes || expected.is_empty() {
            Duration::from_millis(300)
        } else {
            Duration::from_secs(2)
        };
        let (answer, closed) = send_and_read(addr, &request, wait, |a| {
            normalize(a) == expected && !closes
        });
        assert_eq!(
            String::from_utf8_lossy(&normalize(&answer)),
            String::from_utf8_lossy(&expected),
            "{name} ({path} I/O): answer differs from memcached"
        );
        assert_eq!(
            closed, closes,
            "{name} ({path} I/O): connection close differs from memcached"
        );
        server.shutdown();
    }
}
