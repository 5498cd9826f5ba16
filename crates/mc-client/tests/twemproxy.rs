//! The client works through twemproxy (`nutcracker`, Debian) in front of several mc-servers.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mc_client::blocking::Client;
use mc_client::{Distribution, Options};
use mc_server::{Config, RunningServer};
use mc_testkit::{missing_peer, which};

/// Stops nutcracker (by PID) when the test ends, however it ends.
struct Proxy(Child);

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

#[test]
fn operations_through_nutcracker() {
    let Some(nutcracker) = which("nutcracker") else {
        missing_peer("nutcracker (apt-get install nutcracker)");
        return;
    };
    let servers: Vec<RunningServer> = (0..3)
        .map(|_| RunningServer::start(Config::ephemeral()).expect("server"))
        .collect();
    let dir = std::env::temp_dir().join(format!("mc-client-twemproxy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let lines: Vec<String> = servers
        .iter()
        .map(|s| format!("{}:1", s.local_addr().expect("addr")))
        .collect();
    let (_proxy, port) = proxy(&nutcracker, &lines, &dir);

    let options = Options {
        cache_cas: true,
        ..Options::default()
    };
    let mc = Client::with_options([format!("127.0.0.1:{port}")], options).expect("client");
    let keys: Vec<String> = (0..60).map(|i| format!("key:{i}")).collect();
    let pairs: Vec<(&str, String)> = keys
        .iter()
        .map(|k| (k.as_str(), format!("v-{k}")))
        .collect();
    assert!(mc.set_multi(&pairs, 0).expect("set_multi").is_empty());
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let got = mc.get_multi::<String>(&refs).expect("get_multi");
    assert_eq!(got.len(), keys.len());
    assert_eq!(got["key:7"], "v-key:7");
    assert!(mc.add("fresh", "1", 0).expect("add"));
    assert!(!mc.add("fresh", "2", 0).expect("add again"));
    assert!(mc.replace("fresh", "3", 0).expect("replace"));
    assert!(mc.append("fresh", "4").expect("append"));
    assert!(mc.prepend("fresh", "2").expect("prepend"));
    assert_eq!(
        mc.get::<String>("fresh").expect("get").as_deref(),
        Some("234")
    );
    assert_eq!(mc.incr("fresh", 6).expect("incr"), Some(240));
    assert_eq!(mc.decr("fresh", 40).expect("decr"), Some(200));
    assert_eq!(mc.gets::<i64>("fresh").expect("gets"), Some(200));
    assert!(mc.cas("fresh", &201i64, 0).expect("cas"));
    assert!(!mc.cas("fresh", &202i64, 0).expect("stale cas"));
    assert!(mc.touch("fresh", 100).expect("touch"));
    assert!(mc.delete("fresh").expect("delete"));
    assert_eq!(mc.get::<String>("fresh").expect("get"), None);
    // The proxy spread the keys over every server.
    let held: Vec<usize> = servers
        .iter()
        .map(|server| {
            let direct =
                Client::new([server.local_addr().expect("addr").to_string()]).expect("client");
            direct
                .get_multi::<String>(&refs)
                .expect("direct get_multi")
                .len()
        })
        .collect();
    assert_eq!(held.iter().sum::<usize>(), keys.len(), "{held:?}");
    assert!(
        held.iter().all(|&n| n > 0),
        "a server got no keys: {held:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Start nutcracker in front of `servers` (twemproxy server lines, `host:port:weight [name]`)
/// with md5 ketama; returns it and its port.
fn proxy(nutcracker: &std::path::Path, servers: &[String], dir: &std::path::Path) -> (Proxy, u16) {
    let (port, stats_port) = (free_port(), free_port());
    let mut config = format!(
        "pool:\n  listen: 127.0.0.1:{port}\n  hash: md5\n  distribution: ketama\n  timeout: 2000\n  redis: false\n  servers:\n"
    );
    for line in servers {
        config.push_str(&format!("   - {line}\n"));
    }
    let conf = dir.join(format!("nutcracker-{port}.yml"));
    std::fs::write(&conf, config).expect("config");
    let child = Command::new(nutcracker)
        .arg("-c")
        .arg(&conf)
        .args(["-s", &stats_port.to_string(), "-a", "127.0.0.1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start nutcracker");
    let proxy = Proxy(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nutcracker did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    (proxy, port)
}

#[test]
fn ketama_places_every_key_where_twemproxy_does() {
    let Some(nutcracker) = which("nutcracker") else {
        missing_peer("nutcracker (apt-get install nutcracker)");
        return;
    };
    let dir = std::env::temp_dir().join(format!("mc-client-ketama-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    // Named servers (twemproxy hashes `name-i`), seven equal ones (where double-precision
    // point counts go wrong), and weights.
    type ServerLine = dyn Fn(usize, std::net::SocketAddr) -> String;
    let pools: [(&str, usize, &ServerLine); 3] = [
        ("named", 3, &|i, addr| format!("{addr}:1 cache-{i}")),
        ("seven", 7, &|_, addr| format!("{addr}:1")),
        ("weighted-named", 4, &|i, addr| {
            format!("{addr}:{} node{i}", [4, 3, 1, 2][i])
        }),
    ];
    for (pool, count, line) in pools {
        let servers: Vec<RunningServer> = (0..count)
            .map(|_| RunningServer::start(Config::ephemeral()).expect("server"))
            .collect();
        let lines: Vec<String> = servers
            .iter()
            .enumerate()
            .map(|(i, s)| line(i, s.local_addr().expect("addr")))
            .collect();
        let (_proxy, port) = proxy(&nutcracker, &lines, &dir);
        let through_proxy = Client::new([format!("127.0.0.1:{port}")]).expect("client");
        let keys: Vec<String> = (0..400).map(|i| format!("{pool}:{i}")).collect();
        let pairs: Vec<(&str, String)> = keys.iter().map(|k| (k.as_str(), k.clone())).collect();
        assert!(through_proxy
            .set_multi(&pairs, 0)
            .expect("set_multi")
            .is_empty());
        // Each key now lives on the one server twemproxy chose: a direct client finds every
        // key only if it chooses the same server for each.
        let direct = Client::with_options(
            lines.clone(),
            Options {
                distribution: Distribution::Ketama,
                ..Options::default()
            },
        )
        .expect("client");
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let found = direct.get_multi::<String>(&refs).expect("get_multi");
        assert_eq!(
            found.len(),
            keys.len(),
            "{pool}: {} of {} keys found",
            found.len(),
            keys.len()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
