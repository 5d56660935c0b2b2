//! The metadata a 2026-07-28 request carries in `params._meta`: its revision, the client's
//! capabilities for this request alone, an optional logging level, and trace context.

use serde_json::{Map, Value};

use crate::error::RpcError;
use crate::mcp::invalid_params;
use crate::protocol::LoggingLevel;

/// `_meta` key naming the request's protocol revision.
pub(crate) const PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
/// `_meta` key holding the client's capabilities for this request.
pub(crate) const CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
/// `_meta` key of the logging level a request opts in to.
const LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";
/// `_meta` key naming the server on every result.
pub(crate) const SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";
/// `_meta` key tying a notification to its `subscriptions/listen` stream.
pub(crate) const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";

/// The tasks extension's name, under `extensions` in capabilities.
pub(crate) const TASKS_EXTENSION: &str = "io.modelcontextprotocol/tasks";

/// The longest `tracestate` kept (the W3C limit is 512 characters).
const MAX_TRACESTATE: usize = 512;

/// What one 2026-07-28 request says about itself.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RequestMeta {
    /// The revision the request names, as written.
    pub(crate) version: String,
    /// The client's capabilities for this request (an object).
    pub(crate) capabilities: Value,
    /// The level of log notifications the request opts in to; none without one.
    pub(crate) log_level: Option<LoggingLevel>,
    /// W3C trace context, when the client sent a well-formed one.
    pub(crate) trace: Option<Trace>,
}

/// W3C trace context from `_meta`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Trace {
    /// `traceparent`, checked against the W3C format.
    pub(crate) parent: String,
    /// `tracestate`, when present and not too long.
    pub(crate) state: Option<String>,
}

/// Returns `params._meta`, if it is an object.
pub(crate) fn of(params: Option<&Value>) -> Option<&Map<String, Value>> {
    params?.get("_meta")?.as_object()
}

/// Returns whether a request's `_meta` names a revision (of whatever type, so that a
/// malformed one still marks the request as 2026-07-28).
pub(crate) fn names_version(params: Option<&Value>) -> bool {
    of(params).is_some_and(|meta| meta.contains_key(PROTOCOL_VERSION))
}

/// Reads a 2026-07-28 request's metadata: the revision and the client's capabilities are
/// required (-32602 without them), the logging level and trace context optional.
pub(crate) fn read(params: Option<&Value>) -> Result<RequestMeta, RpcError> {
    let meta = of(params);
    let version = meta
        .and_then(|meta| meta.get(PROTOCOL_VERSION))
        .and_then(Value::as_str);
    let capabilities = meta
        .and_then(|meta| meta.get(CLIENT_CAPABILITIES))
        .filter(|caps| caps.is_object());
    let (Some(meta), Some(version), Some(capabilities)) = (meta, version, capabilities) else {
        return Err(invalid_params(format!(
            "Invalid params: _meta must carry {PROTOCOL_VERSION} (a string) and {CLIENT_CAPABILITIES} (an object)"
        )));
    };
    let log_level =
        match meta.get(LOG_LEVEL) {
            None => None,
            Some(level) => Some(level.as_str().and_then(LoggingLevel::parse).ok_or_else(|| {
                invalid_params(format!("Invalid params: {LOG_LEVEL} is not a logging level"))
            })?),
        };
    Ok(RequestMeta {
        version: version.to_owned(),
        capabilities: capabilities.clone(),
        log_level,
        trace: trace(meta),
    })
}

/// Reads W3C trace context from a request's `params._meta`, in any era.
pub(crate) fn trace_of(params: Option<&Value>) -> Option<Trace> {
    trace(of(params)?)
}

/// Reads W3C trace context from `_meta`: a malformed `traceparent` is dropped, and with it
/// the `tracestate`.
fn trace(meta: &Map<String, Value>) -> Option<Trace> {
    let parent = meta.get("traceparent")?.as_str().filter(|p| is_traceparent(p))?;
    let state = meta
        .get("tracestate")
        .and_then(Value::as_str)
        .filter(|state| state.len() <= MAX_TRACESTATE && state.bytes().all(|b| (0x20..0x7f).contains(&b)));
    Some(Trace {
        parent: parent.to_owned(),
        state: state.map(str::to_owned),
    })
}

/// Returns whether `value` is a W3C `traceparent`: `vv-<32 hex>-<16 hex>-ff`, lowercase,
/// with ids that are not all zeros.
fn is_traceparent(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    let hex = |part: &str, len: usize| {
        part.len() == len
            && part
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let [version, trace, parent, flags] = parts.as_slice() else {
        return false;
    };
    hex(version, 2)
        && *version != "ff"
        && hex(trace, 32)
        && trace.bytes().any(|b| b != b'0')
        && hex(parent, 16)
        && parent.bytes().any(|b| b != b'0')
        && hex(flags, 2)
}

/// Returns whether `capabilities` declares `name` (as an object), and `mode` inside it when
/// one is named.
pub(crate) fn declares(capabilities: &Value, name: &str, mode: Option<&str>) -> bool {
    let Some(declared) = capabilities.get(name).filter(|c| c.is_object()) else {
        return false;
    };
    match mode {
        None => true,
        // `elicitation: {}` is form mode alone.
        Some("form") => declared.get("form").is_some() || declared.get("url").is_none(),
        Some(mode) => declared.get(mode).is_some(),
    }
}
