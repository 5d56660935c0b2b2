//! Streamable HTTP through the core on a virtual clock: probes, sessions, content
//! negotiation, CORS and Host/Origin checks, SSE, pipelining, deadlines, split invariance.

mod common;

use std::time::Duration;

use common::http::{HttpHarness, INITIALIZE, Response, get, parse_responses, post};
use common::test_tools;
use proptest::prelude::*;
use rampart_core::{Config, Hosts, LoggingLevel, Message, Origins, ReadinessCheck, ToolOutput};
use serde_json::json;

fn harness() -> HttpHarness {
    HttpHarness::new(Config::default(), test_tools())
}

fn assert_security_headers(response: &Response) {
    assert_eq!(response.header("X-Content-Type-Options"), Some("nosniff"));
    assert_eq!(response.header("X-Frame-Options"), Some("DENY"));
    assert_eq!(response.header("X-XSS-Protection"), Some("1; mode=block"));
    assert_eq!(
        response.header("Strict-Transport-Security"),
        Some("max-age=31536000; includeSubDomains")
    );
    assert!(response.header("X-Request-Id").is_some_and(|id| !id.is_empty()));
}

/// Initializes a session and returns its id.
fn initialize(h: &mut HttpHarness) -> String {
    let response = h.exchange(&post(INITIALIZE, None));
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.json()["result"]["protocolVersion"], "2025-11-25");
    let session = response
        .header("Mcp-Session-Id")
        .expect("a session id")
        .to_owned();
    assert!(session.len() >= 32 && session.bytes().all(|b| b.is_ascii_graphic()));
    session
}

#[test]
fn health_and_ready() {
    let mut h = harness();
    let health = h.exchange(&get("/health"));
    assert_eq!(health.status, 200);
    assert_eq!(health.header("Content-Type"), Some("application/json"));
    assert_security_headers(&health);
    let body = health.json();
    assert_eq!(body["status"], "alive");
    assert!(body["uptime_seconds"].is_u64());
    assert_eq!(body["timestamp"], "2027-01-15T08:00:00.000Z");

    let check = ReadinessCheck::new(true);
    h.server.add_readiness_check("database", check.clone());
    let ready = h.exchange(&get("/ready"));
    assert_eq!(ready.status, 200);
    assert_eq!(ready.json()["checks"], json!({"tools": "ok", "database": "ok"}));
    check.set(false);
    let failing = h.exchange(&get("/ready"));
    assert_eq!(failing.status, 503);
    assert_eq!(failing.json()["checks"]["database"], "failing");
    assert_security_headers(&failing);
    check.set(true);
    assert_eq!(h.exchange(&get("/ready")).status, 200);
    // Shutdown turns readiness off at once and closes idle connections; a request still
    // in flight is answered, then its connection closes.
    h.server.shutdown(h.now);
    h.drain();
    assert!(h.is_closed());
    h.reconnect();
    let draining = h.exchange(&get("/ready"));
    assert_eq!(
        (draining.status, draining.json()["status"].clone()),
        (503, json!("draining"))
    );
    assert!(h.is_closed());
}

#[test]
fn a_session_is_made_by_initialize_and_required_after() {
    let mut h = harness();
    let session = initialize(&mut h);
    // A client that names a revision with sessions must send its session.
    let missing = h.exchange(&with_version(
        &post(r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#, None),
        "2025-11-25",
    ));
    assert_eq!(missing.status, 400);
    assert_eq!(missing.json()["error"]["code"], -32600);
    let unknown = h.exchange(&post(
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#,
        Some("nope"),
    ));
    assert_eq!(unknown.status, 404);
    let listed = h.exchange(&post(
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#,
        Some(&session),
    ));
    assert_eq!(listed.status, 200);
    assert!(listed.json()["result"]["tools"].as_array().unwrap().len() > 3);
    // JSON-RPC errors travel in a 200 response.
    let call = json!({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"user.create@v1","arguments":{}}});
    let missing_arg = h.exchange(&post(&call.to_string(), Some(&session)));
    assert_eq!(missing_arg.status, 200);
    assert_eq!(
        missing_arg.json()["error"],
        json!({"code": -32000, "message": "Missing required parameter: email"})
    );
    // A notification gets 202 and no body.
    let note = h.exchange(&post(
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        Some(&session),
    ));
    assert_eq!((note.status, note.body.len()), (202, 0));
    // DELETE ends the session.
    let delete = format!("DELETE /mcp HTTP/1.1\r\nHost: localhost\r\nMcp-Session-Id: {session}\r\n\r\n");
    assert_eq!(h.exchange(delete.as_bytes()).status, 204);
    let after = h.exchange(&post(
        r#"{"jsonrpc":"2.0","id":4,"method":"ping"}"#,
        Some(&session),
    ));
    assert_eq!(after.status, 404);
    assert_eq!(h.server.stats().sessions, 0);
}

