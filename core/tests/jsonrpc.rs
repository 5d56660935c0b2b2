//! JSON-RPC 2.0 parsing through the server: exact error codes, exact ids, no reply to
//! notifications. Each case is one line in, the response (or none) out.

mod common;

use common::{Harness, error_code};
use rampart_core::Config;
use serde_json::Value;

/// Sends one line to an initialized server and returns its single response, if any.
fn answer(line: &[u8]) -> Option<Value> {
    let mut h = Harness::initialized(Config::default());
    let mut bytes = line.to_vec();
    bytes.push(b'\n');
    h.input(&bytes);
    h.run_calls();
    let mut responses = h.responses();
    assert!(responses.len() <= 1, "at most one response: {responses:?}");
    responses.pop()
}

#[test]
fn malformed_messages_get_exact_codes_and_ids() {
    let cases: &[(&[u8], i64, &str)] = &[
        // -32700: not JSON at all
        (b"{\"jsonrpc\":", -32700, "null"),
        (b"not json", -32700, "null"),
        (b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"} trailing", -32700, "null"),
        (b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}", -32700, "null"),
        (b"{\"jsonrpc\":\"2.0\",\"id\":\"\xff\",\"method\":\"ping\"}", -32700, "null"),
        (b"\xef\xbb\xbf{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", -32700, "null"),
        (b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"s\":\"\\ud800\"}}", -32700, "null"),
        // -32600: JSON, but not one JSON-RPC 2.0 message
        (b"[]", -32600, "null"),
        (b"[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]", -32600, "null"),
        (b"42", -32600, "null"),
        (b"\"ping\"", -32600, "null"),
        (b"{\"id\":1,\"method\":\"ping\"}", -32600, "1"),
        (b"{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ping\"}", -32600, "1"),
        (b"{\"jsonrpc\":2.0,\"id\":1,\"method\":\"ping\"}", -32600, "1"),
        (b"{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}", -32600, "null"),
        (b"{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"ping\"}", -32600, "null"),
        (b"{\"jsonrpc\":\"2.0\",\"id\":1.0,\"method\":\"ping\"}", -32600, "null"),
        (b"{\"jsonrpc\":\"2.0\",\"id\":1e400,\"method\":\"ping\"}", -32600, "null"),
        (b"{\"jsonrpc\":\"2.0\",\"id\":18446744073709551616,\"method\":\"ping\"}", -32600, "null"),
        (b"{\"jsonrpc\":\"2.0\",\"id\":-9223372036854775809,\"method\":\"ping\"}", -32600, "null"),
        (b"{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"ping\"}", -32600, "null"),
        (b"{\"jsonrpc\":\"2.0\",\"id\":[1],\"method\":\"ping\"}", -32600, "null"),
        (b"{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"ping\"}", -32600, "null"),
        (b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"method\":\"tools/list\"}", -32600, "null"),
        (b"{\"jsonrpc\":\"2.0\",\"id\":1,\"id\":2,\"method\":\"ping\"}", -32600, "null"),
        (b"{\"jsonrpc\":\"2.0\",\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", -32600, "null"),
        (b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":7}", -32600, "1"),
        (b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":3}", -32600, "1"),
        (b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":null}", -32600, "1"),
        (b"{\"jsonrpc\":\"2.0\",\"id\":1}", -32600, "1"),
        // -32601: unknown methods, reserved names, and the 2026 probe
        (b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"nope\"}", -32601, "1"),
        (b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"rpc.discover\"}", -32601, "1"),
        (b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"server/discover\"}", -32601, "1"),
        (b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/\\u0000list\"}", -32601, "1"),
        // -32602: a protocol method's own params
        (b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{}}", -32602, "1"),
        (b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":5}}", -32602, "1"),
        (b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":[1]}}", -32602, "1"),
        (b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{\"cursor\":\"bogus\"}}", -32602, "1"),
        (b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"logging/setLevel\",\"params\":{\"level\":\"loud\"}}", -32602, "1"),
    ];
    for (line, code, id) in cases {
        let shown = String::from_utf8_lossy(line);
        let response = answer(line).unwrap_or_else(|| panic!("no response to {shown}"));
        assert_eq!(error_code(&response), *code, "code for {shown}: {response}");
        assert_eq!(response["id"].to_string(), *id, "id for {shown}");
        assert_eq!(response["jsonrpc"], "2.0");
        assert!(
            response["error"].get("data").is_none(),
            "no data without DEBUG: {response}"
        );
    }
}

#[test]
fn ids_echo_back_exactly() {
    for id in [
        "0",
        "-0",
        "7",
        "-9223372036854775808",
        "9223372036854775807",
        "18446744073709551615",
        "9007199254740993",
        "\"\"",
        "\"abc\"",
        "\"\\u00e9\\n\"",
        "\"9007199254740993\"",
    ] {
        let line = format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"ping\"}}");
        let mut h = Harness::initialized(Config::default());
        h.send(&line);
        let wire = String::from_utf8(h.wire.clone()).unwrap();
        let last = wire.lines().last().unwrap();
        assert_eq!(
            last,
            format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":{{}}}}"),
            "id {id}"
        );
    }
}

#[test]
fn notifications_never_get_a_reply() {
    for line in [
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}",
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/bogus\"}",
        "{\"jsonrpc\":\"2.0\",\"method\":\"tools/list\"}",
        "{\"jsonrpc\":\"2.0\",\"method\":\"tools/call\",\"params\":{\"name\":\"fail\"}}",
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":99}}",
        // A response to a request the server never sent is dropped too.
        "{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{}}",
        "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"x\"}}",
    ] {
        assert_eq!(answer(line.as_bytes()), None, "{line}");
    }
}

#[test]
fn nesting_is_bounded_without_overflowing_the_stack() {
    let nested = |depth: usize| {
        format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{{\"x\":{}{}}}}}",
            "[".repeat(depth),
            "]".repeat(depth)
        )
    };
    // The envelope and params objects are two levels: 125 arrays make 127 levels in all.
    let ok = answer(nested(125).as_bytes()).unwrap();
    assert_eq!(ok["result"], serde_json::json!({}), "{ok}");
    for depth in [126, 1000, 100_000] {
        let response = answer(nested(depth).as_bytes()).unwrap();
        assert_eq!(error_code(&response), -32700, "depth {depth}");
    }
}

#[test]
fn error_data_only_with_debug() {
    let mut h = Harness::initialized(Config {
        debug: true,
        ..Config::default()
    });
    let response = h.request("{\"jsonrpc\":");
    assert_eq!(error_code(&response), -32700);
    assert!(response["error"]["data"].is_string(), "{response}");
}

#[test]
fn a_result_that_cannot_be_written_is_an_internal_error() {
    struct Failing;
    impl serde::Serialize for Failing {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("no"))
        }
    }
    let id = rampart_core::jsonrpc::Id::from_string("a\"b");
    let written = rampart_core::jsonrpc::write_result(&id, &Failing);
    let response: Value = serde_json::from_slice(&written).expect("a whole response");
    assert_eq!(response["id"], "a\"b");
    assert_eq!(response["error"]["code"], -32603);
    assert!(response.get("result").is_none());
}
