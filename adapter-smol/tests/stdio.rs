//! `rampart_smol::run_stdio` over real pipes, in a child process of this test binary.

#[path = "../../adapter-tokio/tests/common/stdio.rs"]
mod stdio;

#[test]
fn run_stdio_answers_until_stdin_ends() {
    stdio::check_run_stdio("stdio_server");
}

/// The child's half.
#[test]
#[ignore = "the server run_stdio_answers_until_stdin_ends starts in a child process"]
fn stdio_server() -> std::io::Result<()> {
    if std::env::var_os(stdio::SERVER_ENV).is_none() {
        return Ok(());
    }
    rampart_smol::run_stdio(rampart_core::Config::default(), stdio::echo_registry())
}
