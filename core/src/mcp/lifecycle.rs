//! The session lifecycle: `initialize` with version negotiation, and `logging/setLevel`.

use serde_json::{Value, json};

use super::{ProtocolVersion, invalid_params};
use crate::config::Config;
use crate::error::{ErrorCode, RpcError};
use crate::tools::LoggingLevel;

/// One client's MCP session: its negotiated version and logging level.
#[derive(Debug)]
pub(crate) struct Session {
    version: Option<ProtocolVersion>,
    log_level: LoggingLevel,
    initialized_notified: bool,
    /// Made by `assumed`: a stateless request may still send `initialize`.
    assumed: bool,
}

impl Session {
    pub(crate) fn new() -> Self {
        Self {
            version: None,
            log_level: LoggingLevel::Info,
            initialized_notified: false,
            assumed: false,
        }
    }

    /// Creates a session that skips `initialize`, for stateless HTTP, at the version the
    /// request's `MCP-Protocol-Version` header names.
    pub(crate) fn assumed(version: ProtocolVersion) -> Self {
        Self {
            version: Some(version),
            assumed: true,
            ..Self::new()
        }
    }

    /// The negotiated version, once `initialize` has succeeded.
    pub(crate) fn version(&self) -> Option<ProtocolVersion> {
        self.version
    }

    /// Returns whether a tool's log message at `level` reaches this session.
    pub(crate) fn wants_log(&self, level: LoggingLevel) -> bool {
        level >= self.log_level
    }

    /// Records the client's `notifications/initialized`.
    pub(crate) fn mark_initialized(&mut self) {
        self.initialized_notified = true;
    }

    pub(crate) fn initialize(&mut self, params: Option<&Value>, config: &Config) -> Result<Value, RpcError> {
        if self.version.is_some() && !self.assumed {
            return Err(RpcError::new(ErrorCode::InvalidRequest, "Already initialized"));
        }
        let Some(params) = params.and_then(Value::as_object) else {
            return Err(invalid_params("initialize needs params with protocolVersion"));
        };
        let Some(requested) = params.get("protocolVersion").and_then(Value::as_str) else {
            return Err(invalid_params("initialize needs a string protocolVersion"));
        };
        if params.get("capabilities").is_some_and(|c| !c.is_object()) {
            return Err(invalid_params("capabilities must be an object"));
        }
        let version = ProtocolVersion::negotiate(requested);
        self.version = Some(version);
        let mut server_info = json!({"name": config.server_name, "version": config.server_version});
        if version >= ProtocolVersion::V2025_06_18 {
            server_info["title"] = json!(config.server_name);
        }
        let mut result = json!({
            "protocolVersion": version.as_str(),
            "capabilities": {"tools": {"listChanged": false}, "logging": {}},
            "serverInfo": server_info,
        });
        if let Some(instructions) = &config.instructions {
            result["instructions"] = json!(instructions);
        }
        Ok(result)
    }

    pub(crate) fn set_level(&mut self, params: Option<&Value>) -> Result<Value, RpcError> {
        let level = params
            .and_then(|p| p.get("level"))
            .and_then(Value::as_str)
            .and_then(LoggingLevel::parse)
            .ok_or_else(|| {
                invalid_params(
                    "level must be one of debug, info, notice, warning, error, critical, alert, emergency",
                )
            })?;
        self.log_level = level;
        Ok(json!({}))
    }
}
