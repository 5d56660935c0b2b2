//! What an operator sees, on the virtual clock: `/metrics` after a known set of requests,
//! one span per request with the MCP attributes and the caller's parent, and the drain.

mod common;

use std::time::Duration;

use common::http::{HttpHarness, INITIALIZE, get, post};
use common::test_tools;
use rampart_core::trace::{AttributeValue, SpanRecord};
use rampart_core::{Config, Level, Status};
use serde_json::{Value, json};

const PARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

fn harness(config: Config) -> HttpHarness {
    HttpHarness::new(config, test_tools())
}

fn call(id: i64, name: &str, arguments: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": name, "arguments": arguments}})
        .to_string()
}

/// Returns the value of the sample `series` (name and labels as written) in `text`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

fn metrics(h: &mut HttpHarness) -> String {
    let response = h.exchange(&get("/metrics"));
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    String::from_utf8(response.body).unwrap()
}

#[test]
fn counters_and_the_histogram_move_with_a_known_set_of_requests() {
    let mut h = harness(Config::default());
    for i in 0..3 {
        assert_eq!(
            h.exchange(&post(&call(i, "echo", json!({"text": "hi"})), None))
                .status,
            200
        );
    }
    h.exchange(&post(&call(10, "soft_fail", json!({})), None));
    h.exchange(&post(&call(11, "no-such-tool", json!({})), None));
    h.exchange(&post(&call(12, "no-such-tool-either", json!({})), None));
    h.exchange(&post(&call(13, "echo", json!({})), None));
    let text = metrics(&mut h);
    let ok = r#"rampart_requests_total{method="tools/call",outcome="ok",code="",status="200"}"#;
    assert_eq!(sample(&text, ok), Some(3.0), "{text}");
    let tool_error = r#"rampart_tool_calls_total{tool="soft_fail",outcome="tool_error"}"#;
    assert_eq!(sample(&text, tool_error), Some(1.0));
    // Names no tool has share one label.
    let unknown = r#"rampart_tool_calls_total{tool="unknown",outcome="error"}"#;
    assert_eq!(sample(&text, unknown), Some(2.0));
    assert!(!text.contains("no-such-tool"));
    let invalid = r#"rampart_requests_total{method="tools/call",outcome="error",code="-32000",status="200"}"#;
    assert_eq!(sample(&text, invalid), Some(1.0), "{text}");
    let count = r#"mcp_server_operation_duration_seconds_count{mcp_method_name="tools/call",error_type="",gen_ai_tool_name="echo"}"#;
    assert_eq!(sample(&text, count), Some(3.0));
    let bucket = r#"mcp_server_operation_duration_seconds_bucket{mcp_method_name="tools/call",error_type="",gen_ai_tool_name="echo",le="+Inf"}"#;
    assert_eq!(sample(&text, bucket), Some(3.0));
    // The scrape itself is counted once it is answered: the second one sees the first.
    let scrape = r#"rampart_requests_total{method="http",outcome="ok",code="",status="200"}"#;
    assert_eq!(sample(&metrics(&mut h), scrape), Some(1.0));
    assert_eq!(sample(&text, "rampart_connections"), Some(1.0));
    assert!(text.contains("rampart_build_info{server_name=\"unnamed-server\""));
}

