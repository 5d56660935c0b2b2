//! Tools: their definitions, the registry, and what a handler returns.
//!
//! A handler is a plain `std::future::Future`; the core never polls it. When a call is
//! accepted the core emits [`Event::CallTool`](crate::Event::CallTool) carrying a
//! [`ToolCall`], the adapter runs [`ToolCall::run`] on its runtime, and reports the outcome
//! with [`Server::complete`](crate::Server::complete).

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use crate::error::RpcError;
use crate::validate::{ArgsValidator, SchemaError};

/// The boxed future a handler returns.
pub type ToolFuture = Pin<Box<dyn Future<Output = Result<ToolOutput, ToolError>> + Send + 'static>>;

type Handler = Arc<dyn Fn(Value, ToolContext) -> ToolFuture + Send + Sync>;

/// A tool: its name, schemas, annotations, deadline and handler.
pub struct Tool {
    name: String,
    title: Option<String>,
    description: Option<String>,
    input_schema: Value,
    output_schema: Option<Value>,
    annotations: Option<Value>,
    timeout: Option<Duration>,
    scope: Option<String>,
    handler: Handler,
}

impl Tool {
    /// Creates a tool from its name, its input JSON Schema and an async handler.
    ///
    /// The handler gets the validated `arguments` object and a [`ToolContext`].
    pub fn new<F, Fut>(name: impl Into<String>, input_schema: Value, handler: F) -> Self
    where
        F: Fn(Value, ToolContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ToolOutput, ToolError>> + Send + 'static,
    {
        Self {
            name: name.into(),
            title: None,
            description: None,
            input_schema,
            output_schema: None,
            annotations: None,
            timeout: None,
            scope: None,
            handler: Arc::new(move |args, ctx| Box::pin(handler(args, ctx))),
        }
    }

    /// Sets the human-readable title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Sets the description shown to models.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets the JSON Schema of the tool's `structuredContent`.
    pub fn output_schema(mut self, schema: Value) -> Self {
        self.output_schema = Some(schema);
        self
    }

    /// Sets the annotations (`readOnlyHint`, `destructiveHint`, ...).
    pub fn annotations(mut self, annotations: Value) -> Self {
        self.annotations = Some(annotations);
        self
    }

    /// Sets this tool's own per-call deadline, overriding the server default.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Requires callers to hold `scope` (an OAuth scope) when the server authenticates
    /// requests; without it a call gets 403 `insufficient_scope`.
    pub fn required_scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// Returns the tool's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Returns the scope callers must hold, if any.
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }
}

impl fmt::Debug for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tool")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// What a handler returns on success: content blocks, optional structured content, and
/// whether the result reports a failure the model should see (`isError`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[must_use]
pub struct ToolOutput {
    content: Vec<Content>,
    #[serde(rename = "structuredContent", skip_serializing_if = "Option::is_none")]
    structured: Option<Value>,
    #[serde(rename = "isError", skip_serializing_if = "std::ops::Not::not")]
    is_error: bool,
}

/// One content block of a tool result, serialized straight to its MCP form.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Content {
    Text {
        text: String,
    },
    Image {
        data: String,
        #[serde(rename = "mimeType")]
        mime_type: String,
    },
    Audio {
        data: String,
        #[serde(rename = "mimeType")]
        mime_type: String,
    },
    ResourceLink {
        uri: String,
        name: String,
    },
}

impl ToolOutput {
    /// Creates a result with one text block.
    pub fn text(text: impl Into<String>) -> Self {
        Self::default().with_text(text)
    }

    /// Creates a result with `structuredContent` and its JSON text as a text block.
    pub fn structured(value: Value) -> Self {
        Self::text(value.to_string()).with_structured(value)
    }

    /// Creates an `isError: true` result: a failure the tool reports to the model.
    pub fn error(text: impl Into<String>) -> Self {
        Self {
            is_error: true,
            ..Self::text(text)
        }
    }

    /// Appends a text block.
    pub fn with_text(mut self, text: impl Into<String>) -> Self {
        self.content.push(Content::Text { text: text.into() });
        self
    }

    /// Appends an image block (base64 `data` of the given MIME type).
    pub fn with_image(mut self, data: impl Into<String>, mime_type: impl Into<String>) -> Self {
        self.content.push(Content::Image {
            data: data.into(),
            mime_type: mime_type.into(),
        });
        self
    }

