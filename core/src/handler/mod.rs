//! Running user handlers: the one kind of call the core starts for a tool call, a resource
//! read, a prompt get or a completion, what it resolves to, and how its panics are caught.
//!
//! The core never polls a handler. It emits [`Event::Call`](crate::Event::Call) carrying a
//! [`Call`]; the embedder runs [`Call::run`] on its runtime and reports the outcome with
//! [`Server::complete`](crate::Server::complete). Every kind has the same rules: a deadline
//! (E_TIMEOUT and a cancel when it passes), a caught panic (E_RUNTIME), cancellation by the
//! client, and a late outcome refused.

mod client;
mod context;
mod results;
#[cfg(test)]
mod tests;
mod tool_output;

pub use client::{ClientError, ClientRequest, ElicitAction, ElicitResult, Elicitation, Reply, Root};
pub use context::{Context, Message, Notice, Outbox, Question};
pub use results::{Completion, MAX_COMPLETION_VALUES, PromptMessage, PromptResult};
pub use tool_output::ToolOutput;

#[cfg(test)]
pub(crate) use client::channel as reply_channel;

use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Instant;

use serde::Serialize;
use serde_json::Value;

use crate::content::ResourceContents;
use crate::error::{ErrorCode, RpcError};

/// The boxed future a handler returns.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Outcome> + Send + 'static>>;

/// How a handler ended, as reported by the embedder.
pub type Outcome = Result<Output, HandlerError>;

/// Identifies one running handler between the core and the embedder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(pub(crate) u64);

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "call-{}", self.0)
    }
}

/// What kind of request a handler answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CallKind {
    /// `tools/call`.
    Tool,
    /// `resources/read`.
    ResourceRead,
    /// `prompts/get`.
    PromptGet,
    /// `completion/complete`.
    Completion,
}

impl CallKind {
    /// Returns the MCP method that starts a handler of this kind.
    pub const fn method(self) -> &'static str {
        match self {
            Self::Tool => "tools/call",
            Self::ResourceRead => "resources/read",
            Self::PromptGet => "prompts/get",
            Self::Completion => "completion/complete",
        }
    }
}

/// What a handler returns on success, one variant per kind of handler.
#[derive(Debug, Clone, PartialEq)]
#[must_use]
#[non_exhaustive]
pub enum Output {
    /// A tool's result.
    Tool(ToolOutput),
    /// A resource's contents.
    Resource(Vec<ResourceContents>),
    /// A prompt's messages.
    Prompt(PromptResult),
    /// Completion values.
    Completion(Completion),
}

impl From<ToolOutput> for Output {
    fn from(output: ToolOutput) -> Self {
        Self::Tool(output)
    }
}

impl From<PromptResult> for Output {
    fn from(result: PromptResult) -> Self {
        Self::Prompt(result)
    }
}

impl From<Completion> for Output {
    fn from(completion: Completion) -> Self {
        Self::Completion(completion)
    }
}

impl From<Vec<ResourceContents>> for Output {
    fn from(contents: Vec<ResourceContents>) -> Self {
        Self::Resource(contents)
    }
}

impl From<ResourceContents> for Output {
    fn from(contents: ResourceContents) -> Self {
        Self::Resource(vec![contents])
    }
}

/// The `result` object of a resource read.
#[derive(Serialize)]
pub(crate) struct ReadResult<'a> {
    pub(crate) contents: &'a [ResourceContents],
}

/// Why a handler failed: answered with E_RUNTIME, or with the error it carries.
#[derive(Debug, Clone, PartialEq)]
pub struct HandlerError {
    kind: ErrorKind,
}

#[derive(Debug, Clone, PartialEq)]
enum ErrorKind {
    Failed(String),
    Rpc(RpcError),
    /// A failure the model should see: an `isError` result of a tool call.
    Reported(String),
    /// Arguments the schema let through but the handler's type refused.
    Arguments(RpcError),
}

impl HandlerError {
    /// A failure answered with E_RUNTIME; `detail` reaches the client only when debugging.
    pub fn failed(detail: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Failed(detail.into()),
        }
    }

    /// A failure answered with `error` as it is (its message reaches the client).
    pub fn rpc(error: RpcError) -> Self {
        Self {
            kind: ErrorKind::Rpc(error),
        }
    }

    /// A failure reported to the model: a tool call answers a result with `isError: true`
    /// and `message` as its text (any other handler answers E_RUNTIME).
    ///
    /// ```
    /// use rampart_core::{Context, HandlerError, Tool};
    /// use schemars::JsonSchema;
    /// use serde::Deserialize;
    ///
    /// #[derive(Deserialize, JsonSchema)]
    /// struct Divide { a: f64, b: f64 }
    ///
    /// let tool = Tool::typed("divide", |args: Divide, _ctx: Context| async move {
    ///     if args.b == 0.0 {
    ///         return Err(HandlerError::tool_error("cannot divide by zero"));
    ///     }
    ///     Ok((args.a / args.b).to_string())
    /// });
    /// # let _ = tool;
    /// ```
    pub fn tool_error(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Reported(message.into()),
        }
    }

    /// Arguments a typed handler's type refused: E_VALIDATION, or an `isError` result when
    /// the server reports validation errors as tool results.
    pub(crate) fn arguments(error: RpcError) -> Self {
        Self {
            kind: ErrorKind::Arguments(error),
        }
    }

    /// A tool call's failure as the result the model sees, when it is one: a reported
    /// failure, or refused arguments when `arguments_as_result`.
    pub(crate) fn as_tool_result(&self, arguments_as_result: bool) -> Option<ToolOutput> {
        match &self.kind {
            ErrorKind::Reported(message) => Some(ToolOutput::error(message.clone())),
            ErrorKind::Arguments(error) if arguments_as_result => {
                Some(ToolOutput::error(error.message.clone()))
            }
            _ => None,
        }
    }

    /// An invalid argument, answered with -32602 and `message`.
    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self::rpc(RpcError::new(ErrorCode::InvalidParams, message))
    }

    /// Returns the JSON-RPC error this failure is answered with.
    pub(crate) fn into_rpc(self) -> RpcError {
        match self.kind {
            ErrorKind::Failed(detail) | ErrorKind::Reported(detail) => runtime_error(detail),
            ErrorKind::Rpc(err) | ErrorKind::Arguments(err) => err,
        }
    }
}

