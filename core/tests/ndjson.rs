//! NDJSON framing through the server: split invariance, the line cap and resynchronisation,
//! end of input with calls still running, and backpressure at the per-connection call cap.

mod common;

use common::{Harness, error_code, test_tools, tools_call};
use proptest::prelude::*;
use rampart_core::{Config, InputError, ToolOutput};
use serde_json::json;

fn small_lines() -> Config {
    Config {
        max_line_bytes: 256,
        ..Config::default()
    }
}

/// A session's worth of input with every kind of line, good and bad.
fn mixed_input() -> Vec<u8> {
    let mut input = Vec::new();
    for line in [
        common::initialize(1, "2025-11-25"),
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.into(),
        tools_call(2, "echo", json!({"text": "a"})),
        r#"{"jsonrpc":"2.0","id":3,"method":"ping"}"#.into(),
        "{broken".into(),
        format!(
            r#"{{"jsonrpc":"2.0","id":4,"method":"ping","params":{{"pad":"{}"}}}}"#,
            "x".repeat(400)
        ),
        r#"{"jsonrpc":"2.0","id":5,"method":"tools/list"}"#.into(),
        tools_call(6, "user.create@v1", json!({})),
        tools_call(7, "fail", json!({})),
        "[1,2]".into(),
    ] {
        input.extend_from_slice(line.as_bytes());
        input.extend_from_slice(b"\r\n");
    }
    input.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"id\":\"\xff\"}\n\n");
    input.extend_from_slice(br#"{"jsonrpc":"2.0","id":8,"method":"ping"}"#);
    input
}

/// Feeds `input` in the given pieces, then runs the calls and ends the input.
fn run_split(input: &[u8], cuts: &[usize]) -> (Vec<u8>, bool) {
    let mut h = Harness::new(small_lines(), test_tools());
    let mut start = 0;
    for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
        let cut = cut.clamp(start, input.len());
        h.input(&input[start..cut]);
        start = cut;
    }
    h.run_calls();
    h.eof();
    (h.wire, h.closed)
}

#[test]
fn mixed_input_gets_the_expected_answers() {
    let (wire, closed) = run_split(&mixed_input(), &[]);
    assert!(closed);
    let responses: Vec<serde_json::Value> = String::from_utf8(wire)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let summary: Vec<(String, Option<i64>)> = responses
        .iter()
        .map(|r| (r["id"].to_string(), r["error"]["code"].as_i64()))
        .collect();
    let expected: Vec<(String, Option<i64>)> = [
        ("1", None),
        ("3", None),
        ("null", Some(-32700)),
        ("null", Some(-32700)),
        ("5", None),
        ("6", Some(-32000)),
        ("null", Some(-32600)),
        ("null", Some(-32700)),
        ("2", None),
        ("7", Some(-32003)),
        ("8", None),
    ]
    .iter()
    .map(|(id, code)| (id.to_string(), *code))
    .collect();
    assert_eq!(summary, expected);
}

proptest! {
    #[test]
    fn output_is_the_same_however_the_input_is_split(mut cuts in proptest::collection::vec(0usize..1500, 0..40)) {
        let input = mixed_input();
        cuts.sort_unstable();
        prop_assert_eq!(run_split(&input, &cuts), run_split(&input, &[]));
    }
}

#[test]
fn every_byte_by_itself_gives_the_same_output() {
    let input = mixed_input();
    let cuts: Vec<usize> = (1..input.len()).collect();
    assert_eq!(run_split(&input, &cuts), run_split(&input, &[]));
}

#[test]
fn an_overlong_line_is_refused_and_the_reader_resynchronises() {
    let mut h = Harness::initialized(small_lines());
    h.input(&[b'x'; 200]);
    h.input(&[b'y'; 200]);
    assert_eq!(
        error_code(&h.responses()[0]),
        -32700,
        "reported as soon as the cap is passed"
    );
    h.input(&vec![b'z'; 10_000]);
    assert!(h.responses().is_empty(), "reported once");
    h.input(b"zzz\n{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"ping\"}\n");
    let responses = h.responses();
    assert_eq!(responses.len(), 1);
    assert_eq!(responses[0]["id"], 9);
}

#[test]
fn end_of_input_waits_for_running_calls() {
    let mut h = Harness::initialized(Config::default());
    h.send(&tools_call(1, "never", json!({})));
    h.input(br#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#);
    h.eof();
    assert_eq!(
        h.responses()[0]["id"],
        2,
        "the unterminated last line is answered"
    );
    assert!(!h.closed, "a call is still running");
    assert_eq!(
        h.server.handle_input(h.conn, b"{}\n", h.now),
        Err(InputError::NotTakingInput(h.conn))
    );
    let call = h.calls.pop().unwrap();
    h.complete(call.id, Ok(ToolOutput::text("done").into())).unwrap();
    assert_eq!(h.responses()[0]["id"], 1);
    assert!(h.closed);
    assert_eq!(h.server.stats().connections, 0);
}

#[test]
fn input_pauses_at_the_call_cap_and_resumes() {
    let config = Config {
        max_calls_per_connection: 2,
        ..Config::default()
    };
    let mut h = Harness::initialized(config);
    let mut batch = String::new();
    for id in 1..=3 {
        batch.push_str(&tools_call(id, "never", json!({})));
        batch.push('\n');
    }
    batch.push_str("{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"ping\"}\n");
    h.input(batch.as_bytes());
    assert_eq!(h.calls.len(), 2);
    assert!(!h.server.wants_input(h.conn));
    assert!(h.responses().is_empty(), "the ping waits its turn");
    let first = h.calls.remove(0);
    h.complete(first.id, Ok(ToolOutput::text("1").into())).unwrap();
    assert_eq!(h.calls.len(), 2, "the third call started");
    assert_eq!(h.responses().len(), 1);
    let second = h.calls.remove(0);
    h.complete(second.id, Ok(ToolOutput::text("2").into())).unwrap();
    let ids: Vec<_> = h.responses().iter().map(|r| r["id"].clone()).collect();
    assert_eq!(ids, [json!(2), json!(4)]);
    assert!(h.server.wants_input(h.conn));
}

#[test]
fn a_disconnect_cancels_running_calls() {
    let mut h = Harness::initialized(Config::default());
    h.send(&tools_call(1, "never", json!({})));
    let call = h.calls.pop().unwrap();
    h.server.handle_disconnect(h.conn, h.now);
    h.drain();
    assert_eq!(h.cancelled, vec![call.id]);
    assert!(h.closed);
    assert!(h.complete(call.id, Ok(ToolOutput::text("late").into())).is_err());
    assert!(h.responses().is_empty());
}