    /// Appends an audio block (base64 `data` of the given MIME type).
    pub fn with_audio(mut self, data: impl Into<String>, mime_type: impl Into<String>) -> Self {
        self.content.push(Content::Audio {
            data: data.into(),
            mime_type: mime_type.into(),
        });
        self
    }

    /// Appends a link to a resource.
    pub fn with_resource_link(mut self, uri: impl Into<String>, name: impl Into<String>) -> Self {
        self.content.push(Content::ResourceLink {
            uri: uri.into(),
            name: name.into(),
        });
        self
    }

    /// Sets `structuredContent`.
    pub fn with_structured(mut self, value: Value) -> Self {
        self.structured = Some(value);
        self
    }

    /// Returns the result object as sent in a `tools/call` response.
    pub fn to_json(&self) -> Value {
        // Serializing strings, numbers and JSON values cannot fail.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// Drops `structuredContent`, for clients of revisions before 2025-06-18.
    pub(crate) fn without_structured(mut self) -> Self {
        self.structured = None;
        self
    }
}

/// Why a handler failed; answered with E_RUNTIME, or with the error it carries.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolError {
    kind: ToolErrorKind,
}

#[derive(Debug, Clone, PartialEq)]
enum ToolErrorKind {
    Failed(String),
    Rpc(RpcError),
}

impl ToolError {
    /// A failure answered with E_RUNTIME; `detail` reaches the client only when debugging.
    pub fn failed(detail: impl Into<String>) -> Self {
        Self {
            kind: ToolErrorKind::Failed(detail.into()),
        }
    }

    /// Returns the JSON-RPC error this failure is answered with.
    pub(crate) fn into_rpc(self) -> RpcError {
        match self.kind {
            ToolErrorKind::Failed(detail) => runtime_error(detail),
            ToolErrorKind::Rpc(err) => err,
        }
    }
}

impl From<RpcError> for ToolError {
    fn from(err: RpcError) -> Self {
        Self {
            kind: ToolErrorKind::Rpc(err),
        }
    }
}

impl From<String> for ToolError {
    fn from(detail: String) -> Self {
        Self::failed(detail)
    }
}

impl From<&str> for ToolError {
    fn from(detail: &str) -> Self {
        Self::failed(detail)
    }
}

pub(crate) fn runtime_error(detail: impl Into<Value>) -> RpcError {
    RpcError::new(crate::ErrorCode::Runtime, "Tool execution failed").with_debug(detail)
}

/// Identifies one running tool call between the core and the adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(pub(crate) u64);

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "call-{}", self.0)
    }
}

/// A message a running tool sends before its result.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ToolMessage {
    /// A log notification (`notifications/message`), filtered by the session's level.
    Log {
        /// The MCP logging level.
        level: LoggingLevel,
        /// An optional logger name.
        logger: Option<String>,
        /// Any JSON data.
        data: Value,
    },
    /// A progress notification, sent only when the client asked with a progress token.
    Progress {
        /// Progress so far; must increase.
        progress: f64,
        /// The total, when known.
        total: Option<f64>,
        /// A human-readable message.
        message: Option<String>,
    },
}

/// The MCP (RFC 5424) logging levels, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum LoggingLevel {
    /// Detailed debugging information.
    Debug,
    /// Normal operational messages.
    Info,
    /// Normal but significant events.
    Notice,
    /// Warning conditions.
    Warning,
    /// Error conditions.
    Error,
    /// Critical conditions.
    Critical,
    /// Action must be taken immediately.
    Alert,
    /// The system is unusable.
    Emergency,
}

impl LoggingLevel {
    /// Parses the protocol name of a level (`"info"`, `"warning"`, ...).
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "debug" => Self::Debug,
            "info" => Self::Info,
            "notice" => Self::Notice,
            "warning" => Self::Warning,
            "error" => Self::Error,
            "critical" => Self::Critical,
            "alert" => Self::Alert,
            "emergency" => Self::Emergency,
            _ => return None,
        })
    }

    /// Returns the protocol name of the level.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Debug => "debug",
            Self::Info => "info",
            Self::Notice => "notice",
            Self::Warning => "warning",
            Self::Error => "error",
            Self::Critical => "critical",
            Self::Alert => "alert",
            Self::Emergency => "emergency",
        }
    }
}

