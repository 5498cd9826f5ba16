//! Replays the committed fuzz corpus (`fuzz/corpus/*`) through the fuzz targets' checks, so every
//! input the fuzzer found interesting is tested on every run, without the fuzzer.

#[path = "../fuzz/oracle.rs"]
mod oracle;

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus directory exists") {
        let path = entry.expect("readable entry").path();
        let data = std::fs::read(&path).expect("readable corpus file");
        check(&data);
        count += 1;
    }
    assert!(count > 0, "{} is empty", dir.display());
    println!("{target}: {count} corpus inputs replayed");
}

#[test]
fn request_corpus_replays_clean() {
    replay("request_decoder", oracle::check_request_stream);
}

#[test]
fn response_corpus_replays_clean() {
    replay("response_decoder", oracle::check_response_stream);
}

#[test]
fn binary_corpus_replays_clean() {
    replay("binary_decoder", oracle::check_binary_stream);
}