#[test]
fn media_types_are_checked() {
    let mut h = harness();
    let no_sse = INITIALIZE;
    let request = format!(
        "POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: {}\r\n\r\n{no_sse}",
        no_sse.len()
    );
    assert_eq!(h.exchange(request.as_bytes()).status, 406);
    let request = format!(
        "POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\n\r\n{no_sse}",
        no_sse.len()
    );
    assert_eq!(h.exchange(request.as_bytes()).status, 415);
    let bad_json = h.exchange(&post("{not json", None));
    assert_eq!(
        (bad_json.status, bad_json.json()["error"]["code"].clone()),
        (400, json!(-32700))
    );
    let batch = h.exchange(&post("[]", None));
    assert_eq!(
        (batch.status, batch.json()["error"]["code"].clone()),
        (400, json!(-32600))
    );
    // The connection survived every refusal.
    assert!(!h.is_closed());
    assert_eq!(h.exchange(&get("/health")).status, 200);
}

#[test]
fn unsupported_protocol_version_is_refused_with_the_list() {
    let mut h = harness();
    let session = initialize(&mut h);
    let body = r#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#;
    let request = format!(
        "POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nMcp-Session-Id: {session}\r\nMCP-Protocol-Version: 1999-01-01\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let response = h.exchange(request.as_bytes());
    assert_eq!(response.status, 400);
    let message = response.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("2024-11-05") && message.contains("2025-11-25"),
        "{message}"
    );
}

