#![no_main]
//! A list of operations on a whole server: connections, input, time, call outcomes, shutdown.
libfuzzer_sys::fuzz_target!(|data: &[u8]| rampart_core::fuzz::ops(data, std::time::Instant::now()));
