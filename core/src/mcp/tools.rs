//! `tools/list` with cursor pagination, and the checks of `tools/call` before a tool runs.

use serde_json::{Value, json};

use super::{CallStart, ProtocolVersion, Reply, invalid_params};
use crate::config::{Config, ValidationErrors};
use crate::error::{ErrorCode, RpcError};
use crate::tools::{ToolOutput, ToolRegistry};

const CURSOR_PREFIX: &str = "tools:";

/// Returns the opaque cursor that starts a page at `offset`.
fn cursor_for(offset: usize) -> String {
    format!("{CURSOR_PREFIX}{offset}")
}

pub(super) fn list(
    tools: &ToolRegistry,
    config: &Config,
    version: ProtocolVersion,
    params: Option<&Value>,
) -> Result<Value, RpcError> {
    let start = match params.and_then(|p| p.get("cursor")) {
        None | Some(Value::Null) => 0,
        Some(Value::String(cursor)) => cursor
            .strip_prefix(CURSOR_PREFIX)
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|&n| n > 0 && n < tools.len())
            .ok_or_else(|| invalid_params("Invalid cursor"))?,
        Some(_) => return Err(invalid_params("cursor must be a string")),
    };
    let page_size = config.page_size.max(1);
    let page: Vec<Value> = tools
        .page(start, page_size)
        .iter()
        .map(|entry| entry.tool.definition(version))
        .collect();
    let next = start + page.len();
    let mut result = json!({ "tools": page });
    if next < tools.len() {
        result["nextCursor"] = json!(cursor_for(next));
    }
    Ok(result)
}

pub(super) fn call(tools: &ToolRegistry, config: &Config, params: Option<Value>) -> Reply {
    let Some(Value::Object(mut params)) = params else {
        return Reply::Now(Err(invalid_params("tools/call needs params with a name")));
    };
    let Some(Value::String(name)) = params.remove("name") else {
        return Reply::Now(Err(invalid_params("tools/call needs a string name")));
    };
    let name = name.as_str();
    let arguments = match params.remove("arguments") {
        None | Some(Value::Null) => Value::Object(Default::default()),
        Some(args @ Value::Object(_)) => args,
        Some(_) => return Reply::Now(Err(invalid_params("arguments must be an object"))),
    };
    let Some(entry) = tools.get(name) else {
        let error = if tools.has_namespace(name) {
            RpcError::new(ErrorCode::VerbNotFound, format!("Verb not found: {name}"))
        } else {
            RpcError::new(ErrorCode::ToolNotFound, format!("Tool not found: {name}"))
        };
        return Reply::Now(Err(error));
    };
    if let Err(error) = entry.validator.check(&arguments) {
        return Reply::Now(match config.validation_errors {
            ValidationErrors::ToolResult => Ok(ToolOutput::error(error.message).to_json()),
            _ => Err(error),
        });
    }
    let progress_token = params
        .get("_meta")
        .and_then(|meta| meta.get("progressToken"))
        .filter(|token| token.is_string() || token.is_i64() || token.is_u64())
        .cloned();
    Reply::Call(CallStart {
        tool: name.to_owned(),
        arguments,
        progress_token,
    })
}
