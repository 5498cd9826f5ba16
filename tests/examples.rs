//! Every tutorial example runs against an embedded server and prints the tutorial's results.

use std::path::PathBuf;
use std::process::Command;

/// `cargo test` builds the examples next to the test binaries: target/<profile>/examples.
fn example(name: &str) -> String {
    let exe = std::env::current_exe().expect("test binary path");
    let dir: PathBuf = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target directory")
        .join("examples");
    let output = Command::new(dir.join(name))
        .output()
        .unwrap_or_else(|e| panic!("run example {name}: {e}"));
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{name} failed:\n{text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    text
}

fn expect_lines(name: &str, lines: &[&str]) {
    let out = example(name);
    for line in lines {
        assert!(
            out.lines().any(|l| l == *line),
            "{name}: missing {line:?} in\n{out}"
        );
    }
}

#[test]
fn basic() {
    expect_lines(
        "basic",
        &["set('k1', 'v1') -> true", "get('k1') -> Some(\"v1\")"],
    );
}

#[test]
fn expiry() {
    expect_lines(
        "expiry",
        &[
            "get('k') right away -> Some(\"v\")",
            "get('k') after 2 s -> None",
        ],
    );
}

#[test]
fn add_replace() {
    expect_lines(
        "add_replace",
        &[
            "add('k', 'hello') -> true",
            "add('k', 'world') -> false",
            "get('k') -> Some(\"hello\")",
            "replace('k', 'helloworld') -> true",
            "get('k') -> Some(\"helloworld\")",
            "replace('kk', 'hello') -> false",
        ],
    );
}

#[test]
fn multi() {
    expect_lines(
        "multi",
        &[
            "set_multi(key1, key2) -> failed keys []",
            "delete('key1') -> true",
            "get('key1') -> None",
            "delete_multi(key3, key4) -> true",
            "get_multi(key5, key6) -> [(\"key5\", \"value5\"), (\"key6\", \"value6\")]",
        ],
    );
}

#[test]
fn append_prepend() {
    expect_lines(
        "append_prepend",
        &[
            "get('key5') -> Some(\"value5after\")",
            "get('key5') -> Some(\"beforevalue5after\")",
        ],
    );
}

#[test]
fn incr_decr() {
    expect_lines(
        "incr_decr",
        &[
            "incr('number') -> Some(10)",
            "incr('number', 10) -> Some(20)",
            "decr('number') -> Some(19)",
            "decr('number', 10) -> Some(9)",
        ],
    );
}

#[test]
fn gets_cas() {
    expect_lines(
        "gets_cas",
        &[
            "both wrote; n = Some(100): conn1's write is lost",
            "conn1 cas n 99 -> true",
            "conn2 cas n 100 -> false (refused: n changed since conn2 read it)",
            "get n -> Some(99)",
        ],
    );
}

#[test]
fn multi_node() {
    let out = example("multi_node");
    assert!(
        out.contains("20 of 20 keys placed exactly as python-memcached places them"),
        "{out}"
    );
    assert!(out.contains("buckets (server index per bucket): [0, 0, 0, 0, 1, 1, 1, 2, 3, 3]"));
}

#[test]
fn key_hash() {
    expect_lines("key_hash", &["cmemcache_hash('k') -> 2146"]);
}

#[test]
fn session_store() {
    let out = example("session_store");
    assert!(
        out.contains("load -> Some({\"user\": String(\"ferris\"), \"visits\": Number(1)})"),
        "{out}"
    );
    assert!(out.contains("after removing the session -> None"), "{out}");
    assert!(out.contains("update of a removed session -> None"), "{out}");
}
