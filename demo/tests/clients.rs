//! Drives the demo server with the official MCP SDK clients (TypeScript and Python).
//!
//! Each client checks tools and their error codes, resources and templates, a subscription
//! to `demo://counter`, prompts, completion, sampling and elicitation answered by the client,
//! and progress (`clients/{ts,py}/features.*` and `client_side.*`).
//!
//! The client scripts live in `clients/`; their dependencies are installed by
//! `bash scripts/test.sh` (npm packages in `clients/node_modules`, a Python
//! virtualenv in `clients/.venv`). A missing install fails these tests: it is
//! never a reason to skip them.

mod support;

use std::path::Path;
use std::time::Duration;

use support::{
    assert_client_passed, assert_typescript_sdk_installed, client_python, run_with_deadline, workspace_root,
};

const DEADLINE: Duration = Duration::from_secs(60);

fn demo_bin() -> &'static str {
    env!("CARGO_BIN_EXE_rampart-demo")
}

#[test]
fn typescript_sdk_client_over_stdio() {
    let root = workspace_root();
    assert_typescript_sdk_installed(&root);
    let outcome = run_with_deadline(
        Path::new("node"),
        &["clients/ts/stdio_client.mjs", demo_bin()],
        &root,
        DEADLINE,
    );
    assert_client_passed("the TypeScript SDK client", &outcome, DEADLINE, "--- end ---");
}

#[test]
fn python_mcp_client_over_stdio() {
    let root = workspace_root();
    let python = client_python(&root);
    let outcome = run_with_deadline(
        &python,
        &["clients/py/stdio_client.py", demo_bin()],
        &root,
        DEADLINE,
    );
    assert_client_passed("the Python SDK client", &outcome, DEADLINE, "--- end ---");
}
