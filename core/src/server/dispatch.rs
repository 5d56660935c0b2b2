//! One parsed JSON-RPC message, whatever the transport: requests go through the method
//! table and answer now or start a handler; notifications change the session; responses
//! answer the requests running handlers made to the client.

use serde_json::Value;

use super::calls::{Modern, Progress, RequestContext, Running};
use super::http::store_unavailable;
use super::outgoing::Refused;
use super::record::{Finished, SpanFacts};
use super::sessions::SessionKey;
use super::store::{Limit, Waiter};
use super::task_calls::{TASK_METHODS, task_link};
use super::timers::Timer;
use super::{ConnectionId, Event, Server};
use crate::auth::has_scope;
use crate::error::{ErrorCode, RpcError};
use crate::handler::{Call, CallId, CallKind, ClientError};
use crate::jsonrpc::{self, Id, Notification, Request, Response};
use crate::log::Status;
use crate::mcp::modern::{Input, RequestMeta, Sealing, Trace};
use crate::mcp::{self, Dispatch, ProtocolVersion, Reply, Session, Start};
use crate::metrics;
use crate::rate_limit::{ClientKey, Decision};
use crate::store::StoreOp;
use crate::time::Now;

/// How the dispatcher answered one JSON-RPC message.
pub(super) enum Answer {
    /// Send this response now.
    Respond(Vec<u8>),
    /// A handler started; its response comes with `complete` or a timeout.
    Started(CallId),
    /// A notification, or a response taken by the handler waiting for it: nothing to send.
    Nothing,
    /// A response no request of this session and principal waits for.
    Unrouted,
    /// A `subscriptions/listen` request: open its stream with this filter.
    Listen(Id, mcp::modern::Filter),
    /// An answer to a request another replica made: forward it there.
    Forward(Response),
}

/// What the transport knows of a message before it is dispatched.
pub(super) struct Received<'a> {
    /// The id its log record and its handler's span carry.
    pub(super) request_id: &'a std::sync::Arc<str>,
    /// The trace context of the HTTP headers, when tracing (`_meta` wins over it).
    pub(super) header_trace: Option<&'a Trace>,
}

impl Server {
    /// Answers one parsed JSON-RPC message for a session.
    pub(super) fn dispatch_message(
        &mut self,
        connection: ConnectionId,
        key: &SessionKey,
        message: jsonrpc::Message,
        received: Received<'_>,
        modern: Option<RequestMeta>,
        now: Now,
    ) -> (Answer, Finished, Option<RpcError>) {
        let Received {
            request_id,
            header_trace,
        } = received;
        let mut finished = Finished::new(connection, std::sync::Arc::clone(request_id), now.instant);
        match message {
            jsonrpc::Message::Request(mut request) => {
                finished.facts.rpc = Some(metrics::method_label(&request.method));
                if self.config.trace.is_enabled() {
                    // The span reads the params whole.
                    request.join_params();
                    finished.facts.span = Some(SpanFacts::of_request(
                        &request.method,
                        request.params.as_ref(),
                        Some(request.id.to_string()),
                        header_trace,
                        self.config.trace.capture_content,
                    ));
                }
                self.dispatch_request(connection, key, request, finished, modern, now)
            }
            jsonrpc::Message::Notification(notification) => {
                finished.facts.rpc = Some(metrics::method_label(&notification.method));
                if self.config.trace.is_enabled() {
                    finished.facts.span = Some(SpanFacts::of_request(
                        &notification.method,
                        notification.params.as_ref(),
                        None,
                        header_trace,
                        false,
                    ));
                }
                self.handle_notification(key, &notification, now);
                finished.method = Some(notification.method.into());
                finished.outcome = Ok(Status::Accepted);
                (Answer::Nothing, finished, None)
            }
            jsonrpc::Message::Response(response) => {
                finished.method = Some("response".into());
                finished.facts.rpc = Some("response");
                finished.outcome = Ok(Status::Accepted);
                let answer = self.handle_response(connection, key, response);
                if matches!(answer, Answer::Unrouted) {
                    let error = RpcError::new(
                        ErrorCode::InvalidRequest,
                        "Bad Request: no request of this session waits for that response",
                    );
                    finished.outcome = Err(error.clone());
                    return (answer, finished, Some(error));
                }
                (answer, finished, None)
            }
        }
    }

