//! `tools/list` with cursor pagination, the checks of `tools/call` before a tool runs, and
//! the check of its result after.

use std::sync::Arc;

use serde_json::Value;

use super::{Dispatch, Reply, Start, invalid_params, pagination, params_object};
use crate::config::ValidationErrors;
use crate::error::{ErrorCode, RpcError};
use crate::handler::ToolOutput;
use crate::handler::{CallKind, runtime_error};
use crate::protocol::ProtocolVersion;
use crate::registry::ToolRegistry;

pub(super) fn list(dispatch: &mut Dispatch<'_>, params: Option<Value>) -> Reply {
    let tools = dispatch.registry.tools.entries();
    let version = dispatch
        .session
        .version()
        .unwrap_or(ProtocolVersion::LATEST_LEGACY);
    let result = pagination::page("tools", tools.len(), dispatch.config.page_size, params.as_ref()).map(
        |(range, next)| {
            let page = tools
                .get(range)
                .unwrap_or_default()
                .iter()
                .map(|entry| entry.definition(version, dispatch.config.declare_schema_dialect))
                .collect();
            pagination::result("tools", page, next)
        },
    );
    Reply::Now(result)
}

pub(super) fn call(dispatch: &mut Dispatch<'_>, params: Option<Value>) -> Reply {
    match start(dispatch, params) {
        Ok(reply) => reply,
        Err(error) => Reply::Now(Err(error)),
    }
}

fn start(dispatch: &mut Dispatch<'_>, params: Option<Value>) -> Result<Reply, RpcError> {
    let mut params = params_object(params, "tools/call")?;
    let parts = dispatch.call.take();
    let name = match &parts {
        Some(parts) => parts.name.as_deref(),
        None => params.get("name").and_then(Value::as_str),
    };
    let Some(name) = name else {
        return Err(invalid_params("tools/call needs a string name"));
    };
    let tools = &dispatch.registry.tools;
    let Some(entry) = tools.get(name) else {
        return Err(not_found(tools, name));
    };
    let arguments = match parts {
        Some(parts) => parts.arguments,
        None => params.remove("arguments"),
    };
    // The arguments move into the call rather than being copied.
    let arguments = match arguments {
        None | Some(Value::Null) => Value::Object(Default::default()),
        Some(args @ Value::Object(_)) => args,
        Some(_) => return Err(invalid_params("arguments must be an object")),
    };
    if let Err(error) = entry.input.check(&arguments) {
        return match dispatch.config.validation_errors {
            ValidationErrors::ToolResult => Ok(Reply::Now(Ok(ToolOutput::error(error.message).to_json()))),
            _ => Err(error),
        };
    }
    let handler = Arc::clone(entry.tool.handler());
    let mut start = Start::new(CallKind::Tool, Arc::clone(&entry.name), move |ctx| {
        handler(arguments, ctx)
    });
    start.timeout = entry.tool.own_timeout();
    Ok(Reply::Run(start))
}

/// E_TOOL_NOT_FOUND, or E_VERB_NOT_FOUND when the `ns.verb@vN` name's namespace exists.
fn not_found(tools: &ToolRegistry, name: &str) -> RpcError {
    if tools.has_namespace(name) {
        RpcError::new(ErrorCode::VerbNotFound, format!("Verb not found: {name}"))
    } else {
        RpcError::new(ErrorCode::ToolNotFound, format!("Tool not found: {name}"))
    }
}

/// Returns a tool's result as a client speaking `version` takes it, after checking it
/// against the tool's output schema: a result that should carry `structuredContent` and
/// does not, or whose content does not match, is the handler's bug and is answered with
/// E_RUNTIME (the detail only when debugging).
pub(crate) fn tool_result(
    tools: &ToolRegistry,
    name: &str,
    output: ToolOutput,
    version: ProtocolVersion,
) -> Result<ToolOutput, RpcError> {
    let Some(entry) = tools.get(name) else {
        return Ok(output.for_version(version));
    };
    if let Some(validator) = &entry.output
        && !output.is_error()
    {
        let Some(structured) = output.structured_content() else {
            return Err(runtime_error(
                "the tool has an outputSchema but returned no structuredContent",
            ));
        };
        validator.check(structured).map_err(runtime_error)?;
    }
    Ok(entry.shape(output, version).for_version(version))
}
