//! Faults: a dead server in a pool, a server that dies and comes back.

use std::time::{Duration, Instant};

use mc_client::blocking::Client;
use mc_client::{Error, Options};
use mc_server::{Config, RunningServer};

/// An address where nothing listens (a port we bound and released).
fn dead_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    drop(listener);
    addr
}

#[test]
fn a_dead_server_only_moves_its_own_keys() {
    let live: Vec<RunningServer> = (0..3)
        .map(|_| RunningServer::start(Config::ephemeral()).expect("server"))
        .collect();
    let mut addrs: Vec<String> = live
        .iter()
        .map(|s| s.local_addr().expect("addr").to_string())
        .collect();
    addrs.insert(1, dead_address());
    let options = Options {
        connect_timeout: Duration::from_millis(500),
        ..Options::default()
    };
    let all_alive_placement = Client::new(addrs.iter().map(String::as_str)).expect("client");
    let pool = Client::with_options(addrs.iter().map(String::as_str), options).expect("client");
    let keys: Vec<String> = (0..200).map(|i| format!("key:{i}")).collect();
    // Placement before anyone noticed the dead server.
    let planned: Vec<usize> = keys
        .iter()
        .map(|k| all_alive_placement.server_for(k).expect("server"))
        .collect();
    for key in &keys {
        // Like python-memcached, a server that refuses connections is skipped and the key is
        // rehashed: every operation still succeeds.
        assert!(pool.set(key, key.as_str(), 0).expect("set fails over"));
    }
    for (key, planned) in keys.iter().zip(&planned) {
        assert_eq!(
            pool.get::<String>(key).expect("get").as_deref(),
            Some(key.as_str())
        );
        let now = pool.server_for(key).expect("server");
        if *planned != 1 {
            assert_eq!(
                now, *planned,
                "{key} belonged to a live server and must stay there"
            );
        } else {
            assert_ne!(now, 1);
        }
    }
}

#[test]
fn a_server_that_dies_fails_fast_and_is_retried_after_dead_retry() {
    let server = RunningServer::start(Config::ephemeral()).expect("server");
    let addr = server.local_addr().expect("addr");
    let options = Options {
        io_timeout: Duration::from_millis(500),
        connect_timeout: Duration::from_millis(500),
        dead_retry: Duration::from_secs(1),
        ..Options::default()
    };
    let mc = Client::with_options([addr.to_string()], options).expect("client");
    assert!(mc.set("k", "v", 0).expect("set"));
    server.shutdown();

    let started = Instant::now();
    let err = mc.get::<String>("k").expect_err("the server is gone");
    assert!(matches!(err, Error::Io { .. } | Error::Timeout(_)), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "fails within the timeout"
    );
    // Now marked dead: refused at once, without touching the network.
    assert!(matches!(
        mc.get::<String>("k"),
        Err(Error::NoServer | Error::Io { .. })
    ));

    // The server comes back on the same port.
    let back = RunningServer::start(Config {
        port: addr.port(),
        ..Config::ephemeral()
    })
    .expect("restart");
    std::thread::sleep(Duration::from_millis(1100));
    assert!(mc
        .set("k", "again", 0)
        .expect("traffic resumes after dead_retry"));
    assert_eq!(
        mc.get::<String>("k").expect("get").as_deref(),
        Some("again")
    );
    back.shutdown();
}

/// Two live servers and one that dies after the keys are placed: every multi-key operation
/// still serves the live servers' keys, and reports the dead server's keys one by one.
#[test]
fn a_batch_with_a_dead_server_still_serves_the_others() {
    let live: Vec<RunningServer> = (0..3)
        .map(|_| RunningServer::start(Config::ephemeral()).expect("server"))
        .collect();
    let addrs: Vec<String> = live
        .iter()
        .map(|s| s.local_addr().expect("addr").to_string())
        .collect();
    let options = Options {
        connect_timeout: Duration::from_millis(500),
        io_timeout: Duration::from_millis(500),
        ..Options::default()
    };
    let pool = Client::with_options(addrs.iter().map(String::as_str), options).expect("client");
    let keys: Vec<String> = (0..120).map(|i| format!("key:{i}")).collect();
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let pairs: Vec<(&str, String)> = keys.iter().map(|k| (k.as_str(), k.clone())).collect();
    assert!(pool.set_multi(&pairs, 0).expect("set_multi").is_empty());
    let placement: Vec<usize> = refs
        .iter()
        .map(|k| pool.server_for(k).expect("server"))
        .collect();
    // Server 1 goes away.
    let mut live = live;
    live.remove(1).shutdown();
    let on_dead: Vec<&str> = refs
        .iter()
        .zip(&placement)
        .filter(|(_, &s)| s == 1)
        .map(|(k, _)| *k)
        .collect();
    assert!(!on_dead.is_empty());
    let report = pool
        .get_multi_report::<String>(&refs)
        .expect("a report, not an error");
    assert_eq!(report.found.len() + on_dead.len(), keys.len());
    let mut failed: Vec<&str> = report.failed.iter().map(|(k, _)| k.as_str()).collect();
    failed.sort();
    let mut expected = on_dead.clone();
    expected.sort();
    assert_eq!(
        failed, expected,
        "exactly the dead server's keys are reported"
    );
    assert!(report
        .failed
        .iter()
        .all(|(_, e)| matches!(e, Error::Io { .. } | Error::Timeout(_) | Error::NoServer)));
    // The server is now marked dead: like python-memcached, its keys rehash to the live
    // servers, where they are not (yet) stored; every other key is served.
    let again = pool.get_multi::<String>(&refs).expect("get_multi");
    assert_eq!(again.len(), keys.len() - on_dead.len());
    assert!(pool.set_multi(&pairs, 0).expect("set_multi").is_empty());
    assert_eq!(
        pool.get_multi::<String>(&refs).expect("get_multi").len(),
        keys.len()
    );
    assert!(pool.delete_multi(&refs).expect("delete_multi"));
    assert_eq!(pool.get_multi::<String>(&refs).expect("get_multi").len(), 0);
}

/// Options at their extremes are taken at their word, never a panic: an `io_timeout` and a
/// `dead_retry` of `Duration::MAX` mean "no deadline" and "dead for good".
#[test]
fn the_longest_timeouts_are_no_deadline_not_a_panic() {
    let live = RunningServer::start(Config::ephemeral()).expect("server");
    let addrs = [live.local_addr().expect("addr").to_string(), dead_address()];
    let options = Options {
        connect_timeout: Duration::from_millis(500),
        io_timeout: Duration::MAX,
        dead_retry: Duration::MAX,
        ..Options::default()
    };
    let pool = Client::with_options(addrs.iter().map(String::as_str), options).expect("client");
    let keys: Vec<String> = (0..50).map(|i| format!("key:{i}")).collect();
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let pairs: Vec<(&str, &str)> = refs.iter().map(|k| (*k, *k)).collect();
    // The dead server is found and marked dead for good; its keys rehash to the live one.
    let _ = pool.set_multi(&pairs, 0).expect("set_multi");
    assert!(pool.set_multi(&pairs, 0).expect("set_multi").is_empty());
    let found = pool.get_multi::<String>(&refs).expect("get_multi");
    assert_eq!(found.len(), keys.len());
    assert!(found.iter().all(|(k, v)| k == v));
    // Still dead later on: nothing is sent its way.
    assert_eq!(
        pool.get_multi::<String>(&refs).expect("get_multi").len(),
        keys.len()
    );
}
