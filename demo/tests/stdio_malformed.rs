//! Feeds the demo server malformed input over real stdio pipes and checks that it
//! answers every line the JSON-RPC 2.0 way, never prints anything but JSON-RPC
//! messages on stdout, keeps serving after each bad line, and exits cleanly on EOF.

mod support;

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ChildStdin;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{read_in_background, start_stdio_demo, wait_or_kill};

const DEADLINE: Duration = Duration::from_secs(60);
/// The stdio adapter's default cap on one line is 4 MiB; this line is over it.
const OVERSIZED_LINE_BYTES: usize = 5 * 1024 * 1024;

/// Ids of the well-formed requests: 1 is `initialize`, the rest are `ping`s.
const INITIALIZE_ID: i64 = 1;
const PING_IDS: [i64; 6] = [2, 3, 4, 5, 6, 8];
/// Ids that appear only inside malformed lines and so must never be answered.
const OVERSIZED_ID: i64 = 99;
const INVALID_UTF8_ID: i64 = 7;

fn ping(id: i64) -> Vec<u8> {
    format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"ping"}}"#).into_bytes()
}

/// The lines sent to the server, in order; each one is followed by `\n`.
fn input_lines() -> Vec<(&'static str, Vec<u8>)> {
    let initialize = br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}"#.to_vec();
    let initialized = br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.to_vec();

    let mut oversized =
        format!(r#"{{"jsonrpc":"2.0","id":{OVERSIZED_ID},"method":"ping","params":{{"pad":""#).into_bytes();
    let tail = br#""}}"#;
    oversized.resize(OVERSIZED_LINE_BYTES - tail.len(), b'a');
    oversized.extend_from_slice(tail);
    assert_eq!(oversized.len(), OVERSIZED_LINE_BYTES);

    // A raw 0xFF byte inside the method string: not UTF-8, so not JSON text at all.
    let mut invalid_utf8 = format!(r#"{{"jsonrpc":"2.0","id":{INVALID_UTF8_ID},"method":"pi"#).into_bytes();
    invalid_utf8.push(0xFF);
    invalid_utf8.extend_from_slice(br#"ng"}"#);

    vec![
        ("initialize", initialize),
        ("notifications/initialized", initialized),
        ("ping 2", ping(2)),
        ("truncated JSON", br#"{"jsonrpc":"#.to_vec()),
        ("ping 3", ping(3)),
        ("5 MiB line", oversized),
        ("ping 4", ping(4)),
        ("invalid UTF-8", invalid_utf8),
        ("ping 5", ping(5)),
        ("top-level array", b"[1,2]".to_vec()),
        ("ping 6", ping(6)),
        (
            "unknown notification",
            br#"{"jsonrpc":"2.0","method":"notifications/bogus"}"#.to_vec(),
        ),
        ("ping 8", ping(8)),
    ]
}

fn write_all_lines(mut stdin: ChildStdin, lines: Vec<(&'static str, Vec<u8>)>) -> Result<(), String> {
    for (what, line) in lines {
        stdin
            .write_all(&line)
            .and_then(|()| stdin.write_all(b"\n"))
            .and_then(|()| stdin.flush())
            .map_err(|e| format!("writing the {what} line failed: {e}"))?;
    }
    // Dropping stdin closes the pipe: the server sees EOF.
    Ok(())
}

/// Messages as compact JSON, for failure reports.
fn show(messages: Option<&[Value]>) -> String {
    match messages {
        None => "nothing".to_owned(),
        Some(messages) => messages
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    bytes.split(|b| *b == b'\n').filter(|line| !line.is_empty())
}

/// Describes a JSON-RPC response's id as a map key: `Some(n)` for an integer id, `None` for null.
fn response_id(msg: &Value) -> Result<Option<i64>, String> {
    match msg.get("id") {
        Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64()),
        other => Err(format!("response id is not an integer or null: {other:?}")),
    }
}

#[test]
fn malformed_stdio_input_gets_json_rpc_errors_and_clean_exit() {
    let started = Instant::now();
    let mut child = start_stdio_demo();

    let stdin = child.stdin.take().expect("piped stdin");
    let writer = thread::spawn(move || write_all_lines(stdin, input_lines()));
    let out_reader = read_in_background(child.stdout.take().expect("piped stdout"));
    let err_reader = read_in_background(child.stderr.take().expect("piped stderr"));
    let status = wait_or_kill(&mut child, started + DEADLINE);
    let write_result = writer.join().expect("writer thread");
    let out = out_reader.join().expect("stdout reader");
    let err = err_reader.join().expect("stderr reader");

    let mut problems: Vec<String> = Vec::new();
    match status {
        None => problems.push(format!(
            "the server did not exit within {}s after stdin was closed (killed)",
            DEADLINE.as_secs()
        )),
        Some(status) if !status.success() => {
            problems.push(format!(
                "the server exited with {status}, expected status 0 after EOF"
            ));
        }
        Some(_) => {}
    }
    if let Err(e) = write_result {
        problems.push(format!("the server stopped reading its input early: {e}"));
    }

    // Every stdout line must be one JSON-RPC 2.0 message object.
    let mut by_id: BTreeMap<i64, Vec<Value>> = BTreeMap::new();
    let mut null_id_errors: Vec<Value> = Vec::new();
    for (n, raw) in lines(&out).enumerate() {
        let shown = String::from_utf8_lossy(&raw[..raw.len().min(300)]).into_owned();
        let msg: Value = match serde_json::from_slice(raw) {
            Ok(v) => v,
            Err(e) => {
                problems.push(format!("stdout line {n} is not JSON ({e}): {shown}"));
                continue;
            }
        };
        if !msg.is_object() || msg.get("jsonrpc") != Some(&json!("2.0")) {
            problems.push(format!(
                "stdout line {n} is not a JSON-RPC 2.0 message object: {shown}"
            ));
            continue;
        }
        if msg.get("method").is_some() {
            // A server-initiated notification or request: legal, but nothing here asked for one.
            continue;
        }
        let has_result = msg.get("result").is_some();
        let has_error = msg.get("error").is_some();
        if has_result == has_error {
            problems.push(format!(
                "stdout line {n} must carry exactly one of result/error: {shown}"
            ));
            continue;
        }
        if has_error {
            let error = &msg["error"];
            if !error["code"].is_i64() || !error["message"].is_string() {
                problems.push(format!(
                    "stdout line {n}: error needs an integer code and a string message: {shown}"
                ));
                continue;
            }
        }
        match response_id(&msg) {
            Ok(Some(id)) => by_id.entry(id).or_default().push(msg),
            Ok(None) if has_error => null_id_errors.push(msg),
            Ok(None) => problems.push(format!("stdout line {n}: a result with a null id: {shown}")),
            Err(e) => problems.push(format!("stdout line {n}: {e}: {shown}")),
        }
    }

    // initialize: exactly one successful reply at the requested version.
    match by_id.remove(&INITIALIZE_ID).as_deref() {
        Some([reply]) => {
            let version = &reply["result"]["protocolVersion"];
            if version != "2025-11-25" {
                problems.push(format!(
                    "initialize: expected result.protocolVersion \"2025-11-25\", got {reply}"
                ));
            }
        }
        other => problems.push(format!(
            "initialize: expected exactly one reply, got {}",
            show(other)
        )),
    }
    // Each ping, including those right after a malformed line: exactly one `{}` result.
    for id in PING_IDS {
        match by_id.remove(&id).as_deref() {
            Some([reply]) if reply.get("result") == Some(&json!({})) => {}
            other => problems.push(format!(
                "ping id {id}: expected exactly one reply with result {{}}, got {}",
                show(other)
            )),
        }
    }
    // Nothing else may carry an id; in particular the ids inside the oversized and
    // invalid UTF-8 lines must not be answered, as those lines are not JSON-RPC at all.
    for (id, replies) in &by_id {
        let note = match *id {
            OVERSIZED_ID => " (the id inside the oversized line)",
            INVALID_UTF8_ID => " (the id inside the invalid UTF-8 line)",
            _ => "",
        };
        problems.push(format!(
            "unexpected replies for id {id}{note}: {}",
            show(Some(replies))
        ));
    }

    // Four bad lines get error replies with id null: the truncated JSON, the
    // oversized line (dropped unparsed) and the invalid UTF-8 line are parse errors
    // (-32700), the top-level array is an invalid request (-32600). The unknown
    // notification gets no reply at all, so a fifth null-id error is a failure.
    let mut codes: Vec<i64> = null_id_errors
        .iter()
        .map(|m| m["error"]["code"].as_i64().unwrap_or_default())
        .collect();
    codes.sort_unstable();
    if codes != [-32700, -32700, -32700, -32600] {
        problems.push(format!(
            "expected 4 error replies with id null (-32700 for the truncated JSON, the oversized line and \
             the invalid UTF-8 line, -32600 for the array), got {}: {}",
            null_id_errors.len(),
            show(Some(&null_id_errors))
        ));
    }

    // stderr carries JSON log lines only.
    for (n, raw) in lines(&err).enumerate() {
        let parsed: Result<Value, _> = serde_json::from_slice(raw);
        if !matches!(parsed, Ok(Value::Object(_))) {
            let shown = String::from_utf8_lossy(&raw[..raw.len().min(300)]).into_owned();
            problems.push(format!("stderr line {n} is not a JSON object: {shown}"));
        }
    }

    if !problems.is_empty() {
        let tail = |bytes: &[u8]| {
            let text = String::from_utf8_lossy(bytes);
            let keep: Vec<&str> = text.lines().rev().take(40).collect();
            keep.into_iter()
                .rev()
                .map(|l| clip(l, 400))
                .collect::<Vec<_>>()
                .join("\n")
        };
        panic!(
            "{} problem(s):\n  - {}\n--- server stdout (tail) ---\n{}\n--- server stderr (tail) ---\n{}\n--- end ---",
            problems.len(),
            problems.join("\n  - "),
            tail(&out),
            tail(&err),
        );
    }
}

/// The longest prefix of `s` that is at most `max` bytes and ends on a char boundary.
fn clip(s: &str, max: usize) -> &str {
    let end = (0..=max.min(s.len()))
        .rev()
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(0);
    &s[..end]
}
