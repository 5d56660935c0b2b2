#![no_main]
//! One JSON-RPC message through the parser.
libfuzzer_sys::fuzz_target!(|data: &[u8]| rampart_core::fuzz::jsonrpc(data));
