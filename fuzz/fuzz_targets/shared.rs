#![no_main]
//! The shared server driven as an adapter's tasks drive it: reads, writes, spawned calls, time.
libfuzzer_sys::fuzz_target!(|data: &[u8]| rampart_core::fuzz::shared(data, std::time::Instant::now()));
