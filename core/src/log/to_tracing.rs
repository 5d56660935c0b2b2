//! Log records as `tracing` events (feature `tracing`), so that a subscriber of the
//! embedder's (tracing-subscriber's JSON layer, tracing-opentelemetry, a file appender)
//! receives them with the fields of the JSON line.

use super::{Level, LogRecord};

/// The `tracing` target of every event and span rampart makes.
pub const TARGET: &str = "rampart";

impl LogRecord {
    /// Sends the record to the current `tracing` subscriber as one event at its level,
    /// with target `rampart` and a field for each member of the JSON line.
    pub fn emit_tracing(&self) {
        macro_rules! emit {
            ($level:expr) => {
                tracing::event!(
                    target: TARGET,
                    $level,
                    request_id = %self.request_id,
                    method = self.method.as_deref(),
                    duration_ms = self.duration_ms,
                    status = self.status.as_str(),
                    code = self.code,
                    client = self.client.as_deref(),
                    principal = self.principal.as_deref(),
                    session = self.session.as_deref(),
                    http_status = self.http_status,
                    http = self.http.as_deref(),
                    traceparent = self.traceparent.as_deref(),
                    tracestate = self.tracestate.as_deref(),
                    "{}",
                    self.message
                )
            };
        }
        match self.level {
            Level::Debug => emit!(tracing::Level::DEBUG),
            Level::Info => emit!(tracing::Level::INFO),
            Level::Warning => emit!(tracing::Level::WARN),
            Level::Error | Level::Critical => emit!(tracing::Level::ERROR),
        }
    }
}