    fn dispatch_request(
        &mut self,
        connection: ConnectionId,
        key: &SessionKey,
        request: Request,
        mut finished: Finished,
        modern: Option<RequestMeta>,
        now: Now,
    ) -> (Answer, Finished, Option<RpcError>) {
        finished.method = Some(mcp::log_method(&request, &self.registry.tools));
        if let Some(meta) = &modern {
            finished.trace = meta.trace.clone();
        }
        let is_modern = modern.is_some();
        match self.start_request(connection, key, request, &mut finished, modern, now) {
            Ok(answer) => (answer, finished, None),
            Err((id, error)) => {
                let error = if is_modern {
                    mcp::modern::error(error)
                } else {
                    error
                };
                let bytes = jsonrpc::write_error(Some(&id), &error, self.config.debug);
                (Answer::Respond(bytes), finished, Some(error))
            }
        }
    }

    /// Runs a request's method: answers now, opens a stream, or starts a handler. An error
    /// comes back with the request's id.
    fn start_request(
        &mut self,
        connection: ConnectionId,
        key: &SessionKey,
        mut request: Request,
        finished: &mut Finished,
        modern: Option<RequestMeta>,
        now: Now,
    ) -> Result<Answer, (Id, RpcError)> {
        if modern.is_some() {
            // The 2026-07-28 readers (tasks, sealed input) read the params whole.
            request.join_params();
        }
        let Some(session) = self.sessions.get_mut(key) else {
            let error = RpcError::new(ErrorCode::InvalidRequest, "Session not found");
            return Err((request.id, error));
        };
        let listening = session.listens.iter().any(|listen| listen.id == request.id);
        if listening || session.in_flight.contains_key(&request.id) {
            let error = RpcError::new(
                ErrorCode::InvalidRequest,
                "Invalid Request: id is already in use by a running request",
            );
            return Err((request.id, error));
        }
        let principal = self
            .connections
            .get(&connection)
            .and_then(|conn| conn.principal_name())
            .map(str::to_owned);
        let modern = match modern {
            None => None,
            Some(meta) if TASK_METHODS.contains(&request.method.as_str()) => {
                let answered = self.task_method(
                    connection,
                    &request.method,
                    request.params.as_ref(),
                    &meta.capabilities,
                    now,
                );
                return match answered {
                    Ok(result) => Ok(Answer::Respond(jsonrpc::write_result(&request.id, &result))),
                    Err(error) => Err((request.id, error)),
                };
            }
            Some(meta) => {
                let task = task_link(
                    &self.registry,
                    &request.method,
                    request.params.as_ref(),
                    &meta.capabilities,
                );
                let input = self.read_input(&request, &meta.capabilities, principal.as_deref(), now);
                match (input, task) {
                    (Ok(input), Ok(task)) => Some(Box::new(Modern { meta, input, task })),
                    (Err(error), _) | (_, Err(error)) => return Err((request.id, error)),
                }
            }
        };
        let progress = mcp::progress_token(request.params.as_ref());
        // A 2026-07-28 request carries everything it needs: it never touches session state.
        let mut stateless = Session::modern();
        let (session, version) = match (&modern, self.sessions.get_mut(key)) {
            (None, Some(session)) => {
                let version = session.mcp.version().unwrap_or(ProtocolVersion::LATEST_LEGACY);
                (&mut session.mcp, version)
            }
            _ => (&mut stateless, ProtocolVersion::LATEST),
        };
        if let Some(span) = finished.facts.span.as_mut() {
            span.version = Some(version.as_str());
        }
        let mut dispatch = Dispatch {
            registry: &self.registry,
            config: &self.config,
            session,
            call: request.call.take(),
        };
        let start = match mcp::dispatch(&mut dispatch, &request.method, request.params.take()) {
            Reply::Now(Ok(mut value)) => {
                if modern.is_some() {
                    let cache = self.registry.cache.for_method(&request.method);
                    mcp::modern::finish(&mut value, cache, &self.config);
                }
                return Ok(Answer::Respond(jsonrpc::write_result(&request.id, &value)));
            }
            Reply::Now(Err(error)) => return Err((request.id, error)),
            Reply::Listen(filter) => return Ok(Answer::Listen(request.id, filter)),
            Reply::Run(start) => start,
        };
        let ask = match self.admit(connection, &start, now) {
            Ok(ask) => ask,
            Err(error) => return Err((request.id, error)),
        };
        let call = self.calls.next_id();
        let deadline = now.instant + start.timeout.unwrap_or(self.config.tool_timeout);
        if let Some(session) = self.sessions.get_mut(key) {
            session.in_flight.insert(request.id.clone(), call);
        }
        let Start { kind, name, run, .. } = start;
        self.calls.insert(
            call,
            Running {
                request: RequestContext {
                    connection,
                    session: key.clone(),
                    id: request.id,
                    // Moved, not copied: the call's record is made when it finishes, and the
                    // caller drops this one.
                    log_id: std::sync::Arc::clone(&finished.request_id),
                    version,
                    principal,
                    modern,
                    facts: std::mem::take(&mut finished.facts),
                },
                kind,
                name: name.clone(),
                started: now.instant,
                handed_out: ask.is_none(),
                deadline,
                progress: Progress::new(progress),
            },
        );
        self.timers.arm(deadline, Timer::Call(call));
        let log_id = self.calls.get(call).map(|running| &*running.request.log_id);
        let run = Call::new(call, kind, name, deadline, log_id.unwrap_or_default(), run);
        match ask {
            // The call starts once the shared store says its tool's limit allows it.
            Some(op) => self.ask_store(op, Waiter::Call(call, Box::new(run)), now),
            None => self.events.push_back(Event::Call(run)),
        }
        Ok(Answer::Started(call))
    }

