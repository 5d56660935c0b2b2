//! Ready-made messages for the `ops` target, so that a few input bytes reach deep states:
//! a session, calls that succeed, fail or never end, cancellation, and every HTTP route.

use serde_json::{Value, json};

/// Returns one JSON-RPC line from a small dictionary; `extra` picks its id.
pub(super) fn message(kind: u8, extra: u8) -> String {
    let id = extra % 6;
    let call = |name: &str, args: Value| {
        json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
               "params": {"name": name, "arguments": args, "_meta": {"progressToken": id}}})
    };
    let message = match kind % 16 {
        0 => json!({"jsonrpc": "2.0", "id": id, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "fuzz", "version": "1"}}}),
        1 => json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        2 => call("echo", json!({"text": "hi"})),
        3 => call("fail", json!({})),
        4 => call("never", json!({})),
        5 => json!({"jsonrpc": "2.0", "id": id, "method": "ping"}),
        6 => json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                    "params": {"requestId": id, "reason": "fuzz"}}),
        7 => json!({"jsonrpc": "2.0", "id": id, "method": "logging/setLevel", "params": {"level": "debug"}}),
        8 => json!({"jsonrpc": "2.0", "id": id, "method": "tools/list"}),
        9 => return format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"tools/call\",\"params\":{{\n"),
        10 => json!({"jsonrpc": "2.0", "method": "ping"}),
        11 => call("user.create@v1", json!({"email": "not an email"})),
        12 => json!([{"jsonrpc": "2.0", "id": id, "method": "ping"}, {"jsonrpc": "2.0", "method": "ping"}]),
        13 => json!({"jsonrpc": "2.0", "id": id, "result": {}}),
        14 => json!({"jsonrpc": "2.0", "id": format!("s{id}"), "method": "tools/call",
                     "params": {"name": "never", "arguments": {}}}),
        _ => json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "nope"}}),
    };
    format!("{message}\n")
}

/// Returns one HTTP request from a small dictionary: the JSON-RPC messages above as POST
/// bodies, and the other routes; `extra` picks the id and which known session to name.
pub(super) fn http_message(kind: u8, extra: u8, sessions: &[String]) -> Vec<u8> {
    let session = match (extra >> 3, sessions.len()) {
        (0, _) | (_, 0) => String::new(),
        (pick, len) => format!(
            "Mcp-Session-Id: {}\r\nMCP-Protocol-Version: 2025-06-18\r\n",
            sessions[usize::from(pick) % len]
        ),
    };
    let head = "Host: localhost\r\nAccept: application/json, text/event-stream\r\n";
    let request = match kind % 24 {
        16 => "GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n".to_owned(),
        17 => "GET /ready HTTP/1.1\r\nHost: localhost\r\n\r\n".to_owned(),
        18 => "OPTIONS /mcp HTTP/1.1\r\nHost: localhost\r\nOrigin: http://localhost\r\n\
               Access-Control-Request-Method: POST\r\n\r\n"
            .to_owned(),
        19 => format!("GET /mcp HTTP/1.1\r\n{head}{session}\r\n"),
        20 => format!("DELETE /mcp HTTP/1.1\r\n{head}{session}\r\n"),
        21 => {
            let body = r#"{"jsonrpc":"2.0","id":7,"method":"ping"}"#;
            format!(
                "POST /mcp HTTP/1.1\r\n{head}{session}Content-Type: application/json\r\n\
                 Transfer-Encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
                body.len()
            )
        }
        22 => {
            let body = message(4, extra);
            format!(
                "POST /mcp HTTP/1.0\r\n{head}{session}Content-Type: application/json\r\n\
                 Content-Length: {}\r\n\r\n{body}",
                body.len()
            )
        }
        23 => format!(
            "POST /mcp HTTP/1.1\r\n{head}{session}Content-Type: application/json\r\n\
             Expect: 100-continue\r\nContent-Length: 2\r\n\r\n{{}}"
        ),
        kind => {
            let body = message(kind, extra);
            format!(
                "POST /mcp HTTP/1.1\r\n{head}{session}Content-Type: application/json\r\n\
                 Content-Length: {}\r\n\r\n{body}",
                body.len()
            )
        }
    };
    request.into_bytes()
}
