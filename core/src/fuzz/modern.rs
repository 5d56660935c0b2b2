//! Ready-made 2026-07-28 messages for the `ops` and `shared` targets: the methods the
//! revision serves and some it removed, notifications and stray answers, each dressed with
//! `_meta` and HTTP headers that are right or wrong in one way (`dress`, `with_headers`);
//! and retries of the multi round-trip calls the server asked something, carrying answers
//! (well formed, malformed, under wrong keys) and the sealed state of the round (echoed, cut,
//! tampered, another round's, none).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use super::dictionary::{HttpRequest, UNKNOWN_ID};
use super::peer::{
    CLIENT_CAPABILITIES, Expect, LOG_LEVEL, PROTOCOL_VERSION, Peer, Round, Sent, VERSION, modern_era,
};
use super::registry::URIS;

/// How many kinds of message the table has.
const KINDS: u8 = 21;

/// A 2026-07-28 message, and the headers that carry it over HTTP.
pub(super) struct Message {
    pub(super) body: Value,
    /// Header lines besides those every `POST` has.
    headers: String,
    /// The `MCP-Protocol-Version` header, when sent.
    version: Option<String>,
    /// A `GET` or `DELETE` of the endpoint instead of a `POST`, over HTTP.
    verb: Option<&'static str>,
    expect: Expect,
}

impl Message {
    /// The message as one NDJSON line.
    pub(super) fn line(&self) -> Vec<u8> {
        format!("{}\n", self.body).into_bytes()
    }

    /// The message as one HTTP request, and what it expects back.
    pub(super) fn http(&self, peer: &Peer) -> HttpRequest {
        let version = self
            .version
            .as_ref()
            .map(|v| format!("MCP-Protocol-Version: {v}\r\n"))
            .unwrap_or_default();
        let head = "Host: localhost\r\nAccept: application/json, text/event-stream\r\n";
        let request = match self.verb {
            Some(verb) => format!("{verb} /mcp HTTP/1.1\r\n{head}{version}{}\r\n", self.headers),
            None => {
                let body = self.body.to_string();
                format!(
                    "POST /mcp HTTP/1.1\r\n{head}Content-Type: application/json\r\n{version}{}\
                     Content-Length: {}\r\n\r\n{body}",
                    self.headers,
                    body.len()
                )
            }
        };
        let modern = self
            .verb
            .is_none()
            .then(|| peer.modern(self.version.as_deref().map(str::as_bytes), &self.body))
            .flatten();
        let session = self.headers.lines().find_map(|line| {
            line.strip_prefix("Mcp-Session-Id: ")
                .map(|id| id.trim_end().to_owned())
        });
        HttpRequest {
            bytes: request.into_bytes(),
            sent: Sent {
                session,
                expect: self.expect.clone(),
                modern,
            },
        }
    }
}

