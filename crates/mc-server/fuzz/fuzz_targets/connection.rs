//! Arbitrary bytes through a whole server connection; the checks are in `oracle.rs`.
#![no_main]

#[path = "../oracle.rs"]
mod oracle;

libfuzzer_sys::fuzz_target!(|data: &[u8]| oracle::check_connection(data));