#[test]
fn other_methods_and_paths() {
    let mut h = harness();
    let put = h.exchange(b"PUT /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(put.status, 405);
    assert_eq!(put.header("Allow"), Some("GET, POST, DELETE, OPTIONS"));
    assert_security_headers(&put);
    assert_eq!(h.exchange(&get("/nope")).status, 404);
    let no_session_stream =
        h.exchange(b"GET /mcp HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n");
    assert_eq!(no_session_stream.status, 400);
}

#[test]
fn cors_preflight_and_origin_checks() {
    let config = Config {
        allowed_origins: Origins::List(vec!["http://localhost:3000".into()]),
        ..Config::default()
    };
    let mut h = HttpHarness::new(config, test_tools());
    let preflight = h.exchange(
        b"OPTIONS /mcp HTTP/1.1\r\nHost: localhost\r\nOrigin: http://localhost:3000\r\nAccess-Control-Request-Method: POST\r\n\r\n",
    );
    assert_eq!(preflight.status, 204);
    assert_eq!(
        preflight.header("Access-Control-Allow-Origin"),
        Some("http://localhost:3000")
    );
    let allowed = preflight
        .header("Access-Control-Allow-Headers")
        .unwrap()
        .to_ascii_lowercase();
    for header in [
        "mcp-session-id",
        "mcp-protocol-version",
        "authorization",
        "content-type",
    ] {
        assert!(allowed.contains(header), "{header} in {allowed}");
    }
    assert!(
        preflight
            .header("Access-Control-Allow-Methods")
            .unwrap()
            .contains("POST")
    );
    assert!(
        preflight
            .header("Access-Control-Expose-Headers")
            .unwrap()
            .contains("Mcp-Session-Id")
    );
    assert_eq!(preflight.header("Vary"), Some("Origin"));
    assert_security_headers(&preflight);

    let evil = h.exchange(
        b"OPTIONS /mcp HTTP/1.1\r\nHost: localhost\r\nOrigin: http://evil.example\r\nAccess-Control-Request-Method: POST\r\n\r\n",
    );
    assert_eq!(evil.status, 403);
    assert_eq!(evil.header("Access-Control-Allow-Origin"), None);
    let mut request = post(INITIALIZE, None);
    let at = request.windows(2).position(|w| w == b"\r\n").unwrap() + 2;
    request.splice(at..at, b"Origin: http://evil.example\r\n".iter().copied());
    let post_evil = h.exchange(&request);
    assert_eq!(post_evil.status, 403);
    assert_eq!(post_evil.json()["error"]["code"], -32600);
}

#[test]
fn dns_rebinding_host_checks() {
    let mut h = harness();
    for host in ["localhost", "localhost:23450", "127.0.0.1:23450", "[::1]:80"] {
        let response = h.exchange(format!("GET /health HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes());
        assert_eq!(response.status, 200, "{host}");
    }
    for host in ["evil.example", "evil.example:23450", "127.0.0.1.nip.io"] {
        let response = h.exchange(format!("GET /health HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes());
        assert_eq!(response.status, 403, "{host}");
    }
    let config = Config {
        allowed_hosts: Hosts::List(vec!["mcp.example.com".into()]),
        ..Config::default()
    };
    let mut h = HttpHarness::new(config, test_tools());
    assert_eq!(
        h.exchange(b"GET /health HTTP/1.1\r\nHost: mcp.example.com\r\n\r\n")
            .status,
        200
    );
    assert_eq!(
        h.exchange(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .status,
        403
    );
}

#[test]
fn behind_a_trusted_proxy_the_host_it_received_is_checked() {
    let config = || Config {
        allowed_hosts: Hosts::List(vec!["mcp.example.com".into()]),
        trusted_proxies: vec!["127.0.0.0/8".parse().unwrap()],
        ..Config::default()
    };
    let status = |h: &mut HttpHarness, extra: &str| {
        let request = format!("GET /health HTTP/1.1\r\nHost: backend:8080\r\n{extra}\r\n");
        h.exchange(request.as_bytes()).status
    };
    let mut h = HttpHarness::new(config(), test_tools());
    for (extra, expected) in [
        ("X-Forwarded-Host: mcp.example.com\r\n", 200),
        (
            "Forwarded: for=198.51.100.1;host=mcp.example.com;proto=https\r\n",
            200,
        ),
        (
            "Forwarded: for=198.51.100.1, for=10.0.0.1;host=\"mcp.example.com:443\"\r\n",
            200,
        ),
        ("X-Forwarded-Host: evil.example\r\n", 403),
        // The proxy's entry is the right-most; what a client wrote left of it is never read.
        ("X-Forwarded-Host: evil.example, mcp.example.com\r\n", 200),
        ("X-Forwarded-Host: mcp.example.com, evil.example\r\n", 403),
        // Both headers must name an allowed host.
        (
            "X-Forwarded-Host: mcp.example.com\r\nForwarded: host=evil.example\r\n",
            403,
        ),
        ("Forwarded: for=198.51.100.1;host=\"mcp.example.com\r\n", 403),
        ("Forwarded: host=mcp.example.com;host=evil.example\r\n", 403),
        // No forwarded host: the proxy's own Host decides.
        ("Forwarded: for=198.51.100.1\r\n", 403),
        ("", 403),
    ] {
        assert_eq!(status(&mut h, extra), expected, "{extra:?}");
    }
    // From a peer that is not a trusted proxy the headers count for nothing.
    let mut h = HttpHarness::new(
        Config {
            trusted_proxies: Vec::new(),
            ..config()
        },
        test_tools(),
    );
    assert_eq!(status(&mut h, "X-Forwarded-Host: mcp.example.com\r\n"), 403);
    assert_eq!(
        h.exchange(
            b"GET /health HTTP/1.1\r\nHost: mcp.example.com\r\nX-Forwarded-Host: evil.example\r\n\r\n"
        )
        .status,
        200
    );
}

#[test]
fn request_ids_are_echoed_when_sane() {
    let mut h = harness();
    let sane = h.exchange(b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Request-Id: abc-123\r\n\r\n");
    assert_eq!(sane.header("X-Request-Id"), Some("abc-123"));
    let insane = h.exchange(b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Request-Id: <script>\r\n\r\n");
    let id = insane.header("X-Request-Id").unwrap();
    assert_ne!(id, "<script>");
    assert_eq!(&*h.logs.last().unwrap().request_id, id);
    assert_eq!(h.logs.last().unwrap().http_status, Some(200));
}

#[test]
fn sessions_are_capped_and_expire() {
    let config = Config {
        max_sessions: 2,
        ..Config::default()
    };
    let mut h = HttpHarness::new(config, test_tools());
    let first = initialize(&mut h);
    initialize(&mut h);
    let third = h.exchange(&post(INITIALIZE, None));
    assert_eq!(third.status, 503);
    assert_eq!(h.server.stats().sessions, 2);
    // Used sessions stay; idle ones expire.
    h.advance(Duration::from_secs(20 * 60));
    h.reconnect();
    assert_eq!(
        h.exchange(&post(r#"{"jsonrpc":"2.0","id":5,"method":"ping"}"#, Some(&first)))
            .status,
        200
    );
    h.advance(Duration::from_secs(15 * 60));
    assert_eq!(h.server.stats().sessions, 1, "the unused session expired");
    h.advance(Duration::from_secs(30 * 60));
    assert_eq!(h.server.stats().sessions, 0);
    // A new connection after the keep-alive close can initialize again.
    h.reconnect();
    initialize(&mut h);
}

#[test]
fn a_call_that_logs_answers_with_sse() {
    let mut h = harness();
    let session = initialize(&mut h);
    let call = json!({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"never","arguments":{}}});
    h.input(&post(&call.to_string(), Some(&session)));
    let pending = h.calls.pop().unwrap();
    let log = Message::Log {
        level: LoggingLevel::Warning,
        logger: None,
        data: json!("working"),
    };
    h.server.call_message(pending.id, log, h.now).unwrap();
    h.drain();
    assert!(h.responses().is_empty(), "the stream is still open");
    h.server
        .complete(pending.id, Ok(ToolOutput::text("done").into()), h.now)
        .unwrap();
    h.drain();
    let response = h.responses().remove(0);
    assert_eq!(response.status, 200);
    assert_eq!(response.header("Content-Type"), Some("text/event-stream"));
    let events = response.events();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["method"], "notifications/message");
    assert_eq!(events[1]["id"], 7);
    assert_eq!(events[1]["result"]["content"][0]["text"], "done");
    // The connection is kept alive and serves the next request.
    assert_eq!(h.exchange(&get("/health")).status, 200);
}

#[test]
fn a_timed_out_call_answers_e_timeout_over_http() {
    let mut h = HttpHarness::new(
        Config {
            tool_timeout: Duration::from_secs(3),
            ..Config::default()
        },
        test_tools(),
    );
    let session = initialize(&mut h);
    let call = json!({"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"never","arguments":{}}});
    h.input(&post(&call.to_string(), Some(&session)));
    let pending = h.calls.pop().unwrap();
    h.advance(Duration::from_secs(3));
    let response = h.responses().remove(0);
    assert_eq!(response.json()["error"]["code"], -32004);
    assert_eq!(h.cancelled, vec![pending.id]);
    assert!(
        h.server
            .complete(pending.id, Ok(ToolOutput::text("late").into()), h.now)
            .is_err()
    );
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let mut h = harness();
    let mut batch = get("/health");
    batch.extend(get("/nope"));
    batch.extend(get("/ready"));
    h.input(&batch);
    let statuses: Vec<u16> = h.responses().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 404, 200]);
}

#[test]
fn a_half_closed_client_still_gets_its_response() {
    let mut h = harness();
    let session = initialize(&mut h);
    let call = json!({"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"never","arguments":{}}});
    h.input(&post(&call.to_string(), Some(&session)));
    h.server.handle_eof(h.conn, h.now).unwrap();
    h.drain();
    assert!(!h.is_closed());
    let pending = h.calls.pop().unwrap();
    h.server
        .complete(pending.id, Ok(ToolOutput::text("ok").into()), h.now)
        .unwrap();
    h.drain();
    assert_eq!(h.responses()[0].json()["result"]["content"][0]["text"], "ok");
    assert!(h.is_closed());
}

#[test]
fn deadlines_close_slow_and_idle_connections() {
    let mut h = harness();
    h.input(b"GET /health HTTP/1.1\r\nHost: loc");
    h.advance(Duration::from_secs(9));
    assert!(!h.is_closed());
    h.advance(Duration::from_secs(1));
    let response = h.responses().remove(0);
    assert_eq!(response.status, 408);
    assert!(h.is_closed());

    h.reconnect();
    assert_eq!(h.exchange(&get("/health")).status, 200);
    h.advance(Duration::from_secs(59));
    assert!(!h.is_closed());
    h.advance(Duration::from_secs(1));
    assert!(h.is_closed(), "idle keep-alive closes after 60 s");
    assert!(h.responses().is_empty());
}

#[test]
fn stateless_mode_needs_no_session() {
    let mut h = HttpHarness::new(
        Config {
            stateless: true,
            ..Config::default()
        },
        test_tools(),
    );
    let init = h.exchange(&post(INITIALIZE, None));
    assert_eq!(init.header("Mcp-Session-Id"), None);
    let call = json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}});
    let response = h.exchange(&post(&call.to_string(), None));
    assert_eq!(response.json()["result"]["content"][0]["text"], "hi");
    let stream = h.exchange(b"GET /mcp HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n");
    assert_eq!(stream.status, 405);
}

#[test]
fn the_get_stream_is_one_per_session_and_ends_with_it() {
    let mut h = harness();
    let session = initialize(&mut h);
    let open = format!(
        "GET /mcp HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\nMcp-Session-Id: {session}\r\n\r\n"
    );
    h.input(open.as_bytes());
    let head = String::from_utf8_lossy(&h.wire).into_owned();
    assert!(
        head.contains("HTTP/1.1 200 OK") && head.contains("text/event-stream"),
        "{head}"
    );
    let stream_conn = h.conn;
    h.reconnect();
    assert_eq!(h.exchange(open.as_bytes()).status, 409);
    let delete = format!("DELETE /mcp HTTP/1.1\r\nHost: localhost\r\nMcp-Session-Id: {session}\r\n\r\n");
    assert_eq!(h.exchange(delete.as_bytes()).status, 204);
    assert!(h.closed.contains(&stream_conn));
}

#[test]
fn framing_errors_close_the_connection() {
    let mut h = harness();
    h.input(b"POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /health HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let responses = h.responses();
    assert_eq!(responses.len(), 1, "nothing after a refused request is answered");
    assert_eq!(responses[0].status, 400);
    assert_eq!(responses[0].header("Connection"), Some("close"));
    assert!(h.is_closed());
}

/// A session's worth of requests over one connection.
fn conversation() -> Vec<u8> {
    let mut bytes = post(INITIALIZE, None);
    bytes.extend(get("/health"));
    bytes.extend(b"OPTIONS /mcp HTTP/1.1\r\nHost: localhost\r\nOrigin: http://x\r\n\r\n");
    bytes.extend(post("{bad", None));
    bytes.extend(b"POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2025-06-18\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\n{\"js\r\n24\r\nonrpc\":\"2.0\",\"id\":5,\"method\":\"ping\"}\r\n0\r\nX-Trailer: 1\r\n\r\n");
    bytes.extend(get("/ready"));
    bytes
}

fn run_split(input: &[u8], cuts: &[usize]) -> (Vec<u8>, bool) {
    let mut h = harness();
    let mut start = 0;
    for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
        let cut = cut.clamp(start, input.len());
        h.input(&input[start..cut]);
        start = cut;
    }
    h.run_calls();
    (h.wire.clone(), h.is_closed())
}

/// The output with the per-request random ids blanked, for comparing runs.
fn blanked(wire: &[u8]) -> String {
    String::from_utf8_lossy(wire)
        .split("\r\n")
        .map(|line| {
            if line.starts_with("X-Request-Id") || line.starts_with("Mcp-Session-Id") {
                "ID"
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\r\n")
}

#[test]
fn the_conversation_gets_its_answers() {
    let (wire, closed) = run_split(&conversation(), &[]);
    assert!(!closed);
    let (responses, _) = parse_responses(&wire, false);
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 200, 204, 400, 400, 200]);
    // The chunked body was decoded: it is refused for its missing session, not as bad JSON.
    let message = responses[4].json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("Mcp-Session-Id"), "{message}");
}

proptest! {
    #[test]
    fn http_output_is_the_same_however_the_input_is_split(mut cuts in proptest::collection::vec(0usize..2000, 0..30)) {
        let input = conversation();
        cuts.sort_unstable();
        let (split, split_closed) = run_split(&input, &cuts);
        let (whole, whole_closed) = run_split(&input, &[]);
        prop_assert_eq!(blanked(&split), blanked(&whole));
        prop_assert_eq!(split_closed, whole_closed);
    }
}

#[test]
fn a_flood_of_pipelined_requests_does_not_deepen_the_stack() {
    let config = Config {
        max_requests_per_connection: 100_000,
        ..Config::default()
    };
    let mut h = HttpHarness::new(config, test_tools());
    let flood: Vec<u8> = get("/health").repeat(20_000);
    // Fed in pieces no bigger than the decoder takes, as an adapter would.
    for piece in flood.chunks(64 * 1024) {
        h.input(piece);
    }
    assert_eq!(h.responses().len(), 20_000);
    assert!(!h.is_closed());
}

#[test]
fn the_last_request_a_connection_may_carry_is_answered_with_connection_close() {
    let config = Config {
        max_requests_per_connection: 3,
        rate_limit: 0,
        ..Config::default()
    };
    let mut h = HttpHarness::new(config, test_tools());
    h.input(&get("/health").repeat(3));
    let responses = h.responses();
    let connection: Vec<_> = responses
        .iter()
        .map(|r| r.header("connection").unwrap_or_default())
        .collect();
    // HTTP/1.1 keeps the connection without saying so.
    assert_eq!(connection, ["", "", "close"]);
    assert!(h.is_closed());
}

#[test]
fn a_stream_closes_when_its_client_leaves_or_the_server_drains() {
    let mut h = harness();
    let session = initialize(&mut h);
    let open = format!(
        "GET /mcp HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\nMcp-Session-Id: {session}\r\n\r\n"
    );
    h.reconnect();
    h.input(open.as_bytes());
    let head = String::from_utf8_lossy(&h.wire).into_owned();
    assert!(
        head.contains("Connection: close"),
        "a stream is never reused: {head}"
    );
    assert!(
        h.server.wants_input(h.conn),
        "reading goes on to notice the client leaving"
    );
    h.server.handle_eof(h.conn, h.now).unwrap();
    h.drain();
    assert!(h.is_closed(), "the client left its stream");

    // Requests pipelined behind a stream are never answered (it ends with the connection);
    // they are dropped, so reading never stops and the client's leaving is still seen.
    h.reconnect();
    h.input(open.as_bytes());
    let streamed = h.wire.len();
    let ping = br#"{"jsonrpc":"2.0","id":9,"method":"ping"}"#;
    let pipelined = format!(
        "POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nMcp-Session-Id: {session}\r\nContent-Length: {}\r\n\r\n{}",
        ping.len(),
        String::from_utf8_lossy(ping)
    );
    let limit = h.server.config().max_head_bytes + h.server.config().max_body_bytes;
    for _ in 0..=limit / pipelined.len() + 1 {
        assert!(h.server.wants_input(h.conn), "reading goes on behind a stream");
        h.input(pipelined.as_bytes());
    }
    assert_eq!(
        h.wire.len(),
        streamed,
        "nothing pipelined behind a stream is answered"
    );
    h.server.handle_eof(h.conn, h.now).unwrap();
    h.drain();
    assert!(h.is_closed(), "the client left its stream");

    h.reconnect();
    h.input(open.as_bytes());
    let stream = h.conn;
    h.server.shutdown(h.now);
    h.drain();
    assert!(h.closed.contains(&stream), "shutdown ends streams");
    assert!(h.wire.ends_with(b"0\r\n\r\n"), "the stream ended cleanly");
    assert!(h.server.is_drained());
}

#[test]
fn a_stream_opened_behind_a_full_buffer_still_reads() {
    let mut h = harness();
    let session = initialize(&mut h);
    h.reconnect();
    let call =
        r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x"}}}"#;
    h.input(&post(call, Some(&session)));
    // While the call runs, a stream request and more calls pile up behind it until the
    // buffer is full and reading pauses.
    let open = format!(
        "GET /mcp HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\nMcp-Session-Id: {session}\r\n\r\n"
    );
    h.input(open.as_bytes());
    let mut behind = 0;
    while h.server.wants_input(h.conn) {
        h.input(&post(call, Some(&session)));
        behind += 1;
    }
    assert!(behind > 1, "the buffer filled");
    h.run_calls();
    let responses = h.responses();
    assert_eq!(responses.len(), 1, "the call is answered, then the stream starts");
    assert!(
        String::from_utf8_lossy(&h.wire).contains("Content-Type: text/event-stream"),
        "the stream started"
    );
    assert!(
        h.server.wants_input(h.conn),
        "reading goes on during the stream, whatever is buffered behind it"
    );
    h.input(&post(call, Some(&session)));
    h.server.handle_eof(h.conn, h.now).unwrap();
    h.drain();
    assert!(h.is_closed(), "the client left its stream");
    assert!(h.calls.is_empty(), "nothing behind the stream ran");
}

#[test]
fn a_probe_before_initialize_is_answered_by_the_2026_revision() {
    let mut h = harness();
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#;
    let request = format!(
        "POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2026-07-28\r\nMcp-Method: server/discover\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let response = h.exchange(request.as_bytes());
    assert_eq!(response.status, 200);
    assert_eq!(response.header("mcp-session-id"), None);
    let result = &response.json()["result"];
    assert_eq!(result["supportedVersions"][4], "2026-07-28");
    assert_eq!(result["resultType"], "complete");
    // A client that prefers sessions still has them, on the same connection.
    initialize(&mut h);
}

#[test]
fn plain_json_rpc_is_served_without_a_session_unless_sessions_are_required() {
    let call = r#"{"jsonrpc":"2.0","id":7,"method":"tools/list"}"#;
    let mut h = harness();
    let plain = h.exchange(&post(call, None));
    assert_eq!(plain.status, 200);
    assert_eq!(plain.header("mcp-session-id"), None);
    assert!(plain.json()["result"]["tools"].is_array());
    assert_eq!(h.server.stats().sessions, 0, "nothing is kept for it");
    let config = Config {
        require_sessions: true,
        ..Config::default()
    };
    let mut strict = HttpHarness::new(config, test_tools());
    let refused = strict.exchange(&post(call, None));
    assert_eq!(refused.status, 400);
    assert_eq!(refused.json()["error"]["code"], -32600);
}

/// Adds an `MCP-Protocol-Version` header to a request.
fn with_version(request: &[u8], version: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(request);
    text.replacen(
        "\r\n\r\n",
        &format!("\r\nMCP-Protocol-Version: {version}\r\n\r\n"),
        1,
    )
    .into_bytes()
}