/// Returns the message `kind` picks (`server/discover`, lists, calls of the registry's tools
/// that answer, fail, never end, talk, announce or ask the client, `subscriptions/listen`,
/// reads, prompts, completion, removed methods, `route` with its headers, notifications, a
/// stray answer, a `GET` or `DELETE`), dressed as `how` says (bits 0-2 `_meta`, 3-5 the
/// headers, 6-7 a variant of either); `extra` picks its id (bits 0-2, 7) and arguments (bits
/// 3-6); `sessions` are the legacy sessions a header may name.
pub(super) fn message(kind: u8, extra: u8, how: u8, sessions: &[String]) -> Message {
    let id = if extra & 0x80 == 0 {
        json!((extra & 7) % 6)
    } else {
        json!(format!("m{}", (extra & 7) % 6))
    };
    let pick = usize::from((extra >> 3) & 0x0F);
    let call = |name: &str, arguments: Value| ("tools/call", json!({"name": name, "arguments": arguments}));
    let (method, params) = match kind % KINDS {
        0 | 20 => ("server/discover", json!({})),
        1 => (
            "tools/list",
            [json!({}), json!({"cursor": "nope"})][pick % 2].clone(),
        ),
        2 => call("echo", json!({"text": "hi"})),
        3 => call("rounds", json!({"steps": pick % 4 + 1})),
        4 => call("ask", json!({"times": pick % 3 + 1})),
        5 => call(["form", "link", "roots"][pick % 3], json!({})),
        6 => call(["never", "fail"][pick % 2], json!({})),
        7 => {
            let (name, params) = call("beat", json!({"every": 100 * (pick as u64 % 10 + 1)}));
            let mut params = params;
            params["_meta"] = json!({"progressToken": id});
            (name, params)
        }
        8 => {
            let what = ["updated", "resources", "tools", "prompts"][pick % 4];
            call("touch", json!({"what": what, "uri": URIS[pick % 4]}))
        }
        9 => ("subscriptions/listen", listen_params(pick)),
        10 => ("resources/read", json!({"uri": URIS[pick % URIS.len()]})),
        11 => match pick % 3 {
            0 => (
                "prompts/get",
                json!({"name": "greet", "arguments": {"name": "Ada"}}),
            ),
            1 => ("prompts/get", json!({"name": "confirm"})),
            _ => ("prompts/get", json!({"name": "greet"})),
        },
        12 => (
            ["resources/list", "resources/templates/list", "prompts/list"][pick % 3],
            json!({}),
        ),
        13 => (
            "completion/complete",
            json!({"ref": {"type": "ref/prompt", "name": "greet"}, "argument": {"name": "name", "value": "a"}}),
        ),
        // Methods the revision removed, and one no revision has.
        14 => (
            [
                "initialize",
                "ping",
                "logging/setLevel",
                "resources/subscribe",
                "nope/nope",
            ][pick % 5],
            json!({}),
        ),
        15 => call("route", route_arguments(pick)),
        16 => call("user.create@v1", json!({"email": "not an email"})),
        _ => ("", Value::Null),
    };
    let (body, expect) = match kind % KINDS {
        17 => (
            json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                   "params": {"requestId": id, "reason": "fuzz"}}),
            Expect::Notification,
        ),
        18 => {
            let method = ["notifications/initialized", "notifications/roots/list_changed"][pick % 2];
            (
                json!({"jsonrpc": "2.0", "method": method, "params": {}}),
                Expect::Notification,
            )
        }
        19 => {
            let id = UNKNOWN_ID + u64::from(extra & 7);
            (
                json!({"jsonrpc": "2.0", "id": id, "result": {}}),
                Expect::Answer(None),
            )
        }
        _ => (
            json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}),
            Expect::Call,
        ),
    };
    let sub = how >> 6;
    let mut body = body;
    if let Some(params) = body.get_mut("params") {
        dress(params, how & 7, sub);
    }
    let mut modern = with_headers(body, (how >> 3) & 7, sub, sessions);
    modern.verb = (kind % KINDS == 20).then_some(["GET", "DELETE"][pick % 2]);
    // Without a 2026-07-28 version header, a `GET` opens a session's stream.
    let header = modern.version.as_deref().map(str::as_bytes);
    modern.expect = match modern.verb {
        Some("GET") if !modern_era(header, &Value::Null) => Expect::Stream(None),
        Some(_) => Expect::Other,
        None => expect,
    };
    modern
}

/// The filter of a `subscriptions/listen`: what bits 0-3 of `pick` ask for (list changes of
/// tools, prompts, resources; updates of three URIs), or a malformed one (0 and 8).
fn listen_params(pick: usize) -> Value {
    match pick {
        0 => json!({}),
        8 => json!({"notifications": {"resourceSubscriptions": "fuzz://a"}}),
        _ => {
            let mut notifications = json!({
                "toolsListChanged": pick & 1 != 0,
                "promptsListChanged": pick & 2 != 0,
                "resourcesListChanged": pick & 4 != 0,
            });
            if pick & 8 != 0 {
                notifications["resourceSubscriptions"] = json!([URIS[0], URIS[3], URIS[7]]);
            }
            json!({"notifications": notifications})
        }
    }
}

/// Arguments of the `route` tool, which its headers repeat.
fn route_arguments(pick: usize) -> Value {
    match pick % 4 {
        0 => json!({"region": "eu-west", "priority": 3, "urgent": true}),
        // Not ASCII: the header carries it as base64.
        1 => json!({"region": "région", "priority": -1}),
        2 => json!({"priority": 2.0, "urgent": false}),
        _ => json!({"region": null, "priority": 12_345_678_901_i64}),
    }
}