#[test]
fn sessions_rate_limits_and_their_durations_are_counted() {
    let config = Config {
        rate_limit: 5,
        ..Config::default()
    };
    let mut h = harness(config);
    let response = h.exchange(&post(INITIALIZE, None));
    let session = response.header("mcp-session-id").unwrap().to_owned();
    assert_eq!(sample(&metrics(&mut h), "rampart_sessions"), Some(1.0));
    h.advance(Duration::from_secs(40));
    let delete = format!(
        "DELETE /mcp HTTP/1.1\r\nHost: localhost\r\nMcp-Session-Id: {session}\r\nMCP-Protocol-Version: 2025-11-25\r\n\r\n"
    );
    assert_eq!(h.exchange(delete.as_bytes()).status, 204);
    // A burst of 5: some of these are refused.
    let mut refused = 0;
    for _ in 0..6 {
        if h.is_closed() {
            h.reconnect();
        }
        refused += usize::from(h.exchange(&get("/health")).status == 429);
    }
    assert!(refused > 0);
    h.advance(Duration::from_secs(60));
    h.reconnect();
    let text = metrics(&mut h);
    assert_eq!(sample(&text, "rampart_rate_limited_total"), Some(refused as f64));
    assert_eq!(sample(&text, "rampart_sessions"), Some(0.0));
    assert_eq!(
        sample(&text, r#"mcp_server_session_duration_seconds_bucket{le="30"}"#),
        Some(0.0)
    );
    assert_eq!(
        sample(&text, r#"mcp_server_session_duration_seconds_bucket{le="60"}"#),
        Some(1.0)
    );
}

#[test]
fn a_metrics_token_guards_the_exposition() {
    let mut config = Config::default();
    config.serving.metrics_token = Some("scrape-me".into());
    let mut h = harness(config);
    let refused = h.exchange(&get("/metrics"));
    assert_eq!(refused.status, 401);
    assert!(refused.header("www-authenticate").unwrap().starts_with("Bearer"));
    let wrong = b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer nope\r\n\r\n";
    assert_eq!(h.exchange(wrong).status, 401);
    let right = b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer scrape-me\r\n\r\n";
    let response = h.exchange(right);
    assert_eq!(response.status, 200);
    assert!(String::from_utf8_lossy(&response.body).contains("rampart_requests_total"));
    // The probes stay open.
    assert_eq!(h.exchange(&get("/health")).status, 200);
}

#[test]
fn with_a_metrics_address_only_its_connections_serve_metrics() {
    let mut config = Config::default();
    config.serving.metrics_addr = Some("127.0.0.1:9090".parse().unwrap());
    let mut h = harness(config);
    assert_eq!(h.exchange(&get("/metrics")).status, 404);
    h.reconnect();
    h.server.serve_metrics_only(h.conn);
    assert_eq!(h.exchange(&get("/metrics")).status, 200);
    // Scrapers name the pod by its IP: the metrics port does not check Host.
    let by_ip = b"GET /metrics HTTP/1.1\r\nHost: 10.1.2.3:9090\r\n\r\n";
    assert_eq!(h.exchange(by_ip).status, 200);
    assert_eq!(h.exchange(&get("/ready")).status, 200);
    assert_eq!(
        h.exchange(&post(&call(1, "echo", json!({"text": "x"})), None))
            .status,
        404
    );
}

fn traced() -> Config {
    let mut config = Config::default();
    config.trace.endpoint = Some("http://127.0.0.1:4318".into());
    config
}

fn attribute<'a>(span: &'a SpanRecord, key: &str) -> Option<&'a str> {
    match span.attribute(key)? {
        AttributeValue::Str(value) => Some(value.as_ref()),
        _ => None,
    }
}

