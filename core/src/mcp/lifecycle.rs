//! The session lifecycle: `initialize` with version negotiation, and `ping`.

use serde_json::{Value, json};

use super::{Dispatch, ProtocolVersion, Reply, invalid_params};
use crate::error::{ErrorCode, RpcError};
use crate::registry::TaskSupport;

/// `initialize`: negotiates the revision, records the client, declares the capabilities.
pub(super) fn initialize(dispatch: &mut Dispatch<'_>, params: Option<Value>) -> Reply {
    Reply::Now(negotiate(dispatch, params))
}

/// `server/discover` (2026-07-28): the revisions served, the capabilities, and the
/// instructions, without a session.
pub(super) fn discover(dispatch: &mut Dispatch<'_>, _: Option<Value>) -> Reply {
    let supported: Vec<&str> = ProtocolVersion::ALL.iter().map(|v| v.as_str()).collect();
    let mut capabilities = super::capabilities(dispatch.registry);
    let tasks = dispatch
        .registry
        .tools
        .entries()
        .iter()
        .any(|entry| entry.tool.task_support() != TaskSupport::Never);
    if tasks {
        capabilities["extensions"] = json!({ super::modern::TASKS_EXTENSION: {} });
    }
    let mut result = json!({
        "supportedVersions": supported,
        "capabilities": capabilities,
    });
    if let Some(instructions) = &dispatch.config.instructions {
        result["instructions"] = json!(instructions);
    }
    Reply::Now(Ok(result))
}

/// `ping`: an empty result, at any point of the lifecycle.
pub(super) fn ping(_: &mut Dispatch<'_>, _: Option<Value>) -> Reply {
    Reply::Now(Ok(json!({})))
}

fn negotiate(dispatch: &mut Dispatch<'_>, params: Option<Value>) -> Result<Value, RpcError> {
    if !dispatch.session.may_initialize() {
        return Err(RpcError::new(ErrorCode::InvalidRequest, "Already initialized"));
    }
    let Some(Value::Object(mut params)) = params else {
        return Err(invalid_params("initialize needs params with protocolVersion"));
    };
    let Some(requested) = params.get("protocolVersion").and_then(Value::as_str) else {
        return Err(invalid_params("initialize needs a string protocolVersion"));
    };
    let version = ProtocolVersion::negotiate(requested);
    let capabilities = match params.remove("capabilities") {
        None | Some(Value::Null) => json!({}),
        Some(capabilities @ Value::Object(_)) => capabilities,
        Some(_) => return Err(invalid_params("capabilities must be an object")),
    };
    // Kept as sent (an object, else nothing): only replicas read it back.
    let client_info = params
        .remove("clientInfo")
        .filter(Value::is_object)
        .unwrap_or(Value::Null);
    dispatch.session.initialized(version, capabilities, client_info);
    let config = dispatch.config;
    let mut server_info = json!({"name": config.server_name, "version": config.server_version});
    if version >= ProtocolVersion::V2025_06_18 {
        server_info["title"] = json!(config.server_name);
    }
    let mut result = json!({
        "protocolVersion": version.as_str(),
        "capabilities": super::capabilities(dispatch.registry),
        "serverInfo": server_info,
    });
    if let Some(instructions) = &config.instructions {
        result["instructions"] = json!(instructions);
    }
    Ok(result)
}
