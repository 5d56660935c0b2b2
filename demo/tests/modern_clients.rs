//! Drives the demo with real clients of the MCP 2026-07-28 revision (stateless, `server/discover`,
//! per-request `_meta`, `input_required` round trips), while a 2025-era session stays open.
//!
//! - `clients/ts/modern_http.mjs` and `clients/ts/modern_stdio.mjs`: the TypeScript SDK v2 client
//!   (`@modelcontextprotocol/client`, `versionNegotiation: { mode: 'auto' }`) must settle on
//!   2026-07-28, list tools, call `echo` and `user.create@v1`, read `demo://guide`, get the
//!   `user.welcome@v1` prompt, and answer the elicitation of `test_elicitation`, which arrives as
//!   an `input_required` result and is retried with `inputResponses`.
//! - `clients/py/modern.py`: the Python `mcp` client in its default (auto) mode must settle on
//!   2026-07-28, list tools, call tools and answer the same elicitation.
//! - `clients/ts/legacy_session.mjs`: the TypeScript SDK 1.x client opens a 2025-era session on the
//!   same server before the modern clients start, keeps calling a tool on it while they run, and
//!   checks afterwards that the session still works.
//!
//! Every client prints one JSON summary line last. Their dependencies are installed by
//! `bash scripts/test.sh`; a missing install fails these tests, it is never a reason to skip them.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{
    DemoServer, Outcome, SETUP_HINT, client_python, read_in_background, run_with_deadline, wait_or_kill,
    workspace_root,
};

/// For one modern client run (each also bounds itself, at 45 s).
const DEADLINE: Duration = Duration::from_secs(60);

/// For the legacy session to say it is ready, and, once released, to finish.
const LEGACY_STEP_DEADLINE: Duration = Duration::from_secs(30);

const MODERN_VERSION: &str = "2026-07-28";

fn demo_bin() -> &'static str {
    env!("CARGO_BIN_EXE_rampart-demo")
}

/// Panics with [`SETUP_HINT`] unless the TypeScript SDK v2 client is installed in `clients/`.
fn assert_sdk_v2_installed(root: &Path) {
    let sdk = root.join("clients/node_modules/@modelcontextprotocol/client/package.json");
    assert!(
        sdk.is_file(),
        "FAIL: the TypeScript MCP SDK v2 client is not installed ({} is missing); {SETUP_HINT}",
        sdk.display()
    );
}

/// The JSON summary a client printed as its last stdout line.
fn summary_of(what: &str, outcome: &Outcome) -> Value {
    let line = outcome
        .stdout
        .lines()
        .rev()
        .find(|line| line.starts_with('{'))
        .unwrap_or_else(|| panic!("{what} printed no JSON summary line:\n{}", outcome.stdout));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{what}: summary line is not JSON ({e}): {line}"))
}

/// Why a client run under `deadline` did not pass (`None` when it did: it exited 0 and its JSON
/// summary says `"ok": true`, with `protocolVersion` 2026-07-28 when `modern`, or another one when
/// not). Prints the per-check lines of a run that passed.
fn failure_of(what: &str, outcome: &Outcome, deadline: Duration, modern: bool) -> Option<String> {
    let verdict = match outcome.status {
        Some(status) if status.success() => {
            let summary = summary_of(what, outcome);
            let settled = summary["protocolVersion"].as_str() == Some(MODERN_VERSION);
            if summary["ok"] == Value::Bool(true) && settled == modern {
                print!("{}", outcome.stdout);
                return None;
            }
            format!("exited 0 but its summary is wrong: {summary}")
        }
        Some(status) => format!("exited with {status}"),
        None => format!("was killed after the {}s deadline", deadline.as_secs()),
    };
    let mut hint = String::new();
    if outcome.stderr.contains("ERR_MODULE_NOT_FOUND")
        || outcome.stderr.contains("Cannot find package")
        || outcome.stderr.contains("ModuleNotFoundError")
    {
        hint = format!("\nhint: the client's dependencies look missing; {SETUP_HINT}");
    }
    Some(format!(
        "{what} {verdict} after {:.1}s{hint}\n--- client stdout ---\n{}\n--- client stderr ---\n{}",
        outcome.elapsed.as_secs_f64(),
        outcome.stdout,
        outcome.stderr,
    ))
}