impl From<RpcError> for HandlerError {
    fn from(err: RpcError) -> Self {
        Self::rpc(err)
    }
}

impl From<String> for HandlerError {
    fn from(detail: String) -> Self {
        Self::failed(detail)
    }
}

impl From<&str> for HandlerError {
    fn from(detail: &str) -> Self {
        Self::failed(detail)
    }
}

impl From<ClientError> for HandlerError {
    fn from(err: ClientError) -> Self {
        Self::failed(err.to_string())
    }
}

/// A user's handler, type-erased: its input, its context, a boxed future of its outcome.
pub(crate) type Erased<I> = Arc<dyn Fn(I, Context) -> HandlerFuture + Send + Sync>;

/// Erases a user's handler, whose success turns into the matching [`Output`].
pub(crate) fn erase<I, T, F, Fut>(handler: F) -> Erased<I>
where
    F: Fn(I, Context) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, HandlerError>> + Send + 'static,
    T: Into<Output>,
{
    Arc::new(move |input, ctx| {
        let future = handler(input, ctx);
        Box::pin(async move { future.await.map(Into::into) })
    })
}

/// The E_RUNTIME error with `detail` for debugging.
pub(crate) fn runtime_error(detail: impl Into<Value>) -> RpcError {
    RpcError::new(ErrorCode::Runtime, "Tool execution failed").with_debug(detail)
}

/// A handler to run, emitted by the core and completed with
/// [`Server::complete`](crate::Server::complete).
#[must_use]
pub struct Call {
    /// The id to complete the call with.
    pub id: CallId,
    /// What kind of request it answers.
    pub kind: CallKind,
    /// The tool or prompt name, or the resource URI.
    pub name: std::sync::Arc<str>,
    /// When the core answers E_TIMEOUT and emits a cancel for this call.
    pub deadline: Instant,
    start: Box<dyn FnOnce(Context) -> HandlerFuture + Send>,
    /// The span the handler runs in: its `tracing` events carry the request's id.
    #[cfg(feature = "tracing")]
    span: tracing::Span,
}

impl fmt::Debug for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("name", &self.name)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl Call {
    pub(crate) fn new(
        id: CallId,
        kind: CallKind,
        name: std::sync::Arc<str>,
        deadline: Instant,
        request_id: &str,
        start: Box<dyn FnOnce(Context) -> HandlerFuture + Send>,
    ) -> Self {
        #[cfg(feature = "tracing")]
        let span = tracing::info_span!(
            target: crate::log::TARGET,
            "mcp.handler",
            request_id = %request_id,
            method = kind.method(),
            name = %name,
        );
        #[cfg(not(feature = "tracing"))]
        let _ = request_id;
        Self {
            id,
            kind,
            name,
            deadline,
            start,
            #[cfg(feature = "tracing")]
            span,
        }
    }

    /// Starts the handler and returns its future; a panic, whether in the handler's first
    /// call or in any later poll, becomes an E_RUNTIME outcome instead of unwinding.
    pub fn run(self, outbox: Outbox) -> CallFuture {
        let ctx = Context::new(self.id, outbox);
        let start = self.start;
        #[cfg(feature = "tracing")]
        let entered = self.span.enter();
        let inner = catch_unwind(AssertUnwindSafe(move || start(ctx))).map_err(panic_error);
        #[cfg(feature = "tracing")]
        drop(entered);
        CallFuture {
            inner: Some(inner),
            #[cfg(feature = "tracing")]
            span: self.span,
        }
    }
}

/// A running handler whose panics are caught; resolves to the call's [`Outcome`].
#[must_use = "futures do nothing unless polled"]
pub struct CallFuture {
    inner: Option<Result<HandlerFuture, HandlerError>>,
    #[cfg(feature = "tracing")]
    span: tracing::Span,
}

impl Future for CallFuture {
    type Output = Outcome;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Outcome> {
        #[cfg(feature = "tracing")]
        let span = self.span.clone();
        #[cfg(feature = "tracing")]
        let _entered = span.enter();
        let Some(state) = self.inner.as_mut() else {
            return Poll::Ready(Err(HandlerError::failed("call polled after completion")));
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

fn panic_error(panic: Box<dyn std::any::Any + Send>) -> HandlerError {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".into());
    HandlerError::failed(format!("handler panicked: {message}"))
}
