//! Drives the demo server with the official MCP SDK clients (TypeScript and Python).
//!
//! The client scripts live in `clients/`; their dependencies are installed by
//! `bash scripts/test.sh` (npm packages in `clients/node_modules`, a Python
//! virtualenv in `clients/.venv`). A missing install fails these tests: it is
//! never a reason to skip them.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(60);
const SETUP_HINT: &str = "run `bash scripts/test.sh` from the repository root to install the test clients";

fn workspace_root() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .canonicalize()
        .expect("workspace root exists")
}

fn demo_bin() -> &'static str {
    env!("CARGO_BIN_EXE_rampart-demo")
}

struct Outcome {
    status: Option<ExitStatus>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

/// Runs `program args...` in `cwd`, killing it once `DEADLINE` has passed.
fn run_with_deadline(program: &Path, args: &[&str], cwd: &Path) -> Outcome {
    let started = Instant::now();
    let mut child = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}; {SETUP_HINT}", program.display()));

    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let out_reader = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out.read_to_end(&mut buf);
        buf
    });
    let err_reader = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err.read_to_end(&mut buf);
        buf
    });

    let status = loop {
        match child.try_wait().expect("waiting for the client") {
            Some(status) => break Some(status),
            None if started.elapsed() >= DEADLINE => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            None => thread::sleep(Duration::from_millis(20)),
        }
    };
    // The client gives its server fresh pipes, so these end as soon as the client is gone.
    let stdout = String::from_utf8_lossy(&out_reader.join().expect("stdout reader")).into_owned();
    let stderr = String::from_utf8_lossy(&err_reader.join().expect("stderr reader")).into_owned();
    Outcome {
        status,
        stdout,
        stderr,
        elapsed: started.elapsed(),
    }
}

fn assert_client_passed(what: &str, outcome: &Outcome) {
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
        "{what} {verdict} after {:.1}s{hint}\n--- client stdout ---\n{}\n--- client stderr ---\n{}\n--- end ---",
        outcome.elapsed.as_secs_f64(),
        outcome.stdout,
        outcome.stderr,
    );
}

#[test]
fn typescript_sdk_client_over_stdio() {
    let root = workspace_root();
    let sdk = root.join("clients/node_modules/@modelcontextprotocol/sdk/package.json");
    assert!(
        sdk.is_file(),
        "the TypeScript MCP SDK is not installed ({} is missing); {SETUP_HINT}",
        sdk.display()
    );
    let outcome = run_with_deadline(
        Path::new("node"),
        &["clients/ts/stdio_client.mjs", demo_bin()],
        &root,
    );
    assert_client_passed("the TypeScript SDK client", &outcome);
}

#[test]
fn python_mcp_client_over_stdio() {
    let root = workspace_root();
    let python = root.join("clients/.venv/bin/python");
    assert!(
        python.is_file(),
        "the Python virtualenv is not set up ({} is missing); {SETUP_HINT}",
        python.display()
    );
    let outcome = run_with_deadline(&python, &["clients/py/stdio_client.py", demo_bin()], &root);
    assert_client_passed("the Python SDK client", &outcome);
}
