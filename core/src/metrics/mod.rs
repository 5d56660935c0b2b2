//! Metrics as data: counters and histograms the core updates as requests finish, and the
//! counts only the embedder sees (log lines it dropped, connections that waited), rendered
//! in the Prometheus text format for `GET /metrics`.

/// Something only the embedding code sees, counted in the server's metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HostCounter {
    /// Log lines dropped because the log writer fell behind.
    LogLinesDropped,
    /// Connections that waited in the listen backlog because `MAX_CONNECTIONS` were open.
    ConnectionsDeferred,
    /// Accepts that failed (out of descriptors, reset before accept).
    AcceptErrors,
    /// Spans dropped because the exporter's queue was full.
    SpansDropped,
}

/// The embedder's counts, as reported with [`Server::count`](crate::Server::count).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct HostCounts {
    pub(crate) log_lines_dropped: u64,
    pub(crate) connections_deferred: u64,
    pub(crate) accept_errors: u64,
    pub(crate) spans_dropped: u64,
}

impl HostCounts {
    pub(crate) fn add(&mut self, counter: HostCounter, n: u64) {
        let count = match counter {
            HostCounter::LogLinesDropped => &mut self.log_lines_dropped,
            HostCounter::ConnectionsDeferred => &mut self.connections_deferred,
            HostCounter::AcceptErrors => &mut self.accept_errors,
            HostCounter::SpansDropped => &mut self.spans_dropped,
        };
        *count = count.saturating_add(n);
    }
}

mod histogram;
mod render;

use std::collections::BTreeMap;

use histogram::{Histogram, OPERATION_BOUNDS, SESSION_BOUNDS};
pub(crate) use render::{CONTENT_TYPE, Snapshot};

/// The MCP methods the metrics name; any other method is counted as `other`, so that a
/// client cannot grow the label set.
const METHODS: &[&str] = &[
    "initialize",
    "ping",
    "server/discover",
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/read",
    "resources/templates/list",
    "resources/subscribe",
    "resources/unsubscribe",
    "prompts/list",
    "prompts/get",
    "completion/complete",
    "logging/setLevel",
    "subscriptions/listen",
    "tasks/get",
    "tasks/update",
    "tasks/cancel",
    "tasks/list",
    "tasks/result",
    "notifications/initialized",
    "notifications/cancelled",
    "notifications/progress",
    "notifications/roots/list_changed",
];

/// Returns the label a JSON-RPC method is counted under: itself when MCP defines it,
/// `other` otherwise.
pub(crate) fn method_label(method: &str) -> &'static str {
    METHODS
        .iter()
        .find(|known| **known == method)
        .copied()
        .unwrap_or("other")
}

/// How a request ended, as the `outcome` label says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Outcome {
    /// Answered with a result.
    Ok,
    /// Answered with a JSON-RPC error, or an HTTP error before any JSON-RPC.
    Error,
    /// A tool's result with `isError: true`.
    ToolError,
    /// A notification or a client's response, accepted.
    Accepted,
    /// Cancelled before it finished.
    Cancelled,
}

impl Outcome {
    /// Every outcome, in order.
    const ALL: [Self; 5] = [
        Self::Ok,
        Self::Error,
        Self::ToolError,
        Self::Accepted,
        Self::Cancelled,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Error => "error",
            Self::ToolError => "tool_error",
            Self::Accepted => "accepted",
            Self::Cancelled => "cancelled",
        }
    }
}

/// What one finished request tells the metrics.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Request<'a> {
    /// The JSON-RPC method's label, or `http` for an HTTP request that carried none.
    pub(crate) method: &'static str,
    /// The tool a `tools/call` named.
    pub(crate) tool: Option<&'a str>,
    pub(crate) outcome: Outcome,
    /// The JSON-RPC error code, when it failed with one.
    pub(crate) code: Option<i64>,
    /// The HTTP status, over HTTP.
    pub(crate) status: Option<u16>,
    /// How long it took, when it is an MCP operation.
    pub(crate) seconds: Option<f64>,
}

/// The `error_type` of a tool result with `isError: true`.
const TOOL_ERROR: i64 = 1;

/// Counts by outcome, indexed as [`Outcome`] is ordered.
type ByOutcome = [u64; 5];

/// The server's counters and histograms. Label values are bounded: methods by [`METHODS`],
/// tools by the registry (the caller passes `unknown` for a name no tool has), codes and
/// statuses by what the server sends.
#[derive(Debug, Clone)]
pub(crate) struct Metrics {
    /// Requests by method, outcome, JSON-RPC code (0: none) and HTTP status (0: none).
    requests: BTreeMap<(&'static str, Outcome, i64, u16), u64>,
    /// Tool calls by tool, then outcome.
    tools: BTreeMap<String, ByOutcome>,
    /// Operation durations by method and error type (0: none, 1: a tool error, else the
    /// JSON-RPC code), then tool ("" for none).
    operations: BTreeMap<(&'static str, i64), BTreeMap<String, Histogram>>,
    sessions: Histogram,
    rate_limited: u64,
    pub(crate) host: HostCounts,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            requests: BTreeMap::new(),
            tools: BTreeMap::new(),
            operations: BTreeMap::new(),
            sessions: Histogram::new(SESSION_BOUNDS),
            rate_limited: 0,
            host: HostCounts::default(),
        }
    }
}

impl Metrics {
    /// Counts one finished request.
    pub(crate) fn request(&mut self, request: Request<'_>) {
        let code = request.code.unwrap_or(0);
        let key = (request.method, request.outcome, code, request.status.unwrap_or(0));
        *self.requests.entry(key).or_default() += 1;
        if code == crate::error::ErrorCode::RateLimit.code() {
            self.rate_limited += 1;
        }
        if let Some(tool) = request.tool {
            let counts = match self.tools.get_mut(tool) {
                Some(counts) => counts,
                None => self.tools.entry(tool.to_owned()).or_default(),
            };
            counts[request.outcome as usize] += 1;
        }
        if let Some(seconds) = request.seconds {
            let error = match request.outcome {
                Outcome::ToolError => TOOL_ERROR,
                _ => code,
            };
            let by_tool = self.operations.entry((request.method, error)).or_default();
            let tool = request.tool.unwrap_or_default();
            let histogram = match by_tool.get_mut(tool) {
                Some(histogram) => histogram,
                None => by_tool
                    .entry(tool.to_owned())
                    .or_insert_with(|| Histogram::new(OPERATION_BOUNDS)),
            };
            histogram.observe(seconds);
        }
    }

    /// Records how long an HTTP session lasted, when it ends.
    pub(crate) fn session_ended(&mut self, seconds: f64) {
        self.sessions.observe(seconds);
    }
}

#[cfg(test)]
mod tests;
