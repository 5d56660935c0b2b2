//! Drives the demo server over Streamable HTTP with the official MCP SDK clients
//! (TypeScript `StreamableHTTPClientTransport`, Python `mcp` streamable HTTP client), on both
//! runtimes. Beyond what the stdio clients check (see `clients.rs`), they check the session
//! id, that the session's GET stream (where notifications/resources/updated rides) opens,
//! `DELETE` and the 404 that follows it.
//!
//! The client scripts live in `clients/`; their dependencies are installed by
//! `bash scripts/test.sh`. A missing install fails these tests: it is never a reason to
//! skip them.

mod support;

use std::path::Path;
use std::time::Duration;

use support::{
    DemoServer, assert_client_passed, assert_typescript_sdk_installed, client_python, run_with_deadline,
    workspace_root,
};

const DEADLINE: Duration = Duration::from_secs(60);

fn typescript_client(runtime: &str) {
    assert_typescript_sdk_installed(&workspace_root());
    run_client(
        "the TypeScript SDK client",
        runtime,
        Path::new("node"),
        "clients/ts/http_client.mjs",
    );
}

fn python_client(runtime: &str) {
    let python = client_python(&workspace_root());
    run_client(
        "the Python SDK client",
        runtime,
        &python,
        "clients/py/http_client.py",
    );
}

/// Runs `program script <url>` against a fresh demo on `runtime` and asserts that it passed.
fn run_client(what: &str, runtime: &str, program: &Path, script: &str) {
    let root = workspace_root();
    let server = DemoServer::start(runtime, &[]);
    let url = server.mcp_url();
    let outcome = run_with_deadline(program, &[script, &url], &root, DEADLINE);
    assert_client_passed(
        &format!("{what} against {url} ({})", server.runtime),
        &outcome,
        DEADLINE,
        &server.logs_tail(60),
    );
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
