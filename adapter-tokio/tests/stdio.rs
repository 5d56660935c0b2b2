//! `rampart_tokio::run_stdio` over real pipes, in a child process of this test binary.

#[path = "common/stdio.rs"]
mod stdio;

#[test]
fn run_stdio_answers_until_stdin_ends() {
    stdio::check_run_stdio("stdio_server");
}

/// The child's half. A current-thread runtime: the tool calls run only if `run_stdio` leaves
/// its one thread free.
#[tokio::test]
#[ignore = "the server run_stdio_answers_until_stdin_ends starts in a child process"]
async fn stdio_server() -> std::io::Result<()> {
    if std::env::var_os(stdio::SERVER_ENV).is_none() {
        return Ok(());
    }
    rampart_tokio::run_stdio(rampart_core::Config::default(), stdio::echo_registry()).await
}
