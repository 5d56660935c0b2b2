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
    /// RFC 3339 wall-clock time of the moment the record was made.
    pub timestamp: String,
    /// Severity.
    pub level: Level,
    /// A short human-readable summary.
    pub message: Cow<'static, str>,
    /// The id that ties every line about one request together.
    pub request_id: String,
    /// The JSON-RPC method, or the tool name for `tools/call`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
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
    pub client: Option<String>,
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
    pub http: Option<String>,
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
        // Serializing a struct of strings and numbers cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Appends the record to `out` as one JSON line, with its trailing newline.
    pub fn write_json_line(&self, out: &mut Vec<u8>) {
        let start = out.len();
        // Serializing a struct of strings and numbers cannot fail; were it to, nothing is
        // left half-written.
        if serde_json::to_writer(&mut *out, self).is_err() {
            out.truncate(start);
            return;
        }
        out.push(b'\n');
    }
}

/// Converts a duration to milliseconds with microsecond resolution.
pub(crate) fn millis(duration: Duration) -> f64 {
    (duration.as_micros() as f64) / 1000.0
}