/// Where a running tool's messages go: a sink the adapter provides, which hands each
/// message back to the core through [`Server::tool_message`](crate::Server::tool_message).
#[derive(Clone)]
pub struct Outbox(Arc<dyn Fn(CallId, ToolMessage) + Send + Sync>);

impl Outbox {
    /// Creates an outbox from the adapter's sink.
    pub fn new(sink: impl Fn(CallId, ToolMessage) + Send + Sync + 'static) -> Self {
        Self(Arc::new(sink))
    }

    /// Creates an outbox that drops every message.
    pub fn discard() -> Self {
        Self::new(|_, _| {})
    }
}

impl fmt::Debug for Outbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Outbox")
    }
}

/// What a handler knows about its call, and its way to talk to the client while it runs.
#[derive(Debug, Clone)]
pub struct ToolContext {
    call: CallId,
    outbox: Outbox,
}

impl ToolContext {
    /// Returns the id of this call.
    pub fn call_id(&self) -> CallId {
        self.call
    }

    /// Sends a log notification to the client, if the session's level lets it through.
    pub fn log(&self, level: LoggingLevel, data: impl Into<Value>) {
        (self.outbox.0)(
            self.call,
            ToolMessage::Log {
                level,
                logger: None,
                data: data.into(),
            },
        );
    }

    /// Reports progress, if the client asked for it with a progress token.
    pub fn progress(&self, progress: f64, total: Option<f64>, message: Option<String>) {
        (self.outbox.0)(
            self.call,
            ToolMessage::Progress {
                progress,
                total,
                message,
            },
        );
    }
}

/// A tool call for the adapter to run: emitted by the core, completed with
/// [`Server::complete`](crate::Server::complete).
#[must_use]
pub struct ToolCall {
    /// The id to complete the call with.
    pub id: CallId,
    /// The tool's name.
    pub name: String,
    /// The validated arguments.
    pub arguments: Value,
    /// When the core will answer E_TIMEOUT and emit a cancel for this call.
    pub deadline: Instant,
    handler: Handler,
}

impl fmt::Debug for ToolCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolCall")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

/// How a call ended, as reported by the adapter.
pub type Outcome = Result<ToolOutput, ToolError>;

impl ToolCall {
    /// Starts the handler and returns its future; a panic, whether in the handler's first
    /// call or in any later poll, becomes an E_RUNTIME outcome instead of unwinding.
    pub fn run(self, outbox: Outbox) -> CallFuture {
        let ctx = ToolContext {
            call: self.id,
            outbox,
        };
        let handler = self.handler;
        let arguments = self.arguments;
        let inner = catch_unwind(AssertUnwindSafe(move || handler(arguments, ctx))).map_err(panic_error);
        CallFuture { inner: Some(inner) }
    }
}

/// A running handler whose panics are caught; resolves to the call's [`Outcome`].
#[must_use = "futures do nothing unless polled"]
pub struct CallFuture {
    inner: Option<Result<ToolFuture, ToolError>>,
}

impl Future for CallFuture {
    type Output = Outcome;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome> {
        let Some(state) = self.inner.as_mut() else {
            return Poll::Ready(Err(ToolError::failed("call polled after completion")));
        };
        let poll = match state {
            Err(err) => Poll::Ready(Err(err.clone())),
            Ok(future) => catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx)))
                .unwrap_or_else(|panic| Poll::Ready(Err(panic_error(panic)))),
        };
        if poll.is_ready() {
            self.inner = None;
        }
        poll
    }
}

fn panic_error(panic: Box<dyn std::any::Any + Send>) -> ToolError {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".into());
    ToolError::failed(format!("tool panicked: {message}"))
}

/// A registered tool with its compiled input validator.
pub(crate) struct Entry {
    pub(crate) tool: Tool,
    pub(crate) validator: ArgsValidator,
}

/// The server's tools, in registration order.
#[derive(Default)]
pub struct ToolRegistry {
    entries: Vec<Entry>,
    by_name: HashMap<String, usize>,
    namespaces: BTreeSet<String>,
}

