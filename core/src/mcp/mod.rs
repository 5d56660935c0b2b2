//! MCP on top of JSON-RPC: protocol versions, the session lifecycle, and method dispatch.

mod lifecycle;
mod tools;

pub(crate) use lifecycle::Session;

use serde_json::Value;

use crate::config::Config;
use crate::error::{ErrorCode, RpcError};
use crate::jsonrpc::Request;
use crate::tools::ToolRegistry;

/// An MCP protocol revision this server speaks, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ProtocolVersion {
    /// 2024-11-05.
    V2024_11_05,
    /// 2025-03-26.
    V2025_03_26,
    /// 2025-06-18.
    V2025_06_18,
    /// 2025-11-25.
    V2025_11_25,
}

impl ProtocolVersion {
    /// Every supported revision, oldest first.
    pub const ALL: [Self; 4] = [
        Self::V2024_11_05,
        Self::V2025_03_26,
        Self::V2025_06_18,
        Self::V2025_11_25,
    ];

    /// The newest supported revision, offered when a client asks for one we do not know.
    pub const LATEST: Self = Self::V2025_11_25;

    /// Parses a revision date string.
    pub fn parse(version: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == version)
    }

    /// Returns the revision date string.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::V2024_11_05 => "2024-11-05",
            Self::V2025_03_26 => "2025-03-26",
            Self::V2025_06_18 => "2025-06-18",
            Self::V2025_11_25 => "2025-11-25",
        }
    }

    /// Picks the revision to answer `initialize` with: the requested one when supported,
    /// otherwise the latest.
    pub fn negotiate(requested: &str) -> Self {
        Self::parse(requested).unwrap_or(Self::LATEST)
    }
}

/// What the dispatcher decided about a request.
pub(crate) enum Reply {
    /// Answer now.
    Now(Result<Value, RpcError>),
    /// Run a tool; answer when it completes.
    Call(CallStart),
}

/// A validated `tools/call`, ready to become a [`ToolCall`](crate::ToolCall).
pub(crate) struct CallStart {
    pub(crate) tool: String,
    pub(crate) arguments: Value,
    pub(crate) progress_token: Option<Value>,
}

/// The name a request is logged under: the tool name for `tools/call`.
pub(crate) fn log_method(request: &Request) -> String {
    if request.method == "tools/call"
        && let Some(name) = request
            .params
            .as_ref()
            .and_then(|p| p.get("name"))
            .and_then(Value::as_str)
    {
        return name.to_owned();
    }
    request.method.clone()
}

/// Returns whether the server serves `method` at all (at some point of the lifecycle).
pub(crate) fn is_known(method: &str) -> bool {
    matches!(
        method,
        "initialize" | "ping" | "logging/setLevel" | "tools/list" | "tools/call"
    )
}

/// Dispatches one request for a session.
pub(crate) fn dispatch(
    session: &mut Session,
    tools: &ToolRegistry,
    config: &Config,
    request: &mut Request,
) -> Reply {
    if request.method == "tools/call" && session.version().is_some() {
        // The arguments move into the call rather than being copied.
        return tools::call(tools, config, request.params.take());
    }
    let params = request.params.as_ref();
    let method = request.method.as_str();
    if !is_known(method) {
        return Reply::Now(Err(method_not_found(method)));
    }
    if method == "ping" {
        return Reply::Now(Ok(Value::Object(Default::default())));
    }
    if method == "initialize" {
        return Reply::Now(session.initialize(params, config));
    }
    let Some(version) = session.version() else {
        return Reply::Now(Err(RpcError::new(
            ErrorCode::InvalidRequest,
            "Server not initialized: send initialize first",
        )));
    };
    match method {
        "logging/setLevel" => Reply::Now(session.set_level(params)),
        "tools/list" => Reply::Now(tools::list(tools, config, version, params)),
        _ => tools::call(tools, config, request.params.clone()),
    }
}

/// The error for a method this server does not serve (including `server/discover`, which
/// clients use to probe for the 2026 revision and fall back from).
pub(crate) fn method_not_found(method: &str) -> RpcError {
    RpcError::new(ErrorCode::MethodNotFound, "Method not found").with_debug(method.to_owned())
}

pub(crate) fn invalid_params(message: impl Into<String>) -> RpcError {
    RpcError::new(ErrorCode::InvalidParams, message)
}