    /// Reads the answers and sealed state a 2026-07-28 retry carries (for the methods that
    /// may ask the client something).
    fn read_input(
        &self,
        request: &Request,
        capabilities: &Value,
        principal: Option<&str>,
        now: Now,
    ) -> Result<Input, RpcError> {
        let Some(subject) = mcp::modern::subject(&request.method, request.params.as_ref()) else {
            return Ok(Input::default());
        };
        Input::read(
            request.params.as_ref(),
            &request.method,
            &subject,
            capabilities,
            &self.sealing(principal, now),
        )
    }

    /// What opening and sealing `requestState` needs, for a request of `principal`.
    pub(super) fn sealing<'a>(&'a self, principal: Option<&'a str>, now: Now) -> Sealing<'a> {
        Sealing {
            key: &self.state_key,
            principal,
            now: now.wall,
            ttl: self.config.request_state_ttl,
            max_bytes: self.config.max_request_state_bytes,
        }
    }

    /// Checks what a tool call needs beyond its arguments: the scope it requires and the
    /// tool's own rate limit, decided here or by the store request returned.
    fn admit(
        &mut self,
        connection: ConnectionId,
        start: &Start,
        now: Now,
    ) -> Result<Option<StoreOp>, RpcError> {
        if start.kind != CallKind::Tool {
            return Ok(None);
        }
        let conn = self.connections.get(&connection);
        let principal = conn.and_then(|conn| conn.principal.as_ref());
        let scope = self
            .registry
            .tools
            .get(&start.name)
            .and_then(|entry| entry.tool.scope());
        if let (Some(principal), Some(scope)) = (principal, scope)
            && !has_scope(principal, scope)
        {
            return Err(RpcError::new(
                ErrorCode::Auth,
                format!("Insufficient scope: {scope} is required"),
            ));
        }
        let Some(&per_minute) = self.config.tool_rate_limits.get(&*start.name) else {
            return Ok(None);
        };
        let key = conn.map_or(ClientKey::V4([0; 4]), |conn| conn.client_key);
        if self.store.is_asked() && per_minute > 0 {
            return Ok(Some(Self::take_op(
                format!("rl:t:{}:{key}", start.name),
                per_minute,
            )));
        }
        match self.limit_tool_here(&start.name, key, now) {
            Limit::Decided(decision) if decision.allowed => Ok(None),
            Limit::Decided(_) => Err(RpcError::new(ErrorCode::RateLimit, "Too many requests")),
            Limit::Unavailable => Err(store_unavailable()),
        }
    }

