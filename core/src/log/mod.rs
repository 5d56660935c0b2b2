//! Log records as data: the core describes each finished request; adapters write the lines.

use std::borrow::Cow;
use std::time::Duration;

use serde::Serialize;

/// The severity of a log record, named as in DESIGN.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
#[non_exhaustive]
pub enum Level {
    /// Detail for debugging.
    Debug,
    /// Normal operation.
    Info,
    /// The client did something wrong.
    Warning,
    /// The server or a tool failed.
    Error,
    /// The server cannot go on.
    Critical,
}

/// One structured log record: what happened to one request, or to the server.
#[derive(Debug, Clone, Serialize)]
#[must_use]
pub struct LogRecord {
    /// The wall-clock time of the moment the record was made (written as RFC 3339).
    pub timestamp: crate::time::Timestamp,
    /// Severity.
    pub level: Level,
    /// A short human-readable summary.
    pub message: Cow<'static, str>,
    /// The id that ties every line about one request together.
    pub request_id: std::sync::Arc<str>,
    /// The JSON-RPC method, or the tool name for `tools/call`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<std::sync::Arc<str>>,
    /// How long the request took, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<f64>,
    /// `ok`, or `error` with `code` set.
    pub status: Status,
    /// The JSON-RPC error code, when the request failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    /// The client the request came from, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<std::sync::Arc<str>>,
    /// Who the request authenticated as (a token's name or a JWT subject), never a secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// The MCP session, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// The HTTP status sent, for HTTP requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// The HTTP method and path (`POST /mcp`), for HTTP requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http: Option<std::sync::Arc<str>>,
    /// The W3C `traceparent` the request carried in `_meta`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
    /// The W3C `tracestate` the request carried in `_meta`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracestate: Option<String>,
}

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Status {
    /// Answered with a result.
    Ok,
    /// Answered with a JSON-RPC error.
    Error,
    /// A notification, accepted without a reply.
    Accepted,
    /// Cancelled before it finished; no response was sent.
    Cancelled,
}

impl LogRecord {
    /// Returns the record as one JSON line, without the trailing newline.
    pub fn to_json_line(&self) -> String {
        let mut line = Vec::with_capacity(256);
        self.write_json_line(&mut line);
        line.pop();
        // Everything written is UTF-8: the record's strings, and ASCII around them.
        String::from_utf8(line).unwrap_or_default()
    }

    /// Appends the record to `out` as one JSON line, with its trailing newline.
    ///
    /// Written field by field, in the order and form serde gives the struct: the line is
    /// written for every request, and most values need no escaping.
    pub fn write_json_line(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"timestamp\":\"");
        out.extend_from_slice(&self.timestamp.to_bytes());
        out.push(b'"');
        out.extend_from_slice(b",\"level\":\"");
        out.extend_from_slice(self.level.as_str().as_bytes());
        out.extend_from_slice(b"\",\"message\":");
        write_str(out, &self.message);
        out.extend_from_slice(b",\"request_id\":");
        write_str(out, &self.request_id);
        if let Some(method) = &self.method {
            out.extend_from_slice(b",\"method\":");
            write_str(out, method);
        }
        if let Some(duration) = self.duration_ms {
            out.extend_from_slice(b",\"duration_ms\":");
            write_f64(out, duration);
        }
        out.extend_from_slice(b",\"status\":\"");
        out.extend_from_slice(self.status.as_str().as_bytes());
        out.push(b'"');
        if let Some(code) = self.code {
            out.extend_from_slice(b",\"code\":");
            out.extend_from_slice(itoa::Buffer::new().format(code).as_bytes());
        }
        for (name, value) in [
            (&b",\"client\":"[..], self.client.as_deref()),
            (b",\"principal\":", self.principal.as_deref()),
            (b",\"session\":", self.session.as_deref()),
        ] {
            if let Some(value) = value {
                out.extend_from_slice(name);
                write_str(out, value);
            }
        }
        if let Some(status) = self.http_status {
            out.extend_from_slice(b",\"http_status\":");
            out.extend_from_slice(itoa::Buffer::new().format(status).as_bytes());
        }
        for (name, value) in [
            (&b",\"http\":"[..], self.http.as_deref()),
            (b",\"traceparent\":", self.traceparent.as_deref()),
            (b",\"tracestate\":", self.tracestate.as_deref()),
        ] {
            if let Some(value) = value {
                out.extend_from_slice(name);
                write_str(out, value);
            }
        }
        out.extend_from_slice(b"}\n");
    }
}

/// Writes `text` as a JSON string: as it is when nothing in it needs escaping (most log
/// values), through serde_json otherwise.
fn write_str(out: &mut Vec<u8>, text: &str) {
    if text
        .bytes()
        .all(|b| b >= 0x20 && b != b'"' && b != b'\\' && b != 0x7f)
    {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else if serde_json::to_writer(&mut *out, text).is_err() {
        // Writing a string into a Vec cannot fail.
        out.extend_from_slice(b"\"\"");
    }
}

/// Writes a number as serde_json does (`null` for what JSON cannot hold).
fn write_f64(out: &mut Vec<u8>, value: f64) {
    if serde_json::to_writer(&mut *out, &value).is_err() {
        out.extend_from_slice(b"null");
    }
}

impl Level {
    /// Returns the level's name as written in logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Debug => "DEBUG",
            Self::Info => "INFO",
            Self::Warning => "WARNING",
            Self::Error => "ERROR",
            Self::Critical => "CRITICAL",
        }
    }
}

impl Status {
    /// Returns the status's name as written in logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Error => "error",
            Self::Accepted => "accepted",
            Self::Cancelled => "cancelled",
        }
    }
}

/// Converts a duration to milliseconds with microsecond resolution.
pub(crate) fn millis(duration: Duration) -> f64 {
    (duration.as_micros() as f64) / 1000.0
}

#[cfg(test)]
mod tests;
#[cfg(feature = "tracing")]
mod to_tracing;
#[cfg(feature = "tracing")]
pub use to_tracing::TARGET;

/// Where log records go (`LOG_OUTPUT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LogOutput {
    /// JSON lines, written by the adapter (`json`, the default).
    #[default]
    Json,
    /// `tracing` events only, for the embedder's subscriber (`tracing`; needs the feature).
    Tracing,
    /// Both (`both`).
    Both,
}

impl LogOutput {
    /// Returns whether records are written as JSON lines.
    pub fn json(self) -> bool {
        matches!(self, Self::Json | Self::Both)
    }

    /// Returns whether records go to `tracing` (always false without the feature).
    pub fn tracing(self) -> bool {
        cfg!(feature = "tracing") && matches!(self, Self::Tracing | Self::Both)
    }
}
