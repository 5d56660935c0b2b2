//! The Prometheus text exposition format (version 0.0.4), written by hand: the format is
//! small, and the counters are plain data under the server's lock, not registered atomic
//! metric objects as `prometheus-client` keeps them (whose encoder writes OpenMetrics, which
//! `promtool check metrics` and older scrapers do not read as the classic format).

use std::fmt::Write;

use super::histogram::Histogram;
use super::{Counts, Metrics, Outcome};
use crate::server::Stats;

/// `Content-Type` of the exposition.
pub(crate) const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What the exposition says beyond the counters: the server's gauges and identity.
#[derive(Clone, Copy)]
pub(crate) struct Snapshot<'a> {
    pub(crate) stats: Stats,
    pub(crate) ready: bool,
    pub(crate) draining: bool,
    pub(crate) uptime_seconds: f64,
    pub(crate) server_name: &'a str,
    pub(crate) server_version: &'a str,
}

impl Metrics {
    /// Writes every metric in the Prometheus text format: the process's, merged from every
    /// shard's seat when the server is one shard of several (the other shards' gauges as
    /// they last published them).
    pub(crate) fn render(&self, snapshot: &Snapshot<'_>) -> String {
        let host = self.host.get();
        let Some(seat) = &self.seat else {
            return self.counts.render(snapshot, host);
        };
        let (counts, stats) = seat.merged(snapshot.stats);
        let snapshot = Snapshot { stats, ..*snapshot };
        counts.render(&snapshot, host)
    }
}

impl Counts {
    /// Writes every metric in the Prometheus text format, with the embedder's counts `host`
    /// (log lines dropped, connections deferred, accept errors, spans dropped).
    fn render(&self, snapshot: &Snapshot<'_>, host: [u64; 4]) -> String {
        let mut out = String::with_capacity(4096);
        let w = &mut out;
        family(
            w,
            "rampart_build_info",
            "gauge",
            "The server's name and version, and rampart's.",
        );
        sample(
            w,
            "rampart_build_info",
            &[
                ("server_name", snapshot.server_name),
                ("server_version", snapshot.server_version),
                ("rampart_version", env!("CARGO_PKG_VERSION")),
            ],
            1.0,
        );
        family(
            w,
            "rampart_requests_total",
            "counter",
            "Requests finished, by method, outcome, JSON-RPC error code and HTTP status.",
        );
        for ((method, outcome, code, status), n) in &self.requests {
            let code = label_number(*code);
            let status = label_number(i64::from(*status));
            let labels = [
                ("method", *method),
                ("outcome", outcome.as_str()),
                ("code", &code),
                ("status", &status),
            ];
            sample(w, "rampart_requests_total", &labels, *n as f64);
        }
        family(
            w,
            "rampart_tool_calls_total",
            "counter",
            "Tool calls finished, by tool (unknown for a name no tool has) and outcome.",
        );
        for (tool, counts) in &self.tools {
            for (outcome, n) in Outcome::ALL.iter().zip(counts).filter(|(_, n)| **n > 0) {
                let labels = [("tool", tool.as_str()), ("outcome", outcome.as_str())];
                sample(w, "rampart_tool_calls_total", &labels, *n as f64);
            }
        }
        let name = "mcp_server_operation_duration_seconds";
        family(
            w,
            name,
            "histogram",
            "MCP request or notification duration, from receipt to the answer sent.",
        );
        for ((method, error), by_tool) in &self.operations {
            let error = match *error {
                0 => String::new(),
                super::TOOL_ERROR => "tool_error".into(),
                code => code.to_string(),
            };
            for (tool, histogram) in by_tool {
                let mut labels = vec![("mcp_method_name", *method), ("error_type", error.as_str())];
                if !tool.is_empty() {
                    labels.push(("gen_ai_tool_name", tool.as_str()));
                }
                write_histogram(w, name, &labels, histogram);
            }
        }
        let name = "mcp_server_session_duration_seconds";
        family(
            w,
            name,
            "histogram",
            "How long HTTP sessions lasted, from initialize to their end.",
        );
        write_histogram(w, name, &[], &self.sessions);
        let stats = &snapshot.stats;
        let [
            log_lines_dropped,
            connections_deferred,
            accept_errors,
            spans_dropped,
        ] = host;
        let counters: [(&str, &str, u64); 8] = [
            (
                "rampart_rate_limited_total",
                "Requests refused by a rate limit (-32006).",
                self.rate_limited,
            ),
            (
                "rampart_store_failures_total",
                "Shared-store requests that failed or timed out.",
                stats.store_failures,
            ),
            (
                "rampart_store_fallbacks_total",
                "Rate limits decided locally while the shared store failed.",
                stats.store_fallbacks,
            ),
            (
                "rampart_store_dropped_total",
                "Shared-store requests dropped because too many were out.",
                stats.store_dropped,
            ),
            (
                "rampart_log_lines_dropped_total",
                "Log lines dropped because the log writer fell behind.",
                log_lines_dropped,
            ),
            (
                "rampart_connections_deferred_total",
                "Connections that waited in the backlog at MAX_CONNECTIONS.",
                connections_deferred,
            ),
            (
                "rampart_accept_errors_total",
                "Accepts that failed (out of descriptors, reset).",
                accept_errors,
            ),
            (
                "rampart_spans_dropped_total",
                "Spans dropped because the exporter's queue was full.",
                spans_dropped,
            ),
        ];
        for (name, help, value) in counters {
            family(w, name, "counter", help);
            sample(w, name, &[], value as f64);
        }
        let gauges: [(&str, &str, f64); 9] = [
            (
                "rampart_connections",
                "Open connections.",
                stats.connections as f64,
            ),
            (
                "rampart_calls_in_flight",
                "Handlers running.",
                stats.running_calls as f64,
            ),
            ("rampart_sessions", "HTTP sessions held.", stats.sessions as f64),
            (
                "rampart_client_requests_pending",
                "Requests to clients waiting for an answer.",
                stats.client_requests as f64,
            ),
            (
                "rampart_rate_limited_clients",
                "Clients with a rate-limit bucket of their own.",
                stats.rate_limited_clients as f64,
            ),
            (
                "rampart_store_requests_pending",
                "Shared-store requests waiting for an answer.",
                stats.store_requests as f64,
            ),
            (
                "rampart_ready",
                "1 while /ready answers 200.",
                f64::from(u8::from(snapshot.ready)),
            ),
            (
                "rampart_draining",
                "1 once a drain has begun.",
                f64::from(u8::from(snapshot.draining)),
            ),
            (
                "rampart_uptime_seconds",
                "Seconds since the server started.",
                snapshot.uptime_seconds,
            ),
        ];
        for (name, help, value) in gauges {
            family(w, name, "gauge", help);
            sample(w, name, &[], value);
        }
        out
    }
}