/// Panics with every failure in `failures` (and `trailer`, such as the server's log tail), if any.
fn assert_all_passed(failures: Vec<Option<String>>, trailer: &str) {
    let failures: Vec<String> = failures.into_iter().flatten().collect();
    assert!(
        failures.is_empty(),
        "{} of the clients failed:\n\n{}\n\n{trailer}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// `clients/ts/legacy_session.mjs`, started and waiting to be released.
struct LegacySession {
    child: Child,
    lines: mpsc::Receiver<String>,
    stdout: Vec<String>,
    stderr: Option<thread::JoinHandle<Vec<u8>>>,
    started: Instant,
}

impl LegacySession {
    /// Starts the legacy client against `url` and returns once it printed `READY <session>`.
    fn open(root: &Path, url: &str, server: &DemoServer) -> Self {
        let mut child = Command::new("node")
            .args(["clients/ts/legacy_session.mjs", url])
            .current_dir(root)
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start node: {e}; {SETUP_HINT}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Some(read_in_background(child.stderr.take().expect("piped stderr")));
        let mut session = Self {
            child,
            lines,
            stdout: Vec::new(),
            stderr,
            started: Instant::now(),
        };
        let deadline = Instant::now() + LEGACY_STEP_DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match session.lines.recv_timeout(left) {
                Ok(line) => {
                    let ready = line.starts_with("READY ");
                    session.stdout.push(line);
                    if ready {
                        return session;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    session.fail_early(server, "did not print READY within the deadline")
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => session.fail_early(server, "ended before READY"),
            }
        }
    }

    fn fail_early(mut self, server: &DemoServer, why: &str) -> ! {
        let outcome = self.finish(Instant::now());
        panic!(
            "the legacy TypeScript SDK 1.x session {why}\n--- client stdout ---\n{}\n--- client stderr ---\n{}\n{}",
            outcome.stdout,
            outcome.stderr,
            server.logs_tail(60)
        );
    }

    /// Releases the client (a line on its stdin) and waits for it to finish.
    fn release(mut self) -> Outcome {
        if let Some(mut stdin) = self.child.stdin.take() {
            // It may have failed and exited already; its output says why.
            let _ = stdin.write_all(b"go\n");
        }
        self.finish(Instant::now() + LEGACY_STEP_DEADLINE)
    }

    fn finish(&mut self, deadline: Instant) -> Outcome {
        let status = wait_or_kill(&mut self.child, deadline);
        // The reader ends with the pipe; the group kill above closed it for a killed client.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.stdout.push(line);
        }
        let stderr = self
            .stderr
            .take()
            .map(|h| h.join().expect("stderr reader"))
            .unwrap_or_default();
        let mut stdout = self.stdout.join("\n");
        stdout.push('\n');
        Outcome {
            status,
            stdout,
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            elapsed: self.started.elapsed(),
        }
    }
}

/// One demo on `runtime`: a legacy session opens, the TypeScript v2 and Python clients run at the
/// same time on the 2026-07-28 revision, then the legacy session checks it still works.
fn modern_and_legacy_clients_share_the_server(runtime: &str) {
    let root = workspace_root();
    assert_sdk_v2_installed(&root);
    let python = client_python(&root);
    let server = DemoServer::start(runtime, &[("RATE_LIMIT", "100000")]);
    let url = server.mcp_url();

    let legacy = LegacySession::open(&root, &url, &server);

    let (ts, py) = thread::scope(|scope| {
        let ts = scope.spawn(|| {
            run_with_deadline(
                Path::new("node"),
                &["clients/ts/modern_http.mjs", &url],
                &root,
                DEADLINE,
            )
        });
        let py = scope.spawn(|| run_with_deadline(&python, &["clients/py/modern.py", &url], &root, DEADLINE));
        (
            ts.join().expect("TypeScript client thread"),
            py.join().expect("Python client thread"),
        )
    });
    let legacy = legacy.release();

    assert_all_passed(
        vec![
            failure_of(
                &format!("the TypeScript SDK v2 client against {url} ({runtime})"),
                &ts,
                DEADLINE,
                true,
            ),
            failure_of(
                &format!("the Python SDK client against {url} ({runtime})"),
                &py,
                DEADLINE,
                true,
            ),
            failure_of(
                &format!("the legacy TypeScript SDK 1.x session against {url} ({runtime}), open meanwhile"),
                &legacy,
                LEGACY_STEP_DEADLINE,
                false,
            ),
        ],
        &server.logs_tail(80),
    );
}

#[test]
fn modern_and_legacy_clients_over_http_tokio() {
    modern_and_legacy_clients_share_the_server("tokio");
}

#[test]
fn modern_and_legacy_clients_over_http_smol() {
    modern_and_legacy_clients_share_the_server("smol");
}

#[test]
fn typescript_sdk_v2_client_over_stdio() {
    let root = workspace_root();
    assert_sdk_v2_installed(&root);
    let outcome = run_with_deadline(
        Path::new("node"),
        &["clients/ts/modern_stdio.mjs", demo_bin()],
        &root,
        DEADLINE,
    );
    let what = "the TypeScript SDK v2 client over stdio";
    assert_all_passed(vec![failure_of(what, &outcome, DEADLINE, true)], "--- end ---");
}
