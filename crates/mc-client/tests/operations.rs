//! Every operation, with python-memcached's results, against mc-server and against Debian's
//! memcached.

use std::net::SocketAddr;
use std::time::Duration;

use mc_client::blocking::Client;
use mc_client::{Error, Json, Options, Raw};
use mc_server::{Config, RunningServer};
use mc_testkit::Memcached;

fn exercise(addr: SocketAddr) {
    let options = Options {
        cache_cas: true,
        ..Options::default()
    };
    let mc = Client::with_options([addr.to_string()], options).expect("client");
    mc.flush_all().expect("flush");
    // The tutorial, step by step.
    assert!(mc.set("k1", "v1", 0).expect("set"));
    assert_eq!(mc.get::<String>("k1").expect("get").as_deref(), Some("v1"));
    assert!(mc.set("k", "v", 1).expect("set with expiry"));
    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(mc.get::<String>("k").expect("get"), None, "expired");
    assert!(mc.add("k", "hello", 0).expect("add"));
    assert!(!mc.add("k", "world", 0).expect("add again"));
    assert_eq!(
        mc.get::<String>("k").expect("get").as_deref(),
        Some("hello")
    );
    assert!(mc.replace("k", "helloworld", 0).expect("replace"));
    assert!(!mc.replace("kk", "hello", 0).expect("replace missing"));
    assert_eq!(
        mc.set_multi(&[("key1", "value1"), ("key2", "value2")], 0)
            .expect("set_multi"),
        Vec::<String>::new()
    );
    assert!(mc.delete("key1").expect("delete"));
    assert!(!mc.delete("key1").expect("delete missing"));
    assert!(mc.delete_multi(&["key2", "nothing"]).expect("delete_multi"));
    mc.set_multi(&[("key5", "value5"), ("key6", "value6")], 0)
        .expect("set_multi");
    let multi = mc
        .get_multi::<String>(&["key5", "key6", "key7"])
        .expect("get_multi");
    assert_eq!(multi.len(), 2);
    assert_eq!(multi["key6"], "value6");
    assert!(mc.append("key5", "after").expect("append"));
    assert!(mc.prepend("key5", "before").expect("prepend"));
    assert_eq!(
        mc.get::<String>("key5").expect("get").as_deref(),
        Some("beforevalue5after")
    );
    assert!(!mc.append("nokey", "x").expect("append missing"));
    assert!(mc.set("number", &9i64, 0).expect("set int"));
    assert_eq!(mc.incr("number", 1).expect("incr"), Some(10));
    assert_eq!(mc.incr("number", 10).expect("incr"), Some(20));
    assert_eq!(mc.decr("number", 1).expect("decr"), Some(19));
    assert_eq!(mc.decr("number", 10).expect("decr"), Some(9));
    assert_eq!(
        mc.get::<i64>("number").expect("get int"),
        Some(9),
        "padded counters read back"
    );
    assert_eq!(mc.incr("missing", 1).expect("incr missing"), None);
    assert!(
        matches!(mc.incr("k", 1), Err(Error::Client(_))),
        "non-numeric counter"
    );
    // gets / cas with two clients: the second writer loses.
    let other = Client::with_options(
        [addr.to_string()],
        Options {
            cache_cas: true,
            ..Options::default()
        },
    )
    .expect("client");
    assert!(mc.set("n", &9i64, 0).expect("set"));
    assert_eq!(mc.gets::<i64>("n").expect("gets"), Some(9));
    assert_eq!(other.gets::<i64>("n").expect("gets"), Some(9));
    assert!(mc.cas("n", &99i64, 0).expect("cas"));
    assert!(!other.cas("n", &100i64, 0).expect("cas loses"));
    assert_eq!(mc.get::<i64>("n").expect("get"), Some(99));
    // Without a remembered unique, cas falls back to set, as python-memcached does.
    let fresh = Client::new([addr.to_string()]).expect("client");
    assert!(fresh.cas("n", &5i64, 0).expect("cas as set"));
    let (value, unique) = mc.gets_unique::<i64>("n").expect("gets").expect("present");
    assert_eq!(value, 5);
    assert!(mc.cas_unique("n", &6i64, unique, 0).expect("cas"));
    assert!(!mc.cas_unique("n", &7i64, unique, 0).expect("stale unique"));
    // touch, types, compression.
    assert!(mc.touch("key5", 100).expect("touch"));
    assert!(!mc.touch("nokey", 100).expect("touch missing"));
    assert!(mc
        .touch("key5", Duration::from_secs(60))
        .expect("touch with a duration"));
    assert!(mc.set("b", b"\x00\xffraw".as_slice(), 0).expect("bytes"));
    assert_eq!(
        mc.get::<Vec<u8>>("b").expect("get bytes").as_deref(),
        Some(&b"\x00\xffraw"[..])
    );
    assert!(mc
        .set("j", &Json(serde_json::json!({"a": [1, 2]})), 0)
        .expect("json"));
    let j: Json<serde_json::Value> = mc.get("j").expect("get json").expect("present");
    assert_eq!(j.0["a"][1], 2);
    let raw: Raw = mc.get("j").expect("raw").expect("present");
    assert_eq!(raw.flags, mc_client::value::flags::JSON);
    let compressing = Client::with_options(
        [addr.to_string()],
        Options {
            min_compress_len: 100,
            ..Options::default()
        },
    )
    .expect("client");
    let big = "x".repeat(100_000);
    assert!(compressing.set("big", big.as_str(), 0).expect("set big"));
    let raw: Raw = Client::new([addr.to_string()])
        .expect("client")
        .get("big")
        .expect("raw")
        .expect("present");
    assert_eq!(raw.data.len(), 100_000, "read back decompressed");
    assert_eq!(
        compressing.get::<String>("big").expect("get").as_deref(),
        Some(big.as_str())
    );
    // A value inflating past the client's value limit is refused, not allocated.
    let small_limit = Client::with_options(
        [addr.to_string()],
        Options {
            max_value_length: 50_000,
            ..Options::default()
        },
    )
    .expect("client");
    assert!(matches!(
        small_limit.get::<String>("big"),
        Err(Error::Value(_))
    ));
    // One round trip: value, CAS unique, the lifetime left before this request, a new expiry.
    assert!(mc.set("meta", "m", 100).expect("set"));
    let fetched = mc
        .gat_meta::<String>("meta", 1000)
        .expect("gat_meta")
        .expect("present");
    assert_eq!(fetched.value, "m");
    assert_eq!(
        Some(fetched.cas),
        mc.gets_unique::<String>("meta").expect("gets").map(|g| g.1)
    );
    let left = fetched.ttl_left.expect("expires").as_secs();
    assert!((99..=100).contains(&left), "{left}");
    let again = mc
        .gat_meta::<String>("meta", 0)
        .expect("gat_meta")
        .expect("present");
    let left = again.ttl_left.expect("expires").as_secs();
    assert!(
        (999..=1000).contains(&left),
        "the previous call set 1000 s: {left}"
    );
    let forever = mc
        .gat_meta::<String>("meta", 0)
        .expect("gat_meta")
        .expect("present");
    assert_eq!(forever.ttl_left, None, "0 means never");
    assert!(mc
        .gat_meta::<String>("absent", 10)
        .expect("gat_meta")
        .is_none());
    // Bad keys never reach the server.
    for bad in ["", "has space", "ctrl\x01", &"k".repeat(251)] {
        assert!(matches!(mc.set(bad, "x", 0), Err(Error::Key(_))), "{bad:?}");
    }
    let stats = mc.get_stats().expect("stats");
    assert_eq!(stats.len(), 1);
    assert!(stats[0].1.contains_key("curr_items"));
    mc.disconnect_all();
    assert_eq!(
        mc.get::<String>("k1").expect("reconnects").as_deref(),
        Some("v1")
    );
}