/// Why a tool could not be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegisterError {
    /// A tool of that name is already registered.
    #[error("a tool named {0:?} is already registered")]
    Duplicate(String),
    /// The name is empty, longer than 128 bytes, or has characters outside
    /// `A-Z a-z 0-9 _ - . @ /`.
    #[error("invalid tool name {0:?}: use 1 to 128 of A-Z a-z 0-9 _ - . @ /")]
    InvalidName(String),
    /// The input schema is not a JSON object schema the validator accepts.
    #[error("tool {name:?}: {source}")]
    InvalidSchema {
        /// The tool's name.
        name: String,
        /// What the validator said.
        source: SchemaError,
    },
}

impl ToolRegistry {
    /// Creates an empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a tool, compiling its input schema; fails on a duplicate name or a bad schema.
    pub fn register(&mut self, tool: Tool) -> Result<(), RegisterError> {
        if !valid_name(&tool.name) {
            return Err(RegisterError::InvalidName(tool.name));
        }
        if self.by_name.contains_key(&tool.name) {
            return Err(RegisterError::Duplicate(tool.name));
        }
        if tool.input_schema.get("type").and_then(Value::as_str) != Some("object") {
            return Err(RegisterError::InvalidSchema {
                name: tool.name,
                source: SchemaError {
                    reason: "inputSchema must have \"type\": \"object\"".into(),
                },
            });
        }
        let validator = match ArgsValidator::compile(&tool.input_schema) {
            Ok(validator) => validator,
            Err(source) => {
                return Err(RegisterError::InvalidSchema {
                    name: tool.name,
                    source,
                });
            }
        };
        if let Some(namespace) = namespace_of(&tool.name) {
            self.namespaces.insert(namespace.to_owned());
        }
        self.by_name.insert(tool.name.clone(), self.entries.len());
        self.entries.push(Entry { tool, validator });
        Ok(())
    }

    /// Adds a tool and returns the registry, for chaining; fails like [`register`](Self::register).
    pub fn with(mut self, tool: Tool) -> Result<Self, RegisterError> {
        self.register(tool)?;
        Ok(self)
    }

    /// Returns the number of tools.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Returns whether there are no tools.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Entry> {
        self.by_name.get(name).map(|&index| &self.entries[index])
    }

    pub(crate) fn has_namespace(&self, name: &str) -> bool {
        namespace_of(name).is_some_and(|namespace| self.namespaces.contains(namespace))
    }

    pub(crate) fn page(&self, start: usize, len: usize) -> &[Entry] {
        let start = start.min(self.entries.len());
        let end = start.saturating_add(len).min(self.entries.len());
        &self.entries[start..end]
    }

    pub(crate) fn call(&self, entry: &Entry, id: CallId, arguments: Value, deadline: Instant) -> ToolCall {
        ToolCall {
            id,
            name: entry.tool.name.clone(),
            arguments,
            deadline,
            handler: Arc::clone(&entry.tool.handler),
        }
    }
}

impl Tool {
    /// Returns the tool's definition as listed to a client speaking `version`.
    pub(crate) fn definition(&self, version: crate::mcp::ProtocolVersion) -> Value {
        use crate::mcp::ProtocolVersion as V;
        let mut def = serde_json::Map::new();
        def.insert("name".into(), self.name.clone().into());
        if version >= V::V2025_06_18
            && let Some(title) = &self.title
        {
            def.insert("title".into(), title.clone().into());
        }
        if let Some(description) = &self.description {
            def.insert("description".into(), description.clone().into());
        }
        def.insert("inputSchema".into(), self.input_schema.clone());
        if version >= V::V2025_06_18
            && let Some(schema) = &self.output_schema
        {
            def.insert("outputSchema".into(), schema.clone());
        }
        if version >= V::V2025_03_26
            && let Some(annotations) = &self.annotations
        {
            def.insert("annotations".into(), annotations.clone());
        }
        Value::Object(def)
    }

    pub(crate) fn timeout_or(&self, default: Duration) -> Duration {
        self.timeout.unwrap_or(default)
    }
}

/// The namespace of a `ns.verb@vN` name: the part before the first dot.
fn namespace_of(name: &str) -> Option<&str> {
    name.split_once('.')
        .map(|(namespace, _)| namespace)
        .filter(|ns| !ns.is_empty())
}

fn valid_name(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'@' | b'/'))
}
