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
