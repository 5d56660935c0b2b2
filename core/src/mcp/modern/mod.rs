//! The 2026-07-28 revision beside the older ones: telling a request's era, the checks a
//! stateless request passes before its method runs (metadata, version, headers), what its
//! results carry, multi round-trip input, and `subscriptions/listen`.

mod headers;
mod input;
mod listen;
mod meta;
mod results;
mod state;
#[cfg(test)]
mod tests;

pub use state::StateKey;

pub(crate) use headers::Headers;
pub(crate) use input::{Input, Sealing, missing_capability};
pub(crate) use listen::{Filter, ended as listen_ended, tagged};
pub(crate) use meta::{RequestMeta, TASKS_EXTENSION, Trace, declares, trace_of};
pub(crate) use results::{error, finish, http_status, server_info_member};

use serde_json::{Value, json};

use crate::error::{ErrorCode, RpcError};
use crate::protocol::ProtocolVersion;
use crate::registry::Registry;

/// Which rules a request is served by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Era {
    /// 2024-11-05 to 2025-11-25: `initialize`, then a session.
    Legacy,
    /// 2026-07-28: every request stands alone.
    Modern,
}

/// Tells the era of a message: modern when the `MCP-Protocol-Version` header names a
/// revision without sessions (newer than 2025-11-25, or unknown), or when a request other
/// than `initialize` names a revision in `params._meta`.
pub(crate) fn era(header: Option<&[u8]>, method: Option<&str>, params: Option<&Value>) -> Era {
    let legacy_header = header.map(|value| {
        std::str::from_utf8(value)
            .ok()
            .and_then(ProtocolVersion::parse)
            .is_some_and(|v| !v.is_modern())
    });
    if legacy_header == Some(false) {
        return Era::Modern;
    }
    match method {
        Some(method) if method != "initialize" && meta::names_version(params) => Era::Modern,
        _ => Era::Legacy,
    }
}

/// Returns whether a message tells an stdio connection's era: every request but a
/// `server/discover` probe does.
pub(crate) fn decides_era(method: &str) -> bool {
    method != "server/discover"
}

/// Checks a modern request's metadata and revision, in the order the revision's test suite
/// expects: `_meta` (-32602), then the revision (-32022 naming those served). Over HTTP,
/// [`check_http`] wraps this with the header checks.
pub(crate) fn check_meta(params: Option<&Value>) -> Result<RequestMeta, RpcError> {
    let meta = meta::read(params)?;
    served(&meta)?;
    Ok(meta)
}

/// -32022 unless the request names a revision served statelessly.
fn served(meta: &RequestMeta) -> Result<(), RpcError> {
    if ProtocolVersion::parse(&meta.version).is_some_and(ProtocolVersion::is_modern) {
        Ok(())
    } else {
        Err(unsupported(&meta.version))
    }
}

/// Checks a modern HTTP request: the `MCP-Protocol-Version` header is present (-32020),
/// `_meta` is complete (-32602), the header agrees with it (-32020), the revision is served
/// (-32022), and `Mcp-Method`, `Mcp-Name` and `Mcp-Param-*` agree with the body (-32020).
pub(crate) fn check_http(
    version_header: Option<&[u8]>,
    headers: Option<&Headers>,
    method: &str,
    params: Option<&Value>,
    registry: &Registry,
) -> Result<RequestMeta, RpcError> {
    let Some(version_header) = version_header else {
        return Err(headers::mismatch("MCP-Protocol-Version header is required"));
    };
    let meta = meta::read(params)?;
    if version_header != meta.version.as_bytes() {
        return Err(headers::mismatch(
            "MCP-Protocol-Version header does not match _meta protocolVersion",
        ));
    }
    served(&meta)?;
    let tool_headers = match method {
        "tools/call" => params
            .and_then(|p| p.get("name"))
            .and_then(Value::as_str)
            .and_then(|name| registry.tools.get(name))
            .map_or(&[][..], |entry| entry.headers.as_slice()),
        _ => &[],
    };
    headers::check(headers, method, params, tool_headers)?;
    Ok(meta)
}

/// Checks a modern notification over HTTP: its revision header and `Mcp-Method`.
pub(crate) fn check_http_notification(
    version_header: Option<&[u8]>,
    headers: Option<&Headers>,
    method: &str,
) -> Result<(), RpcError> {
    if version_header.is_none() {
        return Err(headers::mismatch("MCP-Protocol-Version header is required"));
    }
    headers::check(headers, method, None, &[])
}

/// -32022: the request names a revision this server does not serve statelessly.
fn unsupported(requested: &str) -> RpcError {
    let supported: Vec<&str> = ProtocolVersion::ALL
        .iter()
        .filter(|v| v.is_modern())
        .map(|v| v.as_str())
        .collect();
    RpcError::new(
        ErrorCode::UnsupportedVersion,
        format!("Unsupported protocol version: {requested}"),
    )
    .with_data(json!({ "supported": supported, "requested": requested }))
}

/// The member of `params` that names what a method acts on (and `Mcp-Name` repeats): the
/// tool or prompt name, the resource URI, or the task id.
pub(crate) fn subject_member(method: &str) -> Option<&'static str> {
    match method {
        "tools/call" | "prompts/get" => Some("name"),
        "resources/read" => Some("uri"),
        "tasks/get" | "tasks/update" | "tasks/cancel" => Some("taskId"),
        _ => None,
    }
}

/// The name a modern request's state is bound to: the tool or prompt name, or the URI (a
/// task's methods carry no state).
pub(crate) fn subject(method: &str, params: Option<&Value>) -> Option<String> {
    let member = subject_member(method).filter(|member| *member != "taskId")?;
    params?.get(member)?.as_str().map(str::to_owned)
}
