//! `rampart_smol::run` on a real socket on 127.0.0.1: it answers, and SIGTERM stops it.
//!
//! Alone in its binary: the test signals its own process.

#[path = "../../adapter-tokio/tests/common/one_call.rs"]
mod one_call;

#[test]
fn run_serves_until_sigterm() {
    one_call::check_run(rampart_smol::run);
}
