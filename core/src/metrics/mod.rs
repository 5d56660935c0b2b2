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

/// The embedder's counts, as reported with [`Server::count`](crate::Server::count); the
/// shards of one process share them (they are rare events, so atomics cost nothing).
#[derive(Debug, Clone, Default)]
pub(crate) struct HostCounts(std::sync::Arc<[std::sync::atomic::AtomicU64; 4]>);

impl HostCounts {
    pub(crate) fn add(&self, counter: HostCounter, n: u64) {
        let slot = match counter {
            HostCounter::LogLinesDropped => 0,
            HostCounter::ConnectionsDeferred => 1,
            HostCounter::AcceptErrors => 2,
            HostCounter::SpansDropped => 3,
        };
        if let Some(count) = self.0.get(slot) {
            let _ = count.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |count| {
                Some(count.saturating_add(n))
            });
        }
    }

    /// Returns the counts: log lines dropped, connections deferred, accept errors, spans
    /// dropped.
    pub(crate) fn get(&self) -> [u64; 4] {
        let [a, b, c, d] = &*self.0;
        [a, b, c, d].map(|count| count.load(Ordering::Relaxed))
    }
}

mod board;
mod histogram;
mod render;

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use board::Seat;
#[cfg(test)]
pub(crate) use board::take_seat_locks;
pub(crate) use board::{Board, add};

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

/// The server's metrics: its counters and histograms, kept by the server itself, or, when
/// it is one shard of several, on its seat of a [`Board`] that a scrape merges; and the
/// embedder's counts.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    /// The counts, while the server is alone.
    counts: Counts,
    /// The seat the counts are kept on, when the server is one shard of several.
    seat: Option<Seat>,
    pub(crate) host: HostCounts,
}

impl Metrics {
    /// Counts one finished request.
    pub(crate) fn request(&mut self, request: Request<'_>) {
        match &self.seat {
            Some(seat) => seat.counts(|counts| counts.request(request)),
            None => self.counts.request(request),
        }
    }

    /// Records how long an HTTP session lasted, when it ends.
    pub(crate) fn session_ended(&mut self, seconds: f64) {
        match &self.seat {
            Some(seat) => seat.counts(|counts| counts.sessions.observe(seconds)),
            None => self.counts.sessions.observe(seconds),
        }
    }

    /// Moves the counts to seat `index` of `board`, and shares the board's embedder counts:
    /// from now on a render shows every shard's.
    pub(crate) fn take_seat(&mut self, board: &std::sync::Arc<Board>, index: usize) {
        let counts = std::mem::take(&mut self.counts);
        let seat = Seat::new(board, index);
        seat.counts(|seated| seated.merge(&counts));
        let host = std::mem::replace(&mut self.host, board.host());
        let [dropped, deferred, errors, spans] = host.get();
        for (counter, n) in [
            (HostCounter::LogLinesDropped, dropped),
            (HostCounter::ConnectionsDeferred, deferred),
            (HostCounter::AcceptErrors, errors),
            (HostCounter::SpansDropped, spans),
        ] {
            self.host.add(counter, n);
        }
        self.seat = Some(seat);
    }

    /// Returns whether the counts are kept on a seat of a [`Board`].
    pub(crate) fn is_seated(&self) -> bool {
        self.seat.is_some()
    }

    /// Leaves the server's gauges on its seat for the renders of the other shards; a no-op
    /// while alone, and a lock only when they changed.
    pub(crate) fn publish(&mut self, stats: crate::server::Stats) {
        if let Some(seat) = &mut self.seat {
            seat.publish(stats);
        }
    }
}

/// Counters and histograms. Label values are bounded: methods by [`METHODS`], tools by the
/// registry (the caller passes `unknown` for a name no tool has), codes and statuses by what
/// the server sends.
#[derive(Debug, Clone)]
pub(crate) struct Counts {
    /// Requests by method, outcome, JSON-RPC code (0: none) and HTTP status (0: none).
    requests: BTreeMap<(&'static str, Outcome, i64, u16), u64>,
    /// Tool calls by tool, then outcome.
    tools: BTreeMap<String, ByOutcome>,
    /// Operation durations by method and error type (0: none, 1: a tool error, else the
    /// JSON-RPC code), then tool ("" for none).
    operations: BTreeMap<(&'static str, i64), BTreeMap<String, Histogram>>,
    sessions: Histogram,
    rate_limited: u64,
}

impl Default for Counts {
    fn default() -> Self {
        Self {
            requests: BTreeMap::new(),
            tools: BTreeMap::new(),
            operations: BTreeMap::new(),
            sessions: Histogram::new(SESSION_BOUNDS),
            rate_limited: 0,
        }
    }
}

impl Counts {
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

    /// Adds `other`'s counts to these: the process's counts are the sum of its shards'.
    pub(crate) fn merge(&mut self, other: &Self) {
        for (key, n) in &other.requests {
            *self.requests.entry(*key).or_default() += n;
        }
        for (tool, counts) in &other.tools {
            let mine = self.tools.entry(tool.clone()).or_default();
            for (mine, n) in mine.iter_mut().zip(counts) {
                *mine += n;
            }
        }
        for (key, by_tool) in &other.operations {
            let mine = self.operations.entry(*key).or_default();
            for (tool, histogram) in by_tool {
                mine.entry(tool.clone())
                    .or_insert_with(|| Histogram::new(OPERATION_BOUNDS))
                    .merge(histogram);
            }
        }
        self.sessions.merge(&other.sessions);
        self.rate_limited += other.rate_limited;
    }
}

#[cfg(test)]
mod tests;
