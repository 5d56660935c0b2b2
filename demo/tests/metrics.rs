//! `GET /metrics` of the real demo on both runtimes: `promtool check metrics` (from
//! Debian's `prometheus` package) accepts the exposition, and the counters and the
//! operation histogram move by exactly a known set of requests.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use support::DemoServer;
use support::cluster::http_request;

/// Returns the value of the sample `series` (name and labels as written) in `text`.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

fn scrape(server: &DemoServer, token: Option<&str>) -> (u16, String) {
    let auth = token.map(|token| format!("Bearer {token}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    let response = http_request(server.port, "GET", "/metrics", &headers, "").expect("GET /metrics");
    (response.status, response.body)
}

fn call(server: &DemoServer, id: u64, tool: &str, arguments: serde_json::Value) -> u16 {
    let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": tool, "arguments": arguments}});
    let headers = [
        ("Content-Type", "application/json"),
        ("Accept", "application/json, text/event-stream"),
    ];
    http_request(server.port, "POST", "/mcp", &headers, &body.to_string())
        .expect("POST /mcp")
        .status
}

/// Sends `GET path` with `Host: host` on a fresh connection; returns the response's head.
fn get_with_host(port: u16, path: &str, host: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).expect("write");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
}

/// Runs `promtool check metrics` on `exposition`; panics with its output when it refuses.
fn promtool_accepts(exposition: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian package prometheus; scripts/test.sh installs it) on PATH");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(exposition.as_bytes())
        .expect("write to promtool");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = support::wait_or_kill(&mut child, deadline).expect("promtool within 30 s");
    let output = child.wait_with_output().expect("promtool output");
    assert!(
        status.success(),
        "promtool check metrics refused the exposition:\n{}{}\n---\n{exposition}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn counts_and_validates(runtime: &str) {
    let server = DemoServer::start(runtime, &[("RATE_LIMIT", "0")]);
    let (status, before) = scrape(&server, None);
    assert_eq!(status, 200);
    promtool_accepts(&before);
    let ok = r#"rampart_tool_calls_total{tool="user.list@v1",outcome="ok"}"#;
    let unknown = r#"rampart_tool_calls_total{tool="unknown",outcome="error"}"#;
    let histogram = r#"mcp_server_operation_duration_seconds_count{mcp_method_name="tools/call",error_type="",gen_ai_tool_name="user.list@v1"}"#;
    let invalid = r#"rampart_requests_total{method="tools/call",outcome="error",code="-32000",status="200"}"#;
    for id in 0..5 {
        assert_eq!(call(&server, id, "user.list@v1", json!({})), 200);
    }
    call(&server, 10, "no.such@v1", json!({}));
    call(&server, 11, "made-up-by-a-client", json!({}));
    call(&server, 12, "user.create@v1", json!({}));
    let (_, after) = scrape(&server, None);
    promtool_accepts(&after);
    assert_eq!(sample(&after, ok) - sample(&before, ok), 5.0, "{after}");
    assert_eq!(sample(&after, histogram) - sample(&before, histogram), 5.0);
    assert_eq!(sample(&after, unknown) - sample(&before, unknown), 2.0);
    assert_eq!(sample(&after, invalid) - sample(&before, invalid), 1.0);
    assert!(
        !after.contains("made-up-by-a-client"),
        "a client cannot grow the label set"
    );
    assert!(after.contains("rampart_build_info{server_name=\"rampart-demo\""));
}

#[test]
fn the_exposition_passes_promtool_and_counts_on_tokio() {
    counts_and_validates("tokio");
}

#[test]
fn the_exposition_passes_promtool_and_counts_on_smol() {
    counts_and_validates("smol");
}

#[test]
fn a_metrics_token_keeps_the_exposition_private() {
    let server = DemoServer::start("tokio", &[("METRICS_TOKEN", "scrape-secret")]);
    assert_eq!(scrape(&server, None).0, 401);
    assert_eq!(scrape(&server, Some("wrong")).0, 401);
    let (status, body) = scrape(&server, Some("scrape-secret"));
    assert_eq!(status, 200);
    promtool_accepts(&body);
    assert_eq!(
        support::raw_get(server.port, "/health").expect("health").status,
        200
    );
    assert!(
        !server.logs().contains("scrape-secret"),
        "the token never reaches a log"
    );
}

#[test]
fn a_metrics_address_serves_the_exposition_apart_on_both_runtimes() {
    for runtime in ["tokio", "smol"] {
        let port = support::free_port();
        let address = format!("127.0.0.1:{port}");
        let server = DemoServer::start(runtime, &[("METRICS_ADDR", address.as_str())]);
        assert_eq!(
            scrape(&server, None).0,
            404,
            "the main port no longer serves /metrics"
        );
        let response = http_request(port, "GET", "/metrics", &[], "").expect("GET /metrics");
        assert_eq!(response.status, 200, "{runtime}");
        promtool_accepts(&response.body);
        // A scraper names the pod by its IP: the metrics port checks no Host.
        assert!(get_with_host(port, "/metrics", "10.1.2.3:9090").starts_with("HTTP/1.1 200"));
        assert_eq!(
            http_request(port, "GET", "/ready", &[], "")
                .expect("ready")
                .status,
            200
        );
        let mcp = http_request(
            port,
            "POST",
            "/mcp",
            &[("Content-Type", "application/json")],
            "{}",
        );
        assert_eq!(
            mcp.expect("POST /mcp").status,
            404,
            "the metrics port serves nothing else"
        );
        assert!(server.logs().contains(&format!("http://{address}/metrics")));
    }
}