#[test]
fn operations_against_mc_server() {
    let server = RunningServer::start(Config::ephemeral()).expect("server");
    exercise(server.local_addr().expect("addr"));
}

#[test]
fn operations_against_memcached() {
    let Some(memcached) = Memcached::start() else {
        return;
    };
    exercise(memcached.addr);
}

#[test]
fn key_prefix_is_added_and_stripped() {
    let server = RunningServer::start(Config::ephemeral()).expect("server");
    let addr = server.local_addr().expect("addr").to_string();
    let prefixed = Client::with_options(
        [addr.as_str()],
        Options {
            key_prefix: "app:".into(),
            ..Options::default()
        },
    )
    .expect("client");
    let plain = Client::new([addr.as_str()]).expect("client");
    prefixed.set("a", "1", 0).expect("set");
    assert_eq!(
        plain.get::<String>("app:a").expect("get").as_deref(),
        Some("1")
    );
    let multi = prefixed.get_multi::<String>(&["a"]).expect("multi");
    assert_eq!(multi.get("a").map(String::as_str), Some("1"));
}

#[test]
fn unix_socket_servers() {
    let dir = std::env::temp_dir().join(format!("mc-client-unix-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("mc.sock");
    let server = RunningServer::start(Config {
        unix_socket: Some(path.clone()),
        ..Config::ephemeral()
    })
    .expect("server");
    let mc = Client::new([format!("unix:{}", path.display())]).expect("client");
    assert!(mc.set("k", "over a unix socket", 0).expect("set"));
    assert_eq!(
        mc.get::<String>("k").expect("get").as_deref(),
        Some("over a unix socket")
    );
    server.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}

/// A multi-key answer far larger than what is kept in place per stretch (256 KiB), with a
/// value larger than that on its own, misses in between and values of every size down to
/// empty: every value comes back byte for byte, and the values kept (as `Bytes`, slices of
/// the read buffers) stay intact after more reads reuse the connection.
#[test]
fn large_multi_key_answers_come_back_whole() {
    let server = RunningServer::start(Config::ephemeral()).expect("server");
    let mc = Client::new([server.local_addr().expect("addr").to_string()]).expect("client");
    let value = |i: usize| -> Vec<u8> {
        let len = match i {
            150 => 700 * 1024,
            _ => (i * 37) % 9000,
        };
        (0..len).map(|j| (i * 31 + j) as u8).collect()
    };
    let keys: Vec<String> = (0..400).map(|i| format!("big:{i}")).collect();
    for (i, key) in keys.iter().enumerate() {
        // Every fifth key is left missing.
        if i % 5 != 3 {
            assert!(mc.set(key, &value(i), 0).expect("set"));
        }
    }
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let first = mc.get_multi::<bytes::Bytes>(&refs).expect("get_multi");
    let second = mc.get_multi::<bytes::Bytes>(&refs).expect("again");
    assert_eq!(first.len(), 320);
    for (i, key) in keys.iter().enumerate() {
        let expected = (i % 5 != 3).then(|| value(i));
        assert_eq!(first.get(key).map(|b| b.to_vec()), expected, "{key}");
        assert_eq!(second.get(key).map(|b| b.to_vec()), expected, "{key}");
    }
}
