//! `rampart_tokio::run` on a real socket on 127.0.0.1: it answers, and SIGTERM stops it.
//!
//! Alone in its binary: the test signals its own process.

#[path = "common/one_call.rs"]
mod one_call;

#[test]
fn run_serves_until_sigterm() {
    one_call::check_run(|config, registry| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?
            .block_on(rampart_tokio::run(config, registry))
    });
}
