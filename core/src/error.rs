//! The JSON-RPC error codes every transport answers with, and the error object they build.

use serde_json::Value;

/// A JSON-RPC error code from rampart's table (see DESIGN.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// The input is not valid JSON (also invalid UTF-8, or nested too deep).
    ParseError,
    /// The input is not a valid JSON-RPC 2.0 message.
    InvalidRequest,
    /// The method is unknown.
    MethodNotFound,
    /// A protocol method's own params are malformed.
    InvalidParams,
    /// A bug on the server's side.
    InternalError,
    /// A tool's required argument is missing.
    Args,
    /// No tool of that name exists.
    ToolNotFound,
    /// The tool's namespace exists, but not that verb or version.
    VerbNotFound,
    /// The tool failed: it returned an error or panicked.
    Runtime,
    /// The tool ran past its deadline and was cancelled.
    Timeout,
    /// Missing or invalid credentials.
    Auth,
    /// Too many requests.
    RateLimit,
    /// An argument fails its type or JSON Schema.
    Validation,
    /// No resource or template serves the URI (MCP's own code, up to 2025-11-25).
    ResourceNotFound,
    /// A 2026-07-28 request's headers disagree with its body, or lack one it needs.
    HeaderMismatch,
    /// A 2026-07-28 request did not declare a client capability its handler needs.
    MissingCapability,
    /// A 2026-07-28 request names a protocol revision the server does not speak.
    UnsupportedVersion,
}

impl ErrorCode {
    /// Returns the numeric code sent on the wire.
    pub const fn code(self) -> i64 {
        match self {
            Self::ParseError => -32700,
            Self::InvalidRequest => -32600,
            Self::MethodNotFound => -32601,
            Self::InvalidParams => -32602,
            Self::InternalError => -32603,
            Self::Args => -32000,
            Self::ToolNotFound => -32001,
            Self::VerbNotFound => -32002,
            Self::Runtime => -32003,
            Self::Timeout => -32004,
            Self::Auth => -32005,
            Self::RateLimit => -32006,
            Self::Validation => -32007,
            Self::ResourceNotFound => -32002,
            Self::HeaderMismatch => -32020,
            Self::MissingCapability => -32021,
            Self::UnsupportedVersion => -32022,
        }
    }

    /// Returns the table's name for the code, as written in logs.
    pub const fn name(self) -> &'static str {
        match self {
            Self::ParseError => "PARSE_ERROR",
            Self::InvalidRequest => "INVALID_REQUEST",
            Self::MethodNotFound => "METHOD_NOT_FOUND",
            Self::InvalidParams => "INVALID_PARAMS",
            Self::InternalError => "INTERNAL_ERROR",
            Self::Args => "E_ARGS",
            Self::ToolNotFound => "E_TOOL_NOT_FOUND",
            Self::VerbNotFound => "E_VERB_NOT_FOUND",
            Self::Runtime => "E_RUNTIME",
            Self::Timeout => "E_TIMEOUT",
            Self::Auth => "E_AUTH",
            Self::RateLimit => "E_RATE_LIMIT",
            Self::Validation => "E_VALIDATION",
            Self::ResourceNotFound => "RESOURCE_NOT_FOUND",
            Self::HeaderMismatch => "HEADER_MISMATCH",
            Self::MissingCapability => "MISSING_CAPABILITY",
            Self::UnsupportedVersion => "UNSUPPORTED_VERSION",
        }
    }
}

/// A JSON-RPC error object: a code, a message for the client, and its `data`.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    /// The code from the table.
    pub code: ErrorCode,
    /// When `data` is sent.
    pub disclosure: Disclosure,
    /// The message sent to the client; never carries internals.
    pub message: String,
    /// What goes in `error.data`, if anything.
    pub data: Option<Value>,
}

/// When an error's `data` is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Disclosure {
    /// Only when debugging is on: debug detail, which may name internals.
    #[default]
    Debug,
    /// Always: data the protocol defines for the error, such as the versions a server
    /// supports.
    Always,
}

impl RpcError {
    /// Creates an error with a client-facing message and no data.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            disclosure: Disclosure::Debug,
            message: message.into(),
            data: None,
        }
    }

    /// Attaches the `error.data` the protocol defines for this error, sent always.
    pub fn with_data(mut self, data: impl Into<Value>) -> Self {
        self.data = Some(data.into());
        self.disclosure = Disclosure::Always;
        self
    }

    /// Attaches detail that is sent as `error.data` only when debugging is on (unless the
    /// error carries protocol data, which wins).
    pub fn with_debug(mut self, data: impl Into<Value>) -> Self {
        if self.disclosure == Disclosure::Debug {
            self.data = Some(data.into());
        }
        self
    }

    /// Returns the error object as sent on the wire: protocol `data` always, debug detail
    /// only when `debug` is set.
    pub fn to_json(&self, debug: bool) -> Value {
        let mut obj = serde_json::Map::new();
        obj.insert("code".into(), self.code.code().into());
        obj.insert("message".into(), self.message.clone().into());
        if let Some(data) = &self.data
            && (debug || self.disclosure == Disclosure::Always)
        {
            obj.insert("data".into(), data.clone());
        }
        Value::Object(obj)
    }
}
