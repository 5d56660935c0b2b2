//! The MCP state of one session: its negotiated revision, what the client declared about
//! itself, its logging level and its resource subscriptions.

use std::borrow::Cow;
use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
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
    /// The `clientInfo` it named itself with (its name and version), or null.
    client_info: Value,
    subscriptions: BTreeSet<String>,
    /// Counts changes to what a record holds, so that a change can be saved for replicas.
    revision: u64,
}

/// What replicas share of a session: everything needed to serve it anywhere.
#[derive(Serialize, Deserialize)]
struct Record<'a> {
    /// The negotiated revision.
    v: &'a str,
    caps: Cow<'a, Value>,
    /// The client's `clientInfo`.
    #[serde(default)]
    info: Cow<'a, Value>,
    level: &'a str,
    /// Whether the client sent `notifications/initialized`.
    init: bool,
    subs: Cow<'a, BTreeSet<String>>,
    /// The principal that opened it, when authentication is on.
    owner: Option<&'a str>,
}

impl Session {
    pub(crate) fn new() -> Self {
        Self {
            version: None,
            log_level: LoggingLevel::Info,
            initialized_notified: false,
            assumed: false,
            client_capabilities: Value::Null,
            client_info: Value::Null,
            subscriptions: BTreeSet::new(),
            revision: 0,
        }
    }

    /// Returns a number that changes whenever what [`record`](Self::record) writes changes.
    pub(crate) fn revision(&self) -> u64 {
        self.revision
    }

    /// Writes what replicas need to serve the session (of `owner`), as JSON.
    pub(crate) fn record(&self, owner: Option<&str>) -> String {
        let record = Record {
            v: self.version.map_or("", ProtocolVersion::as_str),
            caps: Cow::Borrowed(&self.client_capabilities),
            info: Cow::Borrowed(&self.client_info),
            level: self.log_level.as_str(),
            init: self.initialized_notified,
            subs: Cow::Borrowed(&self.subscriptions),
            owner,
        };
        serde_json::to_string(&record).unwrap_or_default()
    }

    /// Reads a record another replica wrote: the session and its owner, or `None` when it
    /// is not one (a record of an initialized session only).
    pub(crate) fn from_record(text: &str) -> Option<(Self, Option<String>)> {
        let record: Record<'_> = serde_json::from_str(text).ok()?;
        let session = Self {
            version: Some(ProtocolVersion::parse(record.v).filter(|v| !v.is_modern())?),
            log_level: LoggingLevel::parse(record.level)?,
            initialized_notified: record.init,
            assumed: false,
            client_capabilities: record.caps.into_owned(),
            client_info: record.info.into_owned(),
            subscriptions: record.subs.into_owned(),
            revision: 0,
        };
        Some((session, record.owner.map(str::to_owned)))
    }

    /// Takes on what a newer record of the same session says (from another replica).
    pub(crate) fn update_from(&mut self, newer: Self) {
        let revision = self.revision;
        *self = Self { revision, ..newer };
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
    pub(crate) fn initialized(&mut self, version: ProtocolVersion, capabilities: Value, info: Value) {
        self.revision += 1;
        self.version = Some(version);
        self.assumed = false;
        self.client_capabilities = capabilities;
        self.client_info = info;
    }

    /// Returns whether a handler's log message at `level` reaches this session.
    pub(crate) fn wants_log(&self, level: LoggingLevel) -> bool {
        level >= self.log_level
    }

    pub(crate) fn set_log_level(&mut self, level: LoggingLevel) {
        self.revision += 1;
        self.log_level = level;
    }

    /// Records the client's `notifications/initialized`.
    pub(crate) fn mark_initialized(&mut self) {
        self.revision += u64::from(!self.initialized_notified);
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
        self.revision += u64::from(self.subscriptions.insert(uri));
        true
    }

    pub(crate) fn unsubscribe(&mut self, uri: &str) {
        self.revision += u64::from(self.subscriptions.remove(uri));
    }

    pub(crate) fn is_subscribed(&self, uri: &str) -> bool {
        self.subscriptions.contains(uri)
    }

    /// Returns whether it is subscribed to any resource.
    pub(crate) fn has_subscriptions(&self) -> bool {
        !self.subscriptions.is_empty()
    }
}
