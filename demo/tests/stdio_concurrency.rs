//! The demo over real stdio pipes: calls run concurrently and answer out of order, a call
//! past its deadline gets E_TIMEOUT, and at end of input every accepted request is answered
//! before the process exits 0. Run on both runtimes the demo offers.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use serde_json::{Value, json};

const DEADLINE: Duration = Duration::from_secs(60);

/// Runs the demo with `lines` on stdin (then EOF) and returns its stdout messages in order
/// and its exit status.
fn run_demo(runtime: &str, env: &[(&str, &str)], lines: &[Value]) -> (Vec<Value>, bool) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rampart-demo"))
        .args(["--transport", "stdio", "--runtime", runtime])
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start rampart-demo");
    let mut stdin = child.stdin.take().unwrap();
    for line in lines {
        writeln!(stdin, "{line}").unwrap();
    }
    drop(stdin);
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let messages: Vec<Value> = BufReader::new(stdout)
            .lines()
            .map(|line| serde_json::from_str(&line.unwrap()).expect("stdout carries only JSON"))
            .collect();
        let _ = tx.send(messages);
    });
    let Ok(messages) = rx.recv_timeout(DEADLINE) else {
        let _ = child.kill();
        panic!("rampart-demo did not finish within {DEADLINE:?}");
    };
    let status = child.wait().unwrap();
    (messages, status.success())
}

fn init() -> Value {
    json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}})
}

fn call(id: i64, name: &str, arguments: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": name, "arguments": arguments}})
}

fn responses(messages: &[Value]) -> Vec<&Value> {
    messages.iter().filter(|m| m.get("id").is_some()).collect()
}

fn concurrent_calls_answer_out_of_order_and_none_is_lost(runtime: &str) {
    let mut lines = vec![
        init(),
        call(1, "sleep", json!({"ms": 400})),
        call(2, "echo", json!({"text": "fast"})),
    ];
    for id in 3..53 {
        lines.push(call(id, "add", json!({"a": id, "b": 1})));
    }
    let (messages, ok) = run_demo(runtime, &[], &lines);
    assert!(ok, "exit 0 after EOF");
    let responses = responses(&messages);
    assert_eq!(responses.len(), 53, "every request answered: {responses:?}");
    let position = |id: i64| responses.iter().position(|r| r["id"] == id).unwrap();
    assert!(position(2) < position(1), "echo overtook the sleeping call");
    assert_eq!(
        responses[position(1)]["result"]["content"][0]["text"],
        "slept 400 ms"
    );
    for id in 3..53 {
        assert_eq!(
            responses[position(id)]["result"]["structuredContent"]["sum"],
            id + 1
        );
    }
}

fn a_slow_call_times_out_and_the_rest_go_on(runtime: &str) {
    let lines = [
        init(),
        call(1, "sleep", json!({"ms": 60_000})),
        call(2, "panic", json!({})),
        call(3, "echo", json!({"text": "after"})),
    ];
    let (messages, ok) = run_demo(runtime, &[("TOOL_TIMEOUT_MS", "300")], &lines);
    assert!(ok);
    let responses = responses(&messages);
    let by_id = |id: i64| *responses.iter().find(|r| r["id"] == id).unwrap();
    assert_eq!(by_id(1)["error"]["code"], -32004);
    assert_eq!(by_id(2)["error"]["code"], -32003);
    assert_eq!(by_id(3)["result"]["content"][0]["text"], "after");
}

#[test]
fn tokio_concurrent_calls_answer_out_of_order_and_none_is_lost() {
    concurrent_calls_answer_out_of_order_and_none_is_lost("tokio");
}

#[test]
fn smol_concurrent_calls_answer_out_of_order_and_none_is_lost() {
    concurrent_calls_answer_out_of_order_and_none_is_lost("smol");
}

#[test]
fn tokio_a_slow_call_times_out_and_the_rest_go_on() {
    a_slow_call_times_out_and_the_rest_go_on("tokio");
}

#[test]
fn smol_a_slow_call_times_out_and_the_rest_go_on() {
    a_slow_call_times_out_and_the_rest_go_on("smol");
}

#[test]
fn a_bad_setting_stops_the_demo_with_a_clear_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_rampart-demo"))
        .args(["--transport", "stdio"])
        .env("TOOL_TIMEOUT_MS", "soon")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    let err: Value = serde_json::from_slice(&output.stderr).expect("the error is a JSON line");
    assert!(err["message"].as_str().unwrap().contains("TOOL_TIMEOUT_MS"));
}
