//! Logging to the client: the RFC 5424 levels, `logging/setLevel`, and the filter a
//! session applies to `notifications/message`.

use serde_json::{Value, json};

use super::{Dispatch, Reply, invalid_params};

/// The MCP (RFC 5424) logging levels, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum LoggingLevel {
    /// Detailed debugging information.
    Debug,
    /// Normal operational messages.
    Info,
    /// Normal but significant events.
    Notice,
    /// Warning conditions.
    Warning,
    /// Error conditions.
    Error,
    /// Critical conditions.
    Critical,
    /// Action must be taken immediately.
    Alert,
    /// The system is unusable.
    Emergency,
}

impl LoggingLevel {
    /// Parses the protocol name of a level (`"info"`, `"warning"`, ...).
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "debug" => Self::Debug,
            "info" => Self::Info,
            "notice" => Self::Notice,
            "warning" => Self::Warning,
            "error" => Self::Error,
            "critical" => Self::Critical,
            "alert" => Self::Alert,
            "emergency" => Self::Emergency,
            _ => return None,
        })
    }

    /// Returns the protocol name of the level.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Debug => "debug",
            Self::Info => "info",
            Self::Notice => "notice",
            Self::Warning => "warning",
            Self::Error => "error",
            Self::Critical => "critical",
            Self::Alert => "alert",
            Self::Emergency => "emergency",
        }
    }
}

/// `logging/setLevel`: from now on the session gets log messages at `level` and above.
pub(super) fn set_level(dispatch: &mut Dispatch<'_>, params: Option<Value>) -> Reply {
    let level = params
        .as_ref()
        .and_then(|p| p.get("level"))
        .and_then(Value::as_str)
        .and_then(LoggingLevel::parse);
    let Some(level) = level else {
        return Reply::Now(Err(invalid_params(
            "level must be one of debug, info, notice, warning, error, critical, alert, emergency",
        )));
    };
    dispatch.session.set_log_level(level);
    Reply::Now(Ok(json!({})))
}

/// The `notifications/message` params for a handler's log message.
pub(crate) fn message_params(level: LoggingLevel, logger: Option<String>, data: Value) -> Value {
    let mut params = json!({"level": level.as_str(), "data": data});
    if let Some(logger) = logger {
        params["logger"] = json!(logger);
    }
    params
}
