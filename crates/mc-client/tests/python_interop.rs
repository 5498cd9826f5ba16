//! A Rust service and a Python service share one weighted pool: python-memcached writes keys
//! through four mc-servers weighted 4/3/1/2, our client finds every one on the same server and
//! reads it back as the same type, and the reverse.

use std::process::Command;

use mc_client::blocking::Client;
use mc_server::{Config, RunningServer};
use mc_testkit::{missing_peer, python_with_memcache};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/pool.py");
const WEIGHTS: [u32; 4] = [4, 3, 1, 2];
const KEYS: usize = 300;

#[test]
fn python_and_rust_share_a_weighted_pool() {
    let Some(python) = python_with_memcache() else {
        missing_peer("python3 with python-memcached (apt-get install python3-memcache)");
        return;
    };
    let servers: Vec<RunningServer> = WEIGHTS
        .iter()
        .map(|_| RunningServer::start(Config::ephemeral()).expect("server"))
        .collect();
    let addrs: Vec<String> = servers
        .iter()
        .map(|s| s.local_addr().expect("addr").to_string())
        .collect();
    let specs: Vec<String> = addrs
        .iter()
        .zip(WEIGHTS)
        .map(|(a, w)| format!("{a}:{w}"))
        .collect();
    let run = |mode: &str| {
        let output = Command::new(&python)
            .arg(SCRIPT)
            .arg(mode)
            .arg(KEYS.to_string())
            .args(&specs)
            .output()
            .expect("run python");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    };

    assert_eq!(run("write"), "ok");
    let pool = Client::new(addrs.iter().map(String::as_str).zip(WEIGHTS)).expect("pool");
    let singles: Vec<Client> = addrs
        .iter()
        .map(|a| Client::new([a.as_str()]).expect("client"))
        .collect();
    let mut per_server = [0usize; 4];
    for i in 0..KEYS {
        let key = format!("key:{i}");
        let index = pool.server_for(&key).expect("server");
        // The key is on the server our placement names, and on no other.
        for (s, single) in singles.iter().enumerate() {
            let held = single.get::<String>(&key).expect("get");
            assert_eq!(
                held.is_some(),
                s == index,
                "{key} on server {s}, we placed it on {index}"
            );
        }
        per_server[index] += 1;
        assert_eq!(
            pool.get::<String>(&key).expect("get").as_deref(),
            Some(format!("value:{i}").as_str())
        );
        assert_eq!(
            pool.get::<i64>(&format!("int:{i}")).expect("get int"),
            Some(i as i64)
        );
    }
    // Weights 4/3/1/2 over 300 keys: every server got a share, the heaviest the most.
    assert!(per_server.iter().all(|&n| n > 0), "{per_server:?}");
    assert!(per_server[0] > per_server[2], "{per_server:?}");

    for i in 0..KEYS {
        assert!(pool
            .set(&format!("rkey:{i}"), format!("rvalue:{i}").as_str(), 0)
            .expect("set"));
        assert!(pool
            .set(&format!("rint:{i}"), &(i as i64), 0)
            .expect("set int"));
    }
    assert_eq!(run("read"), "ok");
}