/// Sets `params._meta` as `shape` says (`sub` picks a variant): 0-2 complete with no, every
/// or some capabilities, 3 a log level, 4 trace context, 5 no capabilities, 6 no revision, 7
/// another revision.
fn dress(params: &mut Value, shape: u8, sub: u8) {
    let sub = usize::from(sub);
    let every = json!({"elicitation": {"form": {}, "url": {}}, "sampling": {}, "roots": {}});
    let caps = [json!({}), every.clone(), json!({"elicitation": {}})];
    let mut meta = Map::new();
    meta.insert(PROTOCOL_VERSION.into(), json!(VERSION));
    meta.insert(CLIENT_CAPABILITIES.into(), every);
    match shape {
        0..=2 => {
            meta.insert(CLIENT_CAPABILITIES.into(), caps[usize::from(shape)].clone());
        }
        3 => {
            let level = ["debug", "warning", "emergency", "loud"][sub];
            meta.insert(LOG_LEVEL.into(), json!(level));
        }
        4 => {
            let parent = [
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                "00-00000000000000000000000000000000-b7ad6b7169203331-01",
                "00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01",
                "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
            ][sub];
            meta.insert("traceparent".into(), json!(parent));
            let state = ["congo=t61".to_owned(), "x".repeat(600), "a\u{7f}b".to_owned()];
            if let Some(state) = state.get(sub) {
                meta.insert("tracestate".into(), json!(state));
            }
        }
        5 => {
            let (key, value) = match sub {
                0 => (CLIENT_CAPABILITIES, Value::Null),
                1 => (CLIENT_CAPABILITIES, json!([])),
                2 => (LOG_LEVEL, json!(3)),
                _ => (PROTOCOL_VERSION, json!(20_260_728)),
            };
            meta.insert(key.into(), value);
            meta.retain(|_, value| !value.is_null());
        }
        6 => match sub {
            0 => {
                meta.remove(PROTOCOL_VERSION);
            }
            1 => {
                params["_meta"] = json!("2026-07-28");
                return;
            }
            2 => {
                if let Some(params) = params.as_object_mut() {
                    params.remove("_meta");
                }
                return;
            }
            _ => meta.clear(),
        },
        _ => {
            let version = ["2025-11-25", "v999", "2026-07-28 ", "2024-11-05"][sub];
            meta.insert(PROTOCOL_VERSION.into(), json!(version));
        }
    }
    // What the message itself keeps in `_meta` (a progress token) stays.
    if let Some(own) = params.get("_meta").and_then(Value::as_object) {
        meta.extend(own.clone());
    }
    params["_meta"] = Value::Object(meta);
}