#[test]
fn every_request_makes_one_span_with_the_mcp_attributes() {
    let mut h = harness(traced());
    let response = h.exchange(&post(INITIALIZE, None));
    let session = response.header("mcp-session-id").unwrap().to_owned();
    let mut request =
        String::from_utf8(post(&call(7, "echo", json!({"text": "hi"})), Some(&session))).unwrap();
    request = request.replacen("\r\n", &format!("\r\ntraceparent: {PARENT}\r\n"), 1);
    assert_eq!(h.exchange(request.as_bytes()).status, 200);
    let meta_parent = "00-11111111111111111111111111111111-2222222222222222-01";
    let body = json!({"jsonrpc": "2.0", "id": 8, "method": "tools/call",
        "params": {"name": "missing", "arguments": {}, "_meta": {"traceparent": meta_parent}}});
    h.exchange(&post(&body.to_string(), Some(&session)));
    h.exchange(&get("/health"));
    assert_eq!(h.spans.len(), 3, "one span per MCP request, none for probes");
    let init = &h.spans[0];
    assert_eq!(init.name, "initialize");
    assert_eq!(init.parent_span_id, None);
    let echo = &h.spans[1];
    assert_eq!(echo.name, "tools/call echo");
    assert_eq!(attribute(echo, "mcp.method.name"), Some("tools/call"));
    assert_eq!(attribute(echo, "gen_ai.tool.name"), Some("echo"));
    assert_eq!(attribute(echo, "gen_ai.operation.name"), Some("execute_tool"));
    assert_eq!(attribute(echo, "jsonrpc.request.id"), Some("7"));
    assert_eq!(attribute(echo, "mcp.protocol.version"), Some("2025-11-25"));
    assert_eq!(attribute(echo, "mcp.session.id"), Some(session.as_str()));
    assert_eq!(attribute(echo, "network.transport"), Some("tcp"));
    assert_eq!(echo.trace_id[..2], [0x0a, 0xf7]);
    assert_eq!(
        echo.parent_span_id,
        Some([0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x31])
    );
    assert_eq!(echo.error, None);
    assert!(echo.end >= echo.start);
    // Without content capture, no arguments.
    assert_eq!(attribute(echo, "gen_ai.tool.call.arguments"), None);
    let missing = &h.spans[2];
    assert_eq!(missing.trace_id, [0x11; 16]);
    assert_eq!(missing.parent_span_id, Some([0x22; 8]));
    assert_eq!(attribute(missing, "error.type"), Some("-32001"));
    assert!(missing.error.is_some());
}

#[test]
fn tool_arguments_and_results_reach_spans_only_when_opted_in() {
    let mut config = traced();
    config.trace.capture_content = true;
    let mut h = harness(config);
    h.exchange(&post(&call(1, "echo", json!({"text": "private"})), None));
    let span = &h.spans[0];
    assert_eq!(
        attribute(span, "gen_ai.tool.call.arguments"),
        Some(r#"{"text":"private"}"#)
    );
    assert!(attribute(span, "gen_ai.tool.call.result").is_some_and(|result| result.contains("private")));
}

#[test]
fn no_spans_without_an_endpoint() {
    let mut h = harness(Config::default());
    h.exchange(&post(&call(1, "echo", json!({"text": "hi"})), None));
    assert!(h.spans.is_empty());
}

#[test]
fn a_drain_fails_readiness_first_then_cuts_calls_short_at_its_timeout() {
    let mut config = Config::default();
    config.serving.drain_timeout = Duration::from_secs(5);
    let mut h = harness(config);
    h.server.begin_drain();
    let ready = h.exchange(&get("/ready"));
    assert_eq!(ready.status, 503);
    assert_eq!(ready.json()["status"], "draining");
    // The probe answered as it should: an INFO record, not a client's error.
    let record = h.logs.last().unwrap();
    assert_eq!(
        (record.level, record.status, record.http_status),
        (Level::Info, Status::Ok, Some(503))
    );
    // Everything else is still served, on a connection kept alive.
    assert_eq!(h.exchange(&get("/health")).status, 200);
    assert_eq!(
        h.exchange(&post(&call(1, "echo", json!({"text": "x"})), None))
            .status,
        200
    );
    h.input(&post(&call(2, "never", json!({})), None));
    assert_eq!(h.calls.len(), 1);
    let now = h.now;
    h.server.shutdown(now);
    h.drain();
    h.advance(Duration::from_secs(4));
    assert!(
        h.responses().is_empty(),
        "the call may run until the drain timeout"
    );
    h.advance(Duration::from_secs(1));
    let response = h.responses().remove(0);
    assert_eq!(response.json()["error"]["code"], -32004);
    assert!(h.is_closed());
    assert!(h.server.is_drained());
    let stats = h.server.stats();
    assert_eq!((stats.connections, stats.running_calls), (0, 0));
}
