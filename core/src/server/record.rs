//! The one record of each finished request: its log line, its count in the metrics, and,
//! while traces are exported, its span.

use std::borrow::Cow;
use std::time::Instant;

use serde_json::Value;

use super::{ConnectionId, Event, Server};
use crate::error::{ErrorCode, RpcError};
use crate::log::{self, Level, LogRecord, Status};
use crate::mcp::modern::Trace;
use crate::metrics::{self, Outcome};
use crate::time::Now;
use crate::trace::{AttributeValue, Parent, SpanRecord};

/// What one log record says about one request.
pub(super) struct Finished {
    pub(super) connection: ConnectionId,
    pub(super) request_id: std::sync::Arc<str>,
    pub(super) method: Option<std::sync::Arc<str>>,
    pub(super) started: Option<Instant>,
    pub(super) outcome: Result<Status, RpcError>,
    pub(super) http_status: Option<u16>,
    pub(super) http: Option<std::sync::Arc<str>>,
    pub(super) session: Option<String>,
    pub(super) principal: Option<String>,
    /// W3C trace context a 2026-07-28 request carried.
    pub(super) trace: Option<Trace>,
    /// What the metrics and the span say beyond the log line.
    pub(super) facts: Facts,
}

/// What a JSON-RPC message adds to its request's record, for the metrics and the span.
#[derive(Debug, Clone, Default)]
pub(crate) struct Facts {
    /// The method's metric label (a method MCP defines, `other`, or `response`).
    pub(crate) rpc: Option<&'static str>,
    /// A tool answered with `isError: true`.
    pub(crate) tool_error: bool,
    /// What only the span needs; gathered only while traces are exported.
    pub(crate) span: Option<Box<SpanFacts>>,
}

/// What a request's span says beyond its log line.
#[derive(Debug, Clone, Default)]
pub(crate) struct SpanFacts {
    /// The JSON-RPC method.
    pub(crate) method: String,
    /// The tool or prompt name, or the resource URI.
    pub(crate) target: Option<String>,
    /// The JSON-RPC id, as sent.
    pub(crate) id: Option<String>,
    /// The revision the request was answered under.
    pub(crate) version: Option<&'static str>,
    /// The caller's trace context, from `params._meta` or the HTTP headers.
    pub(crate) parent: Option<Trace>,
    /// The tool's arguments, when content capture is on.
    pub(crate) arguments: Option<String>,
    /// The tool's result, when content capture is on.
    pub(crate) result: Option<String>,
}

impl SpanFacts {
    /// Gathers a request's span facts: method, target, id, and the trace context of
    /// `params._meta` (else `header`, the HTTP `traceparent`).
    pub(crate) fn of_request(
        method: &str,
        params: Option<&Value>,
        id: Option<String>,
        header: Option<&Trace>,
        capture: bool,
    ) -> Box<Self> {
        let target = params.and_then(|params| match method {
            "tools/call" | "prompts/get" => params.get("name"),
            "resources/read" | "resources/subscribe" | "resources/unsubscribe" => params.get("uri"),
            _ => None,
        });
        let arguments = (capture && method == "tools/call")
            .then(|| {
                params
                    .and_then(|params| params.get("arguments"))
                    .map(Value::to_string)
            })
            .flatten();
        Box::new(Self {
            method: method.to_owned(),
            target: target.and_then(Value::as_str).map(str::to_owned),
            id,
            version: None,
            parent: crate::mcp::modern::trace_of(params).or_else(|| header.cloned()),
            arguments,
            result: None,
        })
    }
}

impl Finished {
    pub(super) fn new(connection: ConnectionId, request_id: std::sync::Arc<str>, started: Instant) -> Self {
        Self {
            connection,
            request_id,
            method: None,
            started: Some(started),
            outcome: Ok(Status::Ok),
            http_status: None,
            http: None,
            session: None,
            principal: None,
            trace: None,
            facts: Facts::default(),
        }
    }
}

impl Server {
    /// Emits the log record of a finished request, counts it, and makes its span.
    pub(super) fn log_finished(&mut self, now: Now, mut finished: Finished) {
        self.count_finished(now, &finished);
        // The span takes the facts only it needs; the trace context comes back for the log.
        let span = (finished.facts.span.take()).map(|facts| self.span(now, &finished, *facts));
        let (span, span_parent) = span.unzip();
        let (level, status, code, message) = match finished.outcome {
            Ok(status) => (Level::Info, status, None, Cow::Borrowed("request finished")),
            Err(error) => {
                let level = match error.code {
                    ErrorCode::Runtime | ErrorCode::Timeout | ErrorCode::InternalError => Level::Error,
                    _ => Level::Warning,
                };
                let message = format!("{}: {}", error.code.name(), error.message);
                (level, Status::Error, Some(error.code.code()), Cow::Owned(message))
            }
        };
        let client = self.client_of(finished.connection);
        let trace = finished.trace.or(span_parent.flatten());
        self.events.push_back(Event::Log(LogRecord {
            timestamp: now.timestamp(),
            level,
            message,
            request_id: finished.request_id,
            method: finished.method,
            duration_ms: finished
                .started
                .map(|started| log::millis(now.instant.saturating_duration_since(started))),
            status,
            code,
            client,
            principal: finished.principal,
            session: finished.session,
            http_status: finished.http_status,
            http: finished.http,
            traceparent: trace.as_ref().map(|trace| trace.parent.clone()),
            tracestate: trace.and_then(|trace| trace.state),
        }));
        if let Some(span) = span {
            self.events.push_back(Event::Span(span));
        }
    }

