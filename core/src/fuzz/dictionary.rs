//! Ready-made messages for the `ops` and `shared` targets, so that a few input bytes reach
//! deep states: a session, calls that succeed, fail or never end, cancellation, every HTTP
//! route, resources, prompts, completion, and handlers that ask the client.
//!
//! Kinds below [`NEW`] keep the meaning they had when the first seeds were written; kinds
//! from [`NEW`] on reach the features added since.

use serde_json::{Value, json};

use super::peer::{Expect, Sent};
use super::registry::URIS;

/// The first kind of the second table.
pub(super) const NEW: u8 = 0x80;

/// How many kinds the second table has.
const NEW_KINDS: u8 = 24;

/// Returns one JSON-RPC line from the dictionary and what it expects back; `extra` picks
/// its id and its arguments.
pub(super) fn message(kind: u8, extra: u8) -> (String, Expect) {
    let (message, expect) = if kind >= NEW {
        new_message((kind - NEW) % NEW_KINDS, extra)
    } else {
        old_message(kind, extra)
    };
    let text = match message {
        Value::String(raw) => raw,
        message => format!("{message}\n"),
    };
    (text, expect)
}

/// Returns a `tools/call` request that asks for progress with its id as the token.
fn call(id: u8, name: &str, args: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": name, "arguments": args, "_meta": {"progressToken": id}}})
}

fn request(id: u8, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

fn old_message(kind: u8, extra: u8) -> (Value, Expect) {
    let id = extra % 6;
    let message = match kind % 16 {
        0 => request(
            id,
            "initialize",
            json!({
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "fuzz", "version": "1"}}),
        ),
        1 => return notification("notifications/initialized", None),
        2 => call(id, "echo", json!({"text": "hi"})),
        3 => call(id, "fail", json!({})),
        4 => call(id, "never", json!({})),
        5 => json!({"jsonrpc": "2.0", "id": id, "method": "ping"}),
        6 => {
            let params = json!({"requestId": id, "reason": "fuzz"});
            return notification("notifications/cancelled", Some(params));
        }
        7 => request(id, "logging/setLevel", json!({"level": "debug"})),
        8 => json!({"jsonrpc": "2.0", "id": id, "method": "tools/list"}),
        9 => {
            let cut = format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"tools/call\",\"params\":{{\n");
            return (Value::String(cut), Expect::Other);
        }
        10 => return notification("ping", None),
        11 => call(id, "user.create@v1", json!({"email": "not an email"})),
        12 => json!([{"jsonrpc": "2.0", "id": id, "method": "ping"}, {"jsonrpc": "2.0", "method": "ping"}]),
        // An answer to a request the server never made.
        13 => {
            let answer = json!({"jsonrpc": "2.0", "id": UNKNOWN_ID + u64::from(id), "result": {}});
            return (answer, Expect::Answer(None));
        }
        14 => json!({"jsonrpc": "2.0", "id": format!("s{id}"), "method": "tools/call",
                     "params": {"name": "never", "arguments": {}}}),
        _ => json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "nope"}}),
    };
    (message, Expect::Call)
}

/// The first id no request of the server reaches in one input.
pub(super) const UNKNOWN_ID: u64 = 1_000_000;

fn notification(method: &str, params: Option<Value>) -> (Value, Expect) {
    let mut message = json!({"jsonrpc": "2.0", "method": method});
    if let Some(params) = params {
        message["params"] = params;
    }
    (message, Expect::Notification)
}

fn new_message(kind: u8, extra: u8) -> (Value, Expect) {
    let id = extra % 6;
    // Which argument: the bits the id and the session leave alone.
    let pick = usize::from(extra >> 1);
    let uri = URIS[pick % URIS.len()];
    let complete = |reference: Value, argument: Value| {
        request(
            id,
            "completion/complete",
            json!({"ref": reference, "argument": argument,
                                                  "context": {"arguments": {"mood": "calm"}}}),
        )
    };
    let message = match kind {
        0 => request(
            id,
            "initialize",
            json!({
            "protocolVersion": "2025-11-25",
            "capabilities": {"sampling": {}, "elicitation": {"form": {}, "url": {}}, "roots": {"listChanged": true}},
            "clientInfo": {"name": "fuzz", "version": "2"}}),
        ),
        1 => request(
            id,
            "initialize",
            json!({
            "protocolVersion": "2025-06-18",
            "capabilities": {"sampling": {}, "elicitation": {}, "roots": {}},
            "clientInfo": {"name": "fuzz", "version": "1"}}),
        ),
        2 => call(id, "ask", json!({"times": pick % 3 + 1})),
        3 => call(id, "form", json!({})),
        4 => call(id, "link", json!({})),
        5 => call(id, "roots", json!({})),
        6 => {
            let what = ["updated", "updated", "resources", "tools", "prompts"][pick % 5];
            call(id, "touch", json!({"what": what, "uri": URIS[pick % 4]}))
        }
        // Every 100 ms to 1 s, or never in any clock's range.
        7 => {
            let every = if pick % 11 == 10 {
                u64::MAX
            } else {
                100 * (pick as u64 % 10 + 1)
            };
            call(id, "beat", json!({"every": every}))
        }
        8 => request(id, "resources/list", json!({})),
        9 => request(id, "resources/templates/list", json!({})),
        10 => request(
            id,
            "resources/read",
            json!({"uri": uri, "_meta": {"progressToken": id}}),
        ),
        11 => request(id, "resources/subscribe", json!({"uri": uri})),
        12 => request(id, "resources/unsubscribe", json!({"uri": uri})),
        13 => request(id, "prompts/list", json!({})),
        14 => request(
            id,
            "prompts/get",
            json!({"name": "greet", "arguments": {"name": "Ada"}}),
        ),
        15 => request(
            id,
            "prompts/get",
            json!({"name": "greet", "arguments": {"mood": "calm"}}),
        ),
        16 => request(
            id,
            "prompts/get",
            json!({"name": "confirm", "_meta": {"progressToken": id}}),
        ),
        17 => complete(
            json!({"type": "ref/prompt", "name": "greet"}),
            json!({"name": "name", "value": "a"}),
        ),
        18 => complete(
            json!({"type": "ref/resource", "uri": "fuzz://items/{id}"}),
            json!({"name": "id", "value": "1"}),
        ),
        19 => complete(
            json!({"type": "ref/prompt", "name": "nope"}),
            json!({"name": "x"}),
        ),
        20 => {
            let level = ["emergency", "error", "debug", "loud"][pick % 4];
            request(id, "logging/setLevel", json!({"level": level}))
        }
        21 => request(id, "resources/list", json!({"cursor": "not a cursor"})),
        // The client could not read something the server sent.
        22 => {
            let error =
                json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": "Parse error"}});
            return (error, Expect::Notification);
        }
        _ => return notification("notifications/roots/list_changed", None),
    };
    (message, Expect::Call)
}

