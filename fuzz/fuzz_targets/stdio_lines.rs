#![no_main]
//! Bytes into one NDJSON connection, whole and split.
libfuzzer_sys::fuzz_target!(|data: &[u8]| rampart_core::fuzz::stdio_lines(data, std::time::Instant::now()));
