//! The MCP state of one session: its negotiated revision, what the client declared about
//! itself, its logging level and its resource subscriptions.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{LoggingLevel, ProtocolVersion};
use crate::handler::ClientRequest;

/// One client's MCP session.
#[derive(Debug)]
pub(crate) struct Session {
    version: Option<ProtocolVersion>,
    log_level: LoggingLevel,
    initialized_notified: bool,
    /// Made by `assumed`: a stateless request may still send `initialize`.
    assumed: bool,
    /// The `capabilities` the client declared at `initialize`.
    client_capabilities: Value,
    subscriptions: BTreeSet<String>,
}

impl Session {
    pub(crate) fn new() -> Self {
        Self {
            version: None,
            log_level: LoggingLevel::Info,
            initialized_notified: false,
            assumed: false,
            client_capabilities: Value::Null,
            subscriptions: BTreeSet::new(),
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

    /// Creates the session-less state a 2026-07-28 request is dispatched with.
    pub(crate) fn modern() -> Self {
        Self {
            version: Some(ProtocolVersion::LATEST),
            ..Self::new()
        }
    }

    /// The negotiated version, once `initialize` has succeeded.
    pub(crate) fn version(&self) -> Option<ProtocolVersion> {
        self.version
    }

    /// Returns whether `initialize` may run now: never twice, except over an assumed session.
    pub(crate) fn may_initialize(&self) -> bool {
        self.version.is_none() || self.assumed
    }

    /// Records what `initialize` settled.
    pub(crate) fn initialized(&mut self, version: ProtocolVersion, capabilities: Value) {
        self.version = Some(version);
        self.assumed = false;
        self.client_capabilities = capabilities;
    }

    /// Returns whether a handler's log message at `level` reaches this session.
    pub(crate) fn wants_log(&self, level: LoggingLevel) -> bool {
        level >= self.log_level
    }

    pub(crate) fn set_log_level(&mut self, level: LoggingLevel) {
        self.log_level = level;
    }

    /// Records the client's `notifications/initialized`.
    pub(crate) fn mark_initialized(&mut self) {
        self.initialized_notified = true;
    }

    /// Returns whether the client declared what `request` needs.
    pub(crate) fn client_supports(&self, request: &ClientRequest) -> bool {
        let (capability, mode) = request.capability();
        super::modern::declares(&self.client_capabilities, capability, mode)
    }

    /// Subscribes to `uri`; false when the session already holds `cap` subscriptions.
    pub(crate) fn subscribe(&mut self, uri: String, cap: usize) -> bool {
        if self.subscriptions.len() >= cap && !self.subscriptions.contains(&uri) {
            return false;
        }
        self.subscriptions.insert(uri);
        true
    }

    pub(crate) fn unsubscribe(&mut self, uri: &str) {
        self.subscriptions.remove(uri);
    }

    pub(crate) fn is_subscribed(&self, uri: &str) -> bool {
        self.subscriptions.contains(uri)
    }
}