/// A label value for a number where 0 means none: empty then.
fn label_number(n: i64) -> String {
    if n == 0 { String::new() } else { n.to_string() }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: f64) {
    out.push_str(name);
    write_labels(out, labels, None);
    let _ = writeln!(out, " {}", number(value));
}

fn write_histogram(out: &mut String, name: &str, labels: &[(&str, &str)], histogram: &Histogram) {
    for (bound, count) in histogram.cumulative() {
        let _ = write!(out, "{name}_bucket");
        write_labels(out, labels, Some(&number(bound)));
        let _ = writeln!(out, " {count}");
    }
    let _ = write!(out, "{name}_bucket");
    write_labels(out, labels, Some("+Inf"));
    let _ = writeln!(out, " {}", histogram.count);
    let _ = write!(out, "{name}_sum");
    write_labels(out, labels, None);
    let _ = writeln!(out, " {}", number(histogram.sum));
    let _ = write!(out, "{name}_count");
    write_labels(out, labels, None);
    let _ = writeln!(out, " {}", histogram.count);
}

/// Writes `{a="x",b="y"}` (with `le` last, for a bucket), escaping the values; nothing for
/// no labels.
fn write_labels(out: &mut String, labels: &[(&str, &str)], le: Option<&str>) {
    if labels.is_empty() && le.is_none() {
        return;
    }
    out.push('{');
    let le = le.map(|le| ("le", le));
    for (i, (name, value)) in labels.iter().copied().chain(le).enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(name);
        out.push_str("=\"");
        for c in value.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out.push('}');
}

/// Writes a sample value as Prometheus reads it.
fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf".into() } else { "-Inf".into() }
    } else {
        value.to_string()
    }
}