    /// The client a record names: the forwarded one behind a trusted proxy.
    fn client_of(&self, connection: ConnectionId) -> Option<std::sync::Arc<str>> {
        self.connections
            .get(&connection)
            .map(|conn| match conn.forwarded_for {
                Some(ip) => ip.to_string().into(),
                None => conn.client.clone(),
            })
    }

    fn count_finished(&mut self, now: Now, finished: &Finished) {
        let rpc = finished.facts.rpc;
        let outcome = match (&finished.outcome, finished.facts.tool_error) {
            (Err(_), _) | (Ok(Status::Error), _) => Outcome::Error,
            (Ok(Status::Ok), true) => Outcome::ToolError,
            (Ok(Status::Ok), false) => Outcome::Ok,
            (Ok(Status::Accepted), _) => Outcome::Accepted,
            (Ok(Status::Cancelled), _) => Outcome::Cancelled,
        };
        let tool = match (rpc, finished.method.as_deref()) {
            (Some("tools/call"), Some(name)) if self.registry.tools.get(name).is_some() => Some(name),
            (Some("tools/call"), _) => Some("unknown"),
            _ => None,
        };
        let seconds = rpc
            .and(finished.started)
            .map(|started| now.instant.saturating_duration_since(started).as_secs_f64());
        self.metrics.request(metrics::Request {
            method: rpc.unwrap_or("http"),
            tool,
            outcome,
            code: finished.outcome.as_ref().err().map(|error| error.code.code()),
            status: finished.http_status,
            seconds,
        });
    }

    /// The span of a finished request, by the OpenTelemetry semantic conventions for MCP.
    /// The span of a finished request, by the OpenTelemetry semantic conventions for MCP, and
    /// the trace context of its facts, given back for the log record.
    fn span(&mut self, now: Now, finished: &Finished, facts: SpanFacts) -> (SpanRecord, Option<Trace>) {
        let parent = (finished.trace.as_ref())
            .or(facts.parent.as_ref())
            .and_then(|trace| Parent::parse(&trace.parent));
        let mut trace_id = [0; 16];
        let mut span_id = [0; 8];
        match &parent {
            Some(parent) => trace_id = parent.trace_id,
            None => rand_core::RngCore::fill_bytes(&mut self.rng, &mut trace_id),
        }
        rand_core::RngCore::fill_bytes(&mut self.rng, &mut span_id);
        let elapsed = finished.started.map_or_else(Default::default, |started| {
            now.instant.saturating_duration_since(started)
        });
        let text = |value: &'static str| AttributeValue::Str(Cow::Borrowed(value));
        let owned = |value: String| AttributeValue::Str(Cow::Owned(value));
        let SpanFacts {
            method,
            target,
            id,
            version,
            parent: caller,
            arguments,
            result,
        } = facts;
        let mut attributes = Vec::with_capacity(14);
        let name = match &target {
            Some(target) => format!("{method} {target}"),
            None => method.clone(),
        };
        let tool = method == "tools/call";
        if let Some(target) = target {
            let key = match method.as_str() {
                "tools/call" => "gen_ai.tool.name",
                "prompts/get" => "gen_ai.prompt.name",
                _ => "mcp.resource.uri",
            };
            attributes.push((key, owned(target)));
        }
        attributes.push(("mcp.method.name", owned(method)));
        if tool {
            attributes.push(("gen_ai.operation.name", text("execute_tool")));
        }
        if let Some(id) = id {
            attributes.push(("jsonrpc.request.id", owned(id)));
        }
        if let Some(version) = version {
            attributes.push(("mcp.protocol.version", text(version)));
        }
        if let Some(session) = &finished.session {
            attributes.push(("mcp.session.id", owned(session.clone())));
        }
        let http = finished.http_status.is_some();
        attributes.push(("network.transport", text(if http { "tcp" } else { "pipe" })));
        if http {
            attributes.push(("network.protocol.name", text("http")));
        }
        if let Some(client) = self.client_of(finished.connection).filter(|_| http) {
            attributes.push(("client.address", owned(client.to_string())));
        }
        attributes.push(("rampart.request_id", owned(finished.request_id.to_string())));
        if let Some(arguments) = arguments {
            attributes.push(("gen_ai.tool.call.arguments", owned(arguments)));
        }
        if let Some(result) = result {
            attributes.push(("gen_ai.tool.call.result", owned(result)));
        }
        let error = match &finished.outcome {
            Err(error) => {
                let code = error.code.code().to_string();
                attributes.push(("error.type", owned(code.clone())));
                attributes.push(("rpc.response.status_code", owned(code)));
                Some(error.message.clone())
            }
            Ok(_) if finished.facts.tool_error => {
                attributes.push(("error.type", text("tool_error")));
                Some("the tool reported an error".to_owned())
            }
            Ok(_) => None,
        };
        let record = SpanRecord {
            trace_id,
            span_id,
            parent_span_id: parent.map(|parent| parent.span_id),
            trace_state: (finished.trace.as_ref())
                .or(caller.as_ref())
                .and_then(|trace| trace.state.clone()),
            flags: parent.map_or(1, |parent| parent.flags),
            name,
            start: now.wall.checked_sub(elapsed).unwrap_or(now.wall),
            end: now.wall,
            attributes,
            error,
        };
        (record, caller)
    }
}
