//! Replays the committed corpus of the whole-connection fuzz target (`fuzz/corpus/connection`)
//! through the same checks, on every test run.

#[path = "../fuzz/oracle.rs"]
mod oracle;

#[test]
fn connection_corpus_replays_clean() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/connection");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus directory") {
        let data = std::fs::read(entry.expect("entry").path()).expect("corpus file");
        oracle::check_connection(&data);
        count += 1;
    }
    assert!(count > 0, "{} is empty", dir.display());
    println!("{count} connection inputs replayed");
}
