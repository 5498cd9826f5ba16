//! Key placement matches the reference implementations exactly: python-memcached 1.58's hash,
//! buckets and dead-server rehash sequence, and libmemcached 1.1.4's weighted ketama.

use mc_client::distribution::{buckets, cmemcache_hash, modula_pick, Continuum};
use mc_client::{Client, Distribution, Options};
use mc_testkit::{KETAMA_JSON, PYTHON_PLACEMENT_JSON};
use serde_json::Value;

#[test]
fn python_memcached_placement_vectors() {
    let doc: Value = serde_json::from_str(PYTHON_PLACEMENT_JSON).expect("json");
    let servers: Vec<(String, u32)> = doc["servers_with_weights"]
        .as_array()
        .expect("servers")
        .iter()
        .map(|s| {
            (
                s[0].as_str().expect("name").to_string(),
                s[1].as_u64().expect("weight") as u32,
            )
        })
        .collect();
    let weights: Vec<u32> = servers.iter().map(|s| s.1).collect();
    let bucket_list = buckets(&weights);
    let expected: Vec<&str> = doc["buckets"]
        .as_array()
        .expect("buckets")
        .iter()
        .map(|b| b.as_str().expect("b"))
        .collect();
    assert_eq!(
        bucket_list
            .iter()
            .map(|&i| servers[i].0.as_str())
            .collect::<Vec<_>>(),
        expected
    );

    let client = Client::new(servers.iter().map(|(s, w)| (s.as_str(), *w)));
    let keys = doc["keys"].as_array().expect("keys");
    assert!(keys.len() >= 30);
    for case in keys {
        let key = case["key"].as_str().expect("key");
        assert_eq!(
            u64::from(cmemcache_hash(key.as_bytes())),
            case["hash"].as_u64().expect("hash"),
            "hash of {key:?}"
        );
        let index = client.server_for(key).expect("a server");
        assert_eq!(
            client.server_name(index),
            case["server"].as_str(),
            "server of {key:?}"
        );
        // The rehash sequence: with every server dead, python-memcached tries these buckets.
        let sequence: Vec<usize> = case["bucket_sequence"]
            .as_array()
            .expect("seq")
            .iter()
            .map(|b| b.as_u64().expect("n") as usize)
            .collect();
        let mut tried = Vec::new();
        let _ = modula_pick(
            key.as_bytes(),
            &(0..bucket_list.len()).collect::<Vec<_>>(),
            |b| {
                tried.push(b);
                false
            },
        );
        assert_eq!(tried, sequence, "rehash sequence of {key:?}");
    }
}

#[test]
fn ketama_vectors_match_libmemcached() {
    let doc: Value = serde_json::from_str(KETAMA_JSON).expect("json");
    for (pool, spec) in doc["pools"].as_object().expect("pools") {
        let servers: Vec<(String, u16, u32)> = spec["servers"]
            .as_array()
            .expect("servers")
            .iter()
            .map(|s| {
                let parts: Vec<&str> = s.as_str().expect("server").split(':').collect();
                (
                    parts[0].to_string(),
                    parts[1].parse().expect("port"),
                    parts[2].parse().expect("weight"),
                )
            })
            .collect();
        let continuum = Continuum::new(&servers);
        let client = Client::with_options(
            servers.iter().map(|(h, p, w)| (format!("{h}:{p}"), *w)),
            Options {
                distribution: Distribution::Ketama,
                ..Options::default()
            },
        );
        for case in spec["keys"].as_array().expect("keys") {
            let key = case["key"].as_str().expect("key");
            let expected = case["server_index"].as_u64().expect("index") as usize;
            assert_eq!(
                continuum.pick(key.as_bytes()),
                Some(expected),
                "{pool}: {key:?}"
            );
            assert_eq!(
                client.server_for(key).ok(),
                Some(expected),
                "{pool}: {key:?} through the client"
            );
        }
    }
}

#[test]
fn adding_a_ketama_server_moves_about_a_quarter_of_the_keys() {
    let three: Vec<(String, u16, u32)> = (0..3)
        .map(|i| ("127.0.0.1".to_string(), 11211 + i, 1))
        .collect();
    let mut four = three.clone();
    four.push(("127.0.0.1".to_string(), 11214, 1));
    let (a, b) = (Continuum::new(&three), Continuum::new(&four));
    let keys = 20_000;
    let moved = (0..keys)
        .filter(|i| {
            let key = format!("key:{i}");
            a.pick(key.as_bytes()) != b.pick(key.as_bytes())
        })
        .count();
    let share = moved as f64 / keys as f64;
    assert!(
        (0.15..0.35).contains(&share),
        "moved {share:.3} of the keys"
    );
    // Modula placement, by contrast, moves most keys.
    let (m3, m4) = (buckets(&[1, 1, 1]), buckets(&[1, 1, 1, 1]));
    let moved = (0..keys)
        .filter(|i| {
            let key = format!("key:{i}");
            modula_pick(key.as_bytes(), &m3, |_| true) != modula_pick(key.as_bytes(), &m4, |_| true)
        })
        .count();
    assert!(moved as f64 / keys as f64 > 0.5);
}