/// One HTTP request and what was sent, for checking what comes back.
pub(super) struct HttpRequest {
    pub(super) bytes: Vec<u8>,
    pub(super) sent: Sent,
}

/// Returns one HTTP request from the dictionary: the JSON-RPC messages above as POST
/// bodies, and the other routes; `extra` picks the id and which known session to name.
pub(super) fn http_message(kind: u8, extra: u8, sessions: &[String]) -> HttpRequest {
    let session = match (extra >> 3, sessions.len()) {
        (0, _) | (_, 0) => None,
        (pick, len) => Some(sessions[usize::from(pick) % len].as_str()),
    };
    let head = "Host: localhost\r\nAccept: application/json, text/event-stream\r\n";
    let headers = session_headers(session);
    let (request, expect) = match kind % 24 {
        _ if kind >= NEW => {
            let (body, expect) = message(kind, extra);
            return post(&body, session, expect);
        }
        16 => {
            let path = if extra.is_multiple_of(2) {
                "/health"
            } else {
                "/metrics"
            };
            (
                format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n"),
                Expect::Other,
            )
        }
        17 => (
            "GET /ready HTTP/1.1\r\nHost: localhost\r\n\r\n".to_owned(),
            Expect::Other,
        ),
        18 => (
            "OPTIONS /mcp HTTP/1.1\r\nHost: localhost\r\nOrigin: http://localhost\r\n\
             Access-Control-Request-Method: POST\r\n\r\n"
                .to_owned(),
            Expect::Other,
        ),
        19 => return stream(session, None, Expect::Stream(None)),
        20 => (
            format!("DELETE /mcp HTTP/1.1\r\n{head}{headers}\r\n"),
            Expect::Other,
        ),
        21 => {
            let body = r#"{"jsonrpc":"2.0","id":7,"method":"ping"}"#;
            let request = format!(
                "POST /mcp HTTP/1.1\r\n{head}{headers}Content-Type: application/json\r\n\
                 Transfer-Encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
                body.len()
            );
            (request, Expect::Other)
        }
        22 => {
            let (body, expect) = message(4, extra);
            let request = format!(
                "POST /mcp HTTP/1.0\r\n{head}{headers}Content-Type: application/json\r\n\
                 Content-Length: {}\r\n\r\n{body}",
                body.len()
            );
            (request, expect)
        }
        23 => (
            format!(
                "POST /mcp HTTP/1.1\r\n{head}{headers}Content-Type: application/json\r\n\
                 Expect: 100-continue\r\nContent-Length: 2\r\n\r\n{{}}"
            ),
            Expect::Other,
        ),
        kind => {
            let (body, expect) = message(kind, extra);
            return post(&body, session, expect);
        }
    };
    HttpRequest {
        bytes: request.into_bytes(),
        sent: Sent {
            session: session.map(str::to_owned),
            expect,
            modern: None,
        },
    }
}

/// Returns `POST /mcp` carrying `body`, in `session` if one is named.
pub(super) fn post(body: &str, session: Option<&str>, expect: Expect) -> HttpRequest {
    let request = format!(
        "POST /mcp HTTP/1.1\r\nHost: localhost\r\nAccept: application/json, text/event-stream\r\n\
         {}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        session_headers(session),
        body.len()
    );
    HttpRequest {
        bytes: request.into_bytes(),
        sent: Sent {
            session: session.map(str::to_owned),
            expect,
            modern: None,
        },
    }
}

/// Returns `GET /mcp` for `session`'s stream, resuming after `last` if given.
pub(super) fn stream(session: Option<&str>, last: Option<&str>, expect: Expect) -> HttpRequest {
    let resume = last
        .map(|id| format!("Last-Event-ID: {id}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "GET /mcp HTTP/1.1\r\nHost: localhost\r\nAccept: application/json, text/event-stream\r\n\
         {}{resume}\r\n",
        session_headers(session)
    );
    HttpRequest {
        bytes: request.into_bytes(),
        sent: Sent {
            session: session.map(str::to_owned),
            expect,
            modern: None,
        },
    }
}

fn session_headers(session: Option<&str>) -> String {
    session
        .map(|id| format!("Mcp-Session-Id: {id}\r\nMCP-Protocol-Version: 2025-06-18\r\n"))
        .unwrap_or_default()
}
