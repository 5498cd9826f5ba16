//! The whole-connection fuzz check, shared with the test that replays the corpus
//! (`tests/fuzz_corpus.rs`): arbitrary bytes, split into reads, go through a real connection's
//! decode → execute → answer path against a real store (the executor a TCP connection runs).
//! No panic, and nothing grows without bound: bytes held back stay under the request limits,
//! the answer buffered before a write stays under the write budget plus one item (or one
//! slice of metadump lines), items under what memory allows.

use mc_server::harness::{Harness, SLICE_STEPS, WRITE_BUDGET};
use mc_server::storage::StoreConfig;
use mc_server::Config;

/// Check one input: the first byte sets the read size, the rest is the byte stream.
pub fn check_connection(data: &[u8]) {
    let Some((&chunk, stream)) = data.split_first() else {
        return;
    };
    const MAX_ITEM: usize = 64 * 1024;
    let config = Config {
        store: StoreConfig {
            max_bytes: 2 * 1024 * 1024,
            max_item_size: MAX_ITEM,
            evict: true,
            ..StoreConfig::default()
        },
        ..Config::ephemeral()
    };
    let mut conn = Harness::new(config);
    let chunk = usize::from(chunk).max(1);
    for piece in stream.chunks(chunk) {
        let _answer = conn.feed(piece);
        // A pending request line or data block never exceeds the largest item or get line.
        assert!(conn.buffered() <= 4 * 1024 * 1024 + MAX_ITEM + 2);
        // One request answers in bounded pieces, however much it asks for. (A metadump line
        // is at most 3 x 250 bytes of encoded key and 100 of fields.)
        let piece = (MAX_ITEM + 512).max(SLICE_STEPS * 850);
        assert!(conn.largest_write() <= WRITE_BUDGET + piece);
        if conn.is_closed() {
            break;
        }
    }
    // 2 MiB of 48-byte chunks at most.
    assert!(conn.items() <= 2 * 1024 * 1024 / 48);
}
