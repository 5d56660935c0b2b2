//! Logging to the client: `logging/setLevel`, and the params of `notifications/message`.

use serde_json::{Value, json};

use super::{Dispatch, Reply, invalid_params};
use crate::protocol::LoggingLevel;

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
