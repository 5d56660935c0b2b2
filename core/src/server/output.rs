//! What the server hands the embedder: bytes to write, events to act on, the next deadline,
//! counters, and the errors of misused inputs.

use std::fmt;
use std::time::Instant;

use crate::handler::{Call, CallId};
use crate::log::LogRecord;
use crate::store::StoreRequest;
use crate::trace::SpanRecord;

/// Identifies one connection (for stdio, the one pair of pipes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(pub(crate) u64);

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "conn-{}", self.0)
    }
}

/// Bytes to write to a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct Transmit {
    /// Where to write.
    pub connection: ConnectionId,
    /// What to write, already framed.
    pub data: Vec<u8>,
}

/// Something the embedder must act on, other than writing bytes. New kinds may come in
/// later versions: match with a wildcard arm that ignores them.
#[derive(Debug)]
#[must_use]
#[non_exhaustive]
pub enum Event {
    /// Run this handler on the runtime and report its outcome with
    /// [`Server::complete`](crate::Server::complete).
    Call(Call),
    /// Drop the future of this call: it timed out, was cancelled, or its client left.
    Cancel(CallId),
    /// Write this log record (for stdio: as one JSON line on stderr).
    Log(LogRecord),
    /// The connection's reader may read its next chunk.
    Resume(ConnectionId),
    /// This connection is finished: write what was transmitted for it, then close it.
    Closed(ConnectionId),
    /// Run this request on the shared store and report its answer with
    /// [`Server::store_reply`](crate::Server::store_reply).
    Store(StoreRequest),
    /// Export this span (made only when [`TraceConfig`](crate::trace::TraceConfig) names
    /// an endpoint).
    Span(SpanRecord),
}

/// The next deadline and what it is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct Timeout {
    /// When [`Server::handle_timeout`](crate::Server::handle_timeout) should be called.
    pub at: Instant,
    /// What expires then.
    pub reason: TimeoutReason,
}

/// Why a deadline exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutReason {
    /// A running handler's deadline.
    Call(CallId),
    /// A running handler's next progress heartbeat.
    Heartbeat(CallId),
    /// A connection's header, body or keep-alive deadline.
    Connection(ConnectionId),
    /// A session's idle expiry.
    SessionExpiry,
    /// A request to the client that must be answered by then.
    ClientRequest,
    /// The end of a shutdown's drain (`DRAIN_TIMEOUT`).
    Drain,
    /// The sweep of idle rate-limit buckets.
    RateLimitSweep,
    /// A request to the shared store that must be answered by then, or the next probe of it.
    Store,
}

/// Counters of what the server holds now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Stats {
    /// Open connections.
    pub connections: usize,
    /// Handlers running.
    pub running_calls: usize,
    /// HTTP sessions held.
    pub sessions: usize,
    /// Requests to clients waiting for an answer.
    pub client_requests: usize,
    /// Clients with a rate-limit bucket of their own (never above the configured cap).
    pub rate_limited_clients: usize,
    /// Requests to the shared store waiting for an answer.
    pub store_requests: usize,
    /// Requests to the shared store that failed or timed out, since the start.
    pub store_failures: u64,
    /// Rate limits decided without the shared store while it failed, since the start.
    pub store_fallbacks: u64,
    /// Requests to the shared store that nothing waited for, dropped because too many were
    /// out (the store stalled), since the start.
    pub store_dropped: u64,
}

/// Misuse of the input methods by the embedding code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// The connection was never accepted, or has been closed.
    #[error("{0} is not open")]
    UnknownConnection(ConnectionId),
    /// The connection is not taking input now: after a chunk, read the next one only once
    /// [`Event::Resume`] names the connection.
    #[error("{0} is not taking input: read again only after Event::Resume")]
    NotTakingInput(ConnectionId),
}

/// A command about a call that is no longer running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The call finished, timed out or was cancelled already; its late outcome is dropped.
    #[error("{0} is not running (it finished, timed out or was cancelled)")]
    NotRunning(CallId),
}
