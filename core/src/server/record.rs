//! The one log record of each finished request: what it was, how it ended, how long it took.

use std::borrow::Cow;
use std::time::Instant;

use super::{ConnectionId, Event, Server};
use crate::error::{ErrorCode, RpcError};
use crate::log::{self, Level, LogRecord, Status};
use crate::mcp::modern::Trace;
use crate::time::Now;

/// What one log record says about one request.
pub(super) struct Finished {
    pub(super) connection: ConnectionId,
    pub(super) request_id: String,
    pub(super) method: Option<String>,
    pub(super) started: Option<Instant>,
    pub(super) outcome: Result<Status, RpcError>,
    pub(super) http_status: Option<u16>,
    pub(super) http: Option<String>,
    pub(super) session: Option<String>,
    pub(super) principal: Option<String>,
    /// W3C trace context a 2026-07-28 request carried.
    pub(super) trace: Option<Trace>,
}

impl Finished {
    pub(super) fn new(connection: ConnectionId, request_id: String, started: Instant) -> Self {
        Self {
            connection,
            request_id,
            method: None,
            started: Some(started),
            outcome: Ok(Status::Ok),
            http_status: None,
            http: None,
            session: None,
            principal: None,
            trace: None,
        }
    }
}

impl Server {
    /// Emits the log record of a finished request.
    pub(super) fn log_finished(&mut self, now: Now, finished: Finished) {
        let (level, status, code, message) = match finished.outcome {
            Ok(status) => (Level::Info, status, None, Cow::Borrowed("request finished")),
            Err(error) => {
                let level = match error.code {
                    ErrorCode::Runtime | ErrorCode::Timeout | ErrorCode::InternalError => Level::Error,
                    _ => Level::Warning,
                };
                let message = format!("{}: {}", error.code.name(), error.message);
                (level, Status::Error, Some(error.code.code()), Cow::Owned(message))
            }
        };
        let client = self
            .connections
            .get(&finished.connection)
            .map(|conn| match conn.forwarded_for {
                Some(ip) => ip.to_string(),
                None => conn.client.clone(),
            });
        self.events.push_back(Event::Log(LogRecord {
            timestamp: now.rfc3339(),
            level,
            message,
            request_id: finished.request_id,
            method: finished.method,
            duration_ms: finished
                .started
                .map(|started| log::millis(now.instant.saturating_duration_since(started))),
            status,
            code,
            client,
            principal: finished.principal,
            session: finished.session,
            http_status: finished.http_status,
            http: finished.http,
            traceparent: finished.trace.as_ref().map(|trace| trace.parent.clone()),
            tracestate: finished.trace.and_then(|trace| trace.state),
        }));
    }
}
