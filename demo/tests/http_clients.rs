//! Drives the demo server over Streamable HTTP with the official MCP SDK clients
//! (TypeScript `StreamableHTTPClientTransport`, Python `mcp` streamable HTTP client), on both
//! runtimes.
//!
//! The client scripts live in `clients/`; their dependencies are installed by
//! `bash scripts/test.sh`. A missing install fails these tests: it is never a reason to
//! skip them.

mod support;

use std::path::Path;
use std::time::Duration;

use support::{DemoServer, Outcome, SETUP_HINT, run_with_deadline, workspace_root};

const DEADLINE: Duration = Duration::from_secs(60);

fn assert_client_passed(what: &str, outcome: &Outcome, server: &DemoServer) {
    let verdict = match outcome.status {
        Some(status) if status.success() => {
            // Show the per-check lines (visible with --nocapture / on nextest failure output).
            print!("{}", outcome.stdout);
            return;
        }
        Some(status) => format!("exited with {status}"),
        None => format!("was killed after the {}s deadline", DEADLINE.as_secs()),
    };
    let mut hint = String::new();
    if outcome.stderr.contains("ModuleNotFoundError")
        || outcome.stderr.contains("ERR_MODULE_NOT_FOUND")
        || outcome.stderr.contains("Cannot find package")
    {
        hint = format!("\nhint: the client's dependencies look missing; {SETUP_HINT}");
    }
    panic!(
        "{what} against {} ({}) {verdict} after {:.1}s{hint}\n--- client stdout ---\n{}\n\
         --- client stderr ---\n{}\n{}",
        server.mcp_url(),
        server.runtime,
        outcome.elapsed.as_secs_f64(),
        outcome.stdout,
        outcome.stderr,
        server.logs_tail(60),
    );
}

fn typescript_client(runtime: &str) {
    let root = workspace_root();
    let sdk = root.join("clients/node_modules/@modelcontextprotocol/sdk/package.json");
    assert!(
        sdk.is_file(),
        "FAIL: the TypeScript MCP SDK is not installed ({} is missing); {SETUP_HINT}",
        sdk.display()
    );
    let server = DemoServer::start(runtime, &[]);
    let url = server.mcp_url();
    let outcome = run_with_deadline(
        Path::new("node"),
        &["clients/ts/http_client.mjs", &url],
        &root,
        DEADLINE,
    );
    assert_client_passed("the TypeScript SDK client", &outcome, &server);
}

fn python_client(runtime: &str) {
    let root = workspace_root();
    let python = root.join("clients/.venv/bin/python");
    assert!(
        python.is_file(),
        "FAIL: the Python virtualenv is not set up ({} is missing); {SETUP_HINT}",
        python.display()
    );
    let server = DemoServer::start(runtime, &[]);
    let url = server.mcp_url();
    let outcome = run_with_deadline(&python, &["clients/py/http_client.py", &url], &root, DEADLINE);
    assert_client_passed("the Python SDK client", &outcome, &server);
}

#[test]
fn typescript_sdk_client_over_http_tokio() {
    typescript_client("tokio");
}

#[test]
fn typescript_sdk_client_over_http_smol() {
    typescript_client("smol");
}

#[test]
fn python_mcp_client_over_http_tokio() {
    python_client("tokio");
}

#[test]
fn python_mcp_client_over_http_smol() {
    python_client("smol");
}
