//! The whole-connection fuzz check, shared with the test that replays the corpus
//! (`tests/fuzz_corpus.rs`): arbitrary bytes, split into reads, go through a real connection's
//! decode → execute → answer path against a real store. No panic, and nothing grows without
//! bound: bytes held back stay under the request limits, items under what memory allows.

use mc_server::harness::Harness;
use mc_server::storage::StoreConfig;
use mc_server::Config;

/// Check one input: the first byte sets the read size, the rest is the byte stream.
pub fn check_connection(data: &[u8]) {
    let Some((&chunk, stream)) = data.split_first() else {
        return;
    };
    let config = Config {
        store: StoreConfig {
            max_bytes: 2 * 1024 * 1024,
            max_item_size: 64 * 1024,
            evict: true,
        },
        ..Config::ephemeral()
    };
    let mut conn = Harness::new(config);
    let chunk = usize::from(chunk).max(1);
    for piece in stream.chunks(chunk) {
        let _answer = conn.feed(piece);
        // A pending request line or data block never exceeds the largest item or get line.
        assert!(conn.buffered() <= 4 * 1024 * 1024 + 64 * 1024 + 2);
        if conn.is_closed() {
            break;
        }
    }
    // 2 MiB of 48-byte chunks at most.
    assert!(conn.items() <= 2 * 1024 * 1024 / 48);
}
