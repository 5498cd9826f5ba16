//! Arbitrary bytes into the binary request decoder; the properties are in `oracle.rs`.
#![no_main]

#[path = "../oracle.rs"]
mod oracle;

libfuzzer_sys::fuzz_target!(|data: &[u8]| oracle::check_binary_stream(data));
