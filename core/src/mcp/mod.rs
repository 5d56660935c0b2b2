//! MCP on top of JSON-RPC: protocol revisions, the method table, and one file per feature
//! (lifecycle, logging, tools, resources, prompts, completion). Each method's handler sees
//! the request's `Dispatch` and answers now or starts a user handler.

mod capabilities;
mod completion;
mod lifecycle;
mod logging;
pub(crate) mod modern;
mod pagination;
mod prompts;
mod resources;
mod session;
#[cfg(test)]
mod tests;
mod tools;

pub use crate::protocol::{LoggingLevel, ProtocolVersion};
pub use modern::StateKey;

pub(crate) use logging::message_params as log_params;
pub(crate) use resources::not_found as resource_not_found;
pub(crate) use session::Session;
pub(crate) use tools::tool_result;

use std::time::Duration;

use serde_json::Value;

use crate::config::Config;
use crate::error::{ErrorCode, RpcError};
use crate::handler::{CallKind, Context, HandlerFuture};
use crate::jsonrpc::{CallParts, Request};
use crate::registry::{Registry, ToolRegistry};

/// What a method sees of the server while it answers one request.
pub(crate) struct Dispatch<'a> {
    /// The user's definitions.
    pub(crate) registry: &'a Registry,
    /// The server's settings.
    pub(crate) config: &'a Config,
    /// The MCP state of the request's session.
    pub(crate) session: &'a mut Session,
    /// A `tools/call`'s name and arguments, when they were read apart from its params.
    pub(crate) call: Option<CallParts>,
}

/// What a method decided about a request.
pub(crate) enum Reply {
    /// Answer now.
    Now(Result<Value, RpcError>),
    /// Run a user handler; answer when it completes.
    Run(Start),
    /// Open a `subscriptions/listen` stream with this filter.
    Listen(modern::Filter),
}

/// A user handler to start for a request, with what the server needs to run it.
pub(crate) struct Start {
    /// What kind of handler it is.
    pub(crate) kind: CallKind,
    /// The tool or prompt name, or the resource URI.
    pub(crate) name: std::sync::Arc<str>,
    /// The handler's own deadline, when it has one.
    pub(crate) timeout: Option<Duration>,
    /// Starts the handler with its context.
    pub(crate) run: Box<dyn FnOnce(Context) -> HandlerFuture + Send>,
}

impl Start {
    pub(crate) fn new(
        kind: CallKind,
        name: impl Into<std::sync::Arc<str>>,
        run: impl FnOnce(Context) -> HandlerFuture + Send + 'static,
    ) -> Self {
        Self {
            kind,
            name: name.into(),
            timeout: None,
            run: Box::new(run),
        }
    }
}