/// Adds the HTTP headers `shape` says (`sub` picks a variant): 0-1 those the revision asks
/// for, 2 no `MCP-Protocol-Version`, 3 a session revision in it, 4 an unknown one, 5
/// `Mcp-Method` missing or wrong, 6 `Mcp-Name` or `Mcp-Param-*` missing or wrong, 7 those
/// asked for, written loosely, with a legacy session's id.
fn with_headers(body: Value, shape: u8, sub: u8, sessions: &[String]) -> Message {
    let method = body["method"].as_str().unwrap_or_default().to_owned();
    let params = &body["params"];
    let named = params["_meta"][PROTOCOL_VERSION].as_str().unwrap_or(VERSION);
    let version = match shape {
        2 => None,
        3 => Some("2025-06-18".to_owned()),
        4 => Some(["v999", "2026-13-01", "2025-11-25", "2026-07-28"][usize::from(sub)].to_owned()),
        _ => Some(named.to_owned()),
    };
    let mut lines: Vec<(String, String)> = Vec::new();
    match (shape, sub) {
        (5, 0) => {}
        (5, 1) => lines.push(("Mcp-Method".into(), "tools/list".into())),
        (5, _) => lines.push(("Mcp-Method".into(), method.to_uppercase())),
        _ => lines.push(("Mcp-Method".into(), method.clone())),
    }
    let name = params["name"].as_str().or(params["uri"].as_str());
    match (shape, sub, name) {
        (6, 0, _) | (_, _, None) => {}
        (6, 1, Some(name)) => lines.push(("Mcp-Name".into(), format!("{name}x"))),
        (_, _, Some(name)) => lines.push(("Mcp-Name".into(), name.to_owned())),
    }
    if let Some(arguments) = params["arguments"].as_object() {
        for (property, header) in [
            ("region", "Region"),
            ("priority", "Priority"),
            ("urgent", "Urgent"),
        ] {
            let Some(value) = arguments.get(property).filter(|v| !v.is_null()) else {
                continue;
            };
            let text = match value {
                Value::String(text) if text.is_ascii() => text.clone(),
                Value::String(text) => format!("=?base64?{}?=", STANDARD.encode(text)),
                other => other.to_string(),
            };
            match (shape, sub, property) {
                (6, 2, "region") => {}
                (6, 3, "region") => lines.push((format!("Mcp-Param-{header}"), "=?base64?!!?=".into())),
                (6, 3, _) => lines.push((format!("Mcp-Param-{header}"), "0".into())),
                _ => lines.push((format!("Mcp-Param-{header}"), text)),
            }
        }
    }
    let mut headers = String::new();
    for (name, value) in lines {
        if shape == 7 {
            headers.push_str(&format!("{}:  {value} \r\n", name.to_lowercase()));
        } else {
            headers.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    if shape == 7 && !sessions.is_empty() {
        let session = &sessions[usize::from(sub) % sessions.len()];
        headers.push_str(&format!("Mcp-Session-Id: {session}\r\n"));
    }
    Message {
        body,
        headers,
        version,
        verb: None,
        expect: Expect::Call,
    }
}

/// Returns a retry of the round `pick` says among those the peer learned, 0 the latest (or
/// of one made up, when it learned none): `how` bits 0-1 pick the state (echoed, cut,
/// tampered, another round's or none), bits 2-3 the answers (all, the first only, under
/// wrong keys, malformed), bit 4 a log level, bit 5 headers without `Mcp-Name`, bits 6-7
/// variants; `extra` picks the id (bits 0-2) and how the client answers (bits 3-4).
pub(super) fn retry(peer: &Peer, pick: u8, how: u8, extra: u8) -> Message {
    let made_up = Round {
        method: "tools/call".into(),
        params: json!({"name": "rounds", "arguments": {"steps": 2}}),
        state: "bm90IGEgc3RhdGU".into(),
        asks: vec![
            ("name".into(), "elicitation/create".into()),
            ("model".into(), "sampling/createMessage".into()),
        ],
    };
    let rounds = &peer.rounds;
    let (round, other) = if rounds.is_empty() {
        (&made_up, &made_up)
    } else {
        let at = rounds.len() - 1 - usize::from(pick) % rounds.len();
        (&rounds[at], &rounds[(at + 1) % rounds.len()])
    };
    let sub = usize::from(how >> 6);
    let state = match how & 3 {
        0 => Some(round.state.clone()),
        1 => Some(round.state.chars().take(round.state.len() / 2).collect()),
        2 => Some(tampered(&round.state, sub)),
        _ => (sub & 1 == 1).then(|| other.state.clone()),
    };
    let responses = match (how >> 2) & 3 {
        0 => Value::Object(answers(&round.asks, extra)),
        1 => Value::Object(answers(&round.asks[..1.min(round.asks.len())], extra)),
        2 => {
            let wrong: Vec<(String, String)> = round
                .asks
                .iter()
                .map(|(key, method)| (format!("{key}-wrong"), method.clone()))
                .collect();
            Value::Object(answers(&wrong, extra))
        }
        _ => {
            let key = round.asks.first().map_or("name", |(key, _)| key.as_str());
            [
                json!({key: 12345}),
                Value::Null,
                json!("answers"),
                json!({key: {"action": 5, "content": []}}),
            ][sub]
                .clone()
        }
    };
    let mut params = round.params.clone();
    params["inputResponses"] = responses;
    if let Some(state) = state {
        params["requestState"] = json!(state);
    }
    let mut body = json!({"jsonrpc": "2.0", "id": (extra & 7) % 6, "method": round.method, "params": params});
    dress(&mut body["params"], if how & 0x10 == 0 { 1 } else { 3 }, 0);
    with_headers(body, if how & 0x20 == 0 { 0 } else { 6 }, 0, &[])
}

/// A sealed state with one character changed (where `sub` says), so that its seal fails.
fn tampered(state: &str, sub: usize) -> String {
    let mut chars: Vec<char> = state.chars().collect();
    if chars.is_empty() {
        return "x".to_owned();
    }
    let at = [chars.len() / 2, 0, chars.len() / 3, chars.len() * 3 / 4][sub] % chars.len();
    chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

/// A client's answers to `asks`, by key: what each method wants (the action of an
/// elicitation as bits 3-4 of `extra` say).
fn answers(asks: &[(String, String)], extra: u8) -> Map<String, Value> {
    asks.iter()
        .map(|(key, method)| {
            let answer = match method.as_str() {
                "elicitation/create" => {
                    let action = ["accept", "decline", "cancel", "accept"][usize::from(extra >> 3) % 4];
                    json!({"action": action, "content": {"name": "Ada"}})
                }
                "sampling/createMessage" => {
                    json!({"role": "assistant", "content": {"type": "text", "text": "ok"}, "model": "fuzz"})
                }
                "roots/list" => json!({"roots": [{"uri": "file:///a", "name": "a"}]}),
                _ => json!({}),
            };
            (key.clone(), answer)
        })
        .collect()
}
