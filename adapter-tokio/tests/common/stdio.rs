//! The expectation both adapters' `run_stdio` is tested against over real pipes: the test
//! binary starts itself again, running only its ignored server test (which calls `run_stdio`
//! when [`SERVER_ENV`] is set), writes `initialize` and two `tools/call`s on the child's stdin
//! and closes it. All three are answered on the child's stdout, and the child then exits 0: `run_stdio` returned
//! `Ok` once stdin ended.
//!
//! libtest writes lines of its own (`running 1 test`, ...) on the same stdout, so only the
//! lines that are JSON objects are read as answers.

use std::env;
use std::io::{Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use rampart_core::{Registry, Tool, ToolOutput};
use serde_json::{Value, json};

/// The variable that tells the server test it runs in the child, with pipes on stdin/stdout.
pub const SERVER_ENV: &str = "RAMPART_STDIO_TEST_SERVER";

const DEADLINE: Duration = Duration::from_secs(10);

const REQUESTS: &str = concat!(
    r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","#,
    r#""capabilities":{},"clientInfo":{"name":"test","version":"0"}}}"#,
    "\n",
    r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
    "\n",
    r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}"#,
    "\n",
    r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"there"}}}"#,
    "\n",
);

/// Runs the test named `server_test` of this binary in a child process over pipes and checks
/// its answers and its exit.
pub fn check_run_stdio(server_test: &str) {
    let mut child = Command::new(env::current_exe().unwrap())
        .args([server_test, "--exact", "--ignored", "--nocapture"])
        .env(SERVER_ENV, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(REQUESTS.as_bytes()).unwrap();
    drop(stdin);
    let stdout = read_to_end(child.stdout.take().unwrap());
    let stderr = read_to_end(child.stderr.take().unwrap());
    let status = wait_until(&mut child, Instant::now() + DEADLINE);
    let stdout = String::from_utf8_lossy(&stdout.join().unwrap()).into_owned();
    let stderr = String::from_utf8_lossy(&stderr.join().unwrap()).into_owned();
    let report = format!("--- stdout ---\n{stdout}--- stderr ---\n{stderr}");

    let status = status.unwrap_or_else(|| panic!("run_stdio did not return after stdin ended\n{report}"));
    assert!(status.success(), "the server exited with {status}\n{report}");
    let answers: Vec<Value> = stdout
        .lines()
        .filter(|line| line.starts_with('{'))
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let answer = |id: u64| {
        let found = answers.iter().find(|answer| answer["id"] == id);
        found.unwrap_or_else(|| panic!("no answer with id {id}\n{report}"))
    };
    assert!(answer(0)["result"]["serverInfo"].is_object(), "{report}");
    assert_eq!(answer(1)["result"]["content"][0]["text"], "hi", "{report}");
    assert_eq!(answer(2)["result"]["content"][0]["text"], "there", "{report}");
    assert_eq!(answers.len(), 3, "{report}");
}

/// A registry with one tool, `echo`, that answers with its `text` argument.
pub fn echo_registry() -> Registry {
    Registry::new()
        .tool(Tool::new(
            "echo",
            json!({"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}),
            |args, _ctx| async move { Ok(ToolOutput::text(args["text"].as_str().unwrap_or_default())) },
        ))
        .unwrap()
}

fn read_to_end(mut pipe: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

/// Waits for `child` to exit; kills it at `deadline` and returns `None`.
fn wait_until(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        thread::sleep(Duration::from_millis(20));
    }
}