/// One entry of the method table.
struct Method {
    name: &'static str,
    /// The first revision that has the method.
    since: ProtocolVersion,
    /// The first revision that no longer has it.
    until: Option<ProtocolVersion>,
    /// Whether the session must have been initialized.
    needs_session: bool,
    /// Whether the server serves it with what is registered.
    served: fn(&Registry) -> bool,
    handler: fn(&mut Dispatch<'_>, Option<Value>) -> Reply,
}

impl Method {
    /// Returns whether a client of `version` has the method.
    fn serves(&self, version: ProtocolVersion) -> bool {
        self.since <= version && self.until.is_none_or(|until| version < until)
    }
}

fn always(_: &Registry) -> bool {
    true
}

fn has_tools(registry: &Registry) -> bool {
    !registry.tools.is_empty()
}

fn has_resources(registry: &Registry) -> bool {
    !registry.resources.is_empty()
}

fn has_prompts(registry: &Registry) -> bool {
    !registry.prompts.is_empty()
}

fn has_completions(registry: &Registry) -> bool {
    registry.completes()
}

use ProtocolVersion::V2024_11_05 as FIRST;
use ProtocolVersion::V2026_07_28 as MODERN;

/// Every request method the server answers.
const METHODS: &[Method] = &[
    Method {
        name: "initialize",
        since: FIRST,
        until: Some(MODERN),
        needs_session: false,
        served: always,
        handler: lifecycle::initialize,
    },
    Method {
        name: "ping",
        since: FIRST,
        until: Some(MODERN),
        needs_session: false,
        served: always,
        handler: lifecycle::ping,
    },
    Method {
        name: "logging/setLevel",
        since: FIRST,
        until: Some(MODERN),
        needs_session: true,
        served: always,
        handler: logging::set_level,
    },
    Method {
        name: "tools/list",
        since: FIRST,
        until: None,
        needs_session: true,
        served: has_tools,
        handler: tools::list,
    },
    Method {
        name: "tools/call",
        since: FIRST,
        until: None,
        needs_session: true,
        served: has_tools,
        handler: tools::call,
    },
    Method {
        name: "resources/list",
        since: FIRST,
        until: None,
        needs_session: true,
        served: has_resources,
        handler: resources::list,
    },
    Method {
        name: "resources/templates/list",
        since: FIRST,
        until: None,
        needs_session: true,
        served: has_resources,
        handler: resources::templates,
    },
    Method {
        name: "resources/read",
        since: FIRST,
        until: None,
        needs_session: true,
        served: has_resources,
        handler: resources::read,
    },
    Method {
        name: "resources/subscribe",
        since: FIRST,
        until: Some(MODERN),
        needs_session: true,
        served: has_resources,
        handler: resources::subscribe,
    },
    Method {
        name: "resources/unsubscribe",
        since: FIRST,
        until: Some(MODERN),
        needs_session: true,
        served: has_resources,
        handler: resources::unsubscribe,
    },
    Method {
        name: "prompts/list",
        since: FIRST,
        until: None,
        needs_session: true,
        served: has_prompts,
        handler: prompts::list,
    },
    Method {
        name: "prompts/get",
        since: FIRST,
        until: None,
        needs_session: true,
        served: has_prompts,
        handler: prompts::get,
    },
    Method {
        name: "server/discover",
        since: MODERN,
        until: None,
        needs_session: true,
        served: always,
        handler: lifecycle::discover,
    },
    Method {
        name: "subscriptions/listen",
        since: MODERN,
        until: None,
        needs_session: true,
        served: always,
        handler: listen,
    },
    Method {
        name: "completion/complete",
        since: FIRST,
        until: None,
        needs_session: true,
        served: has_completions,
        handler: completion::complete,
    },
];

/// Returns whether the server serves `method` to a client of `version`, with what is
/// registered.
pub(crate) fn is_served(registry: &Registry, method: &str, version: ProtocolVersion) -> bool {
    METHODS
        .iter()
        .any(|entry| entry.name == method && (entry.served)(registry) && entry.serves(version))
}

/// Answers one request: finds its method, checks the session's state, and runs it.
pub(crate) fn dispatch(dispatch: &mut Dispatch<'_>, method: &str, params: Option<Value>) -> Reply {
    let Some(entry) = METHODS
        .iter()
        .find(|entry| entry.name == method && (entry.served)(dispatch.registry))
    else {
        return Reply::Now(Err(method_not_found(method)));
    };
    let version = dispatch.session.version();
    // Before `initialize`, the methods of the legacy revisions are known.
    if !entry.serves(version.unwrap_or(ProtocolVersion::LATEST_LEGACY)) {
        return Reply::Now(Err(method_not_found(method)));
    }
    if version.is_none() && entry.needs_session {
        return Reply::Now(Err(RpcError::new(
            ErrorCode::InvalidRequest,
            "Server not initialized: send initialize first",
        )));
    }
    (entry.handler)(dispatch, params)
}

/// `subscriptions/listen`: the notifications the client opted in to, among what is served.
fn listen(dispatch: &mut Dispatch<'_>, params: Option<Value>) -> Reply {
    let registry = dispatch.registry;
    match modern::Filter::read(params.as_ref()) {
        Ok(filter) => Reply::Listen(filter.honoured(
            has_tools(registry),
            has_prompts(registry),
            has_resources(registry),
        )),
        Err(error) => Reply::Now(Err(error)),
    }
}

/// Returns the capabilities the server declares: what is registered, and logging.
pub(crate) fn capabilities(registry: &Registry) -> Value {
    capabilities::of(registry)
}

/// The error for a method this server does not serve (including `server/discover`, which
/// clients use to probe for the 2026 revision and fall back from).
pub(crate) fn method_not_found(method: &str) -> RpcError {
    RpcError::new(ErrorCode::MethodNotFound, "Method not found").with_debug(method.to_owned())
}

pub(crate) fn invalid_params(message: impl Into<String>) -> RpcError {
    RpcError::new(ErrorCode::InvalidParams, message)
}

/// The object `params`, or an empty one when absent; `Err` when it is not an object.
pub(crate) fn params_object(
    params: Option<Value>,
    method: &str,
) -> Result<serde_json::Map<String, Value>, RpcError> {
    match params {
        None | Some(Value::Null) => Ok(serde_json::Map::new()),
        Some(Value::Object(object)) => Ok(object),
        Some(_) => Err(invalid_params(format!("{method} params must be an object"))),
    }
}

/// The string member `name` of `params`, or -32602 naming it.
pub(crate) fn string_param(
    params: &mut serde_json::Map<String, Value>,
    name: &str,
    method: &str,
) -> Result<String, RpcError> {
    match params.remove(name) {
        Some(Value::String(value)) => Ok(value),
        _ => Err(invalid_params(format!("{method} needs a string {name}"))),
    }
}

/// Reads `params._meta.progressToken` (a string or an integer) if the client sent one.
pub(crate) fn progress_token(params: Option<&Value>) -> Option<Value> {
    params?
        .get("_meta")?
        .get("progressToken")
        .filter(|token| token.is_string() || token.is_i64() || token.is_u64())
        .cloned()
}

/// The name a request is logged under: the tool name for `tools/call` (a registered tool's
/// shared name when there is one), else the method.
pub(crate) fn log_method(request: &Request, tools: &ToolRegistry) -> std::sync::Arc<str> {
    let method = request.method.as_str();
    if method == "tools/call"
        && let Some(name) = request.tool_name()
    {
        return match tools.get(name) {
            Some(entry) => std::sync::Arc::clone(&entry.name),
            None => name.into(),
        };
    }
    method.into()
}
