#![no_main]
//! Bytes into one HTTP and one NDJSON connection, cut two ways: the output must not change.
libfuzzer_sys::fuzz_target!(|data: &[u8]| rampart_core::fuzz::split(data, std::time::Instant::now()));
