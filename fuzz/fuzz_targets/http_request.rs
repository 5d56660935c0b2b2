#![no_main]
//! Bytes into one HTTP connection, in chunks, then end of input and every deadline.
libfuzzer_sys::fuzz_target!(|data: &[u8]| rampart_core::fuzz::http_request(data, std::time::Instant::now()));
