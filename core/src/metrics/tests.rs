use super::*;
use crate::server::Stats;

fn snapshot() -> Snapshot<'static> {
    Snapshot {
        stats: Stats::default(),
        ready: true,
        draining: false,
        uptime_seconds: 3.0,
        server_name: "demo \"quoted\"",
        server_version: "1.0",
    }
}

fn call(tool: &str, outcome: Outcome, code: Option<i64>) -> Request<'_> {
    Request {
        method: "tools/call",
        tool: Some(tool),
        outcome,
        code,
        status: Some(200),
        seconds: Some(0.03),
    }
}

#[test]
fn requests_and_tool_calls_are_counted_by_their_labels() {
    let mut metrics = Metrics::default();
    metrics.request(call("echo", Outcome::Ok, None));
    metrics.request(call("echo", Outcome::Ok, None));
    metrics.request(call("add", Outcome::ToolError, None));
    // The server names a tool no tool has `unknown`: a client cannot grow the label set.
    metrics.request(call("unknown", Outcome::Error, Some(-32001)));
    let text = metrics.render(&snapshot());
    assert!(text.contains(
        "rampart_requests_total{method=\"tools/call\",outcome=\"ok\",code=\"\",status=\"200\"} 2\n"
    ));
    assert!(text.contains("rampart_tool_calls_total{tool=\"echo\",outcome=\"ok\"} 2\n"));
    assert!(text.contains("rampart_tool_calls_total{tool=\"add\",outcome=\"tool_error\"} 1\n"));
    assert!(text.contains("rampart_tool_calls_total{tool=\"unknown\",outcome=\"error\"} 1\n"));
    let bucket = "mcp_server_operation_duration_seconds_bucket{mcp_method_name=\"tools/call\",error_type=\"\",gen_ai_tool_name=\"echo\",le=\"0.05\"} 2\n";
    assert!(text.contains(bucket), "{text}");
    assert!(text.contains("error_type=\"tool_error\",gen_ai_tool_name=\"add\""));
    assert!(text.contains("error_type=\"-32001\",gen_ai_tool_name=\"unknown\""));
    assert!(text.contains("server_name=\"demo \\\"quoted\\\"\""));
}

#[test]
fn rate_limits_and_sessions_are_counted() {
    let mut metrics = Metrics::default();
    metrics.request(Request {
        method: "http",
        tool: None,
        outcome: Outcome::Error,
        code: Some(-32006),
        status: Some(429),
        seconds: None,
    });
    metrics.session_ended(42.0);
    metrics.host.add(HostCounter::LogLinesDropped, 7);
    let text = metrics.render(&snapshot());
    assert!(text.contains("rampart_rate_limited_total 1\n"));
    assert!(text.contains("mcp_server_session_duration_seconds_bucket{le=\"60\"} 1\n"));
    assert!(text.contains("mcp_server_session_duration_seconds_bucket{le=\"30\"} 0\n"));
    assert!(text.contains("mcp_server_session_duration_seconds_count 1\n"));
    assert!(text.contains("rampart_log_lines_dropped_total 7\n"));
    assert!(text.contains("rampart_ready 1\n"));
    // Without a duration, no histogram series is made.
    assert!(!text.contains("mcp_method_name=\"http\""));
}

#[test]
fn unknown_methods_share_one_label() {
    assert_eq!(method_label("tools/call"), "tools/call");
    assert_eq!(method_label("x/made-up-by-a-client"), "other");
}