    /// The shared store decided a tool call's limit (`None`: it failed): start the call, or
    /// answer it with the refusal. A call cancelled meanwhile is forgotten.
    pub(super) fn call_admitted(&mut self, call: CallId, run: Call, decision: Option<Decision>, now: Now) {
        let Some(running) = self.calls.get(call) else {
            return;
        };
        let limit = match decision {
            Some(decision) => Limit::Decided(decision),
            None => {
                let name = running.name.clone();
                let key = self
                    .connections
                    .get(&running.request.connection)
                    .map_or(ClientKey::V4([0; 4]), |conn| conn.client_key);
                self.limit_tool_here(&name, key, now)
            }
        };
        match limit {
            Limit::Decided(decision) if decision.allowed => {
                if let Some(running) = self.calls.get_mut(call) {
                    running.handed_out = true;
                }
                self.events.push_back(Event::Call(run));
            }
            Limit::Decided(_) => {
                let error = RpcError::new(ErrorCode::RateLimit, "Too many requests");
                self.refuse_call(call, &error, now);
            }
            Limit::Unavailable => self.refuse_call(call, &store_unavailable(), now),
        }
    }

    /// Decides a client's limit for one tool in this process: with the tool's own limiter
    /// when there is no shared store, and as `RATE_LIMIT_FAILURE` says while the store fails.
    fn limit_tool_here(&mut self, tool: &str, key: ClientKey, now: Now) -> Limit {
        // Every limited tool has a limiter, made with the server from the same settings.
        let check = |server: &mut Self| match server.tool_limiters.get_mut(tool) {
            Some(limiter) => limiter.check(key, now.instant),
            None => Decision {
                allowed: true,
                limit: 0,
                remaining: 0,
                reset: std::time::Duration::ZERO,
                retry_after: None,
            },
        };
        if self.config.store.is_shared() {
            self.limit_locally(check)
        } else {
            Limit::Decided(check(self))
        }
    }

    fn handle_notification(&mut self, key: &SessionKey, notification: &Notification, now: Now) {
        let Some(session) = self.sessions.get_mut(key) else {
            return;
        };
        match notification.method.as_str() {
            "notifications/initialized" => session.mcp.mark_initialized(),
            "notifications/cancelled" => {
                let target = notification
                    .params
                    .as_ref()
                    .and_then(|p| p.get("requestId"))
                    .and_then(id_from_value);
                let Some(id) = target else {
                    return;
                };
                if let Some(call) = session.in_flight.get(&id).copied() {
                    self.cancel(call, now);
                } else {
                    // A 2026-07-28 subscription on a pipe ends the same way.
                    session.listens.retain(|listen| listen.id != id);
                }
            }
            _ => {}
        }
    }

    /// Routes a client's response to the handler that asked, if it came from the session
    /// and principal the request went to.
    fn handle_response(&mut self, connection: ConnectionId, key: &SessionKey, response: Response) -> Answer {
        let principal = self
            .connections
            .get(&connection)
            .and_then(|conn| conn.principal_name())
            .map(str::to_owned);
        self.route_answer(key, principal.as_deref(), response)
    }

    /// Routes a client's answer from `key` and `principal` to the handler that asked; an
    /// answer to another replica's request is handed back to be forwarded.
    pub(super) fn route_answer(
        &mut self,
        key: &SessionKey,
        principal: Option<&str>,
        response: Response,
    ) -> Answer {
        let Some(id) = response.id.clone() else {
            // An error about a message the client could not read: nothing waits for it.
            return Answer::Nothing;
        };
        let pending = match self.outgoing.answer(&id, key, principal) {
            Ok(pending) => pending,
            Err(Refused::Unknown) if self.is_foreign_request(&id) => return Answer::Forward(response),
            Err(Refused::Unknown | Refused::Foreign) => return Answer::Unrouted,
        };
        if let Some(wire) = id.as_u64() {
            self.timers.disarm(pending.deadline, Timer::ClientRequest(wire));
        }
        let answer = response.outcome.map_err(|error| ClientError::Rejected {
            code: error.get("code").and_then(Value::as_i64).unwrap_or(0),
            message: error
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        });
        pending.reply.send(answer);
        Answer::Nothing
    }
}

/// Reads a request id given as a JSON value (as in `notifications/cancelled`).
fn id_from_value(value: &Value) -> Option<Id> {
    let raw = serde_json::value::RawValue::from_string(serde_json::to_string(value).ok()?).ok()?;
    Id::from_raw(&raw)
}
