//! `POST` to the MCP endpoint: the checks of its head, the session its message belongs to,
//! and the reply to the message: JSON now, 202 for what needs no answer, or a call whose
//! answer comes later (as JSON, or as SSE once it sends messages first).

use super::reply::{Reply, error_reply, json_reply, simple_error};
use super::shared::Commit;
use super::{Ctx, Exchange, Server};
use crate::error::{ErrorCode, RpcError};
use crate::framing::http1::Head;
use crate::http::media;
use crate::jsonrpc::{self, Message};
use crate::mcp::modern::{self, Era};
use crate::mcp::{self, ProtocolVersion, Session};
use crate::server::ConnectionId;
use crate::server::dispatch::Answer;
use crate::server::sessions::{Full, SessionKey, SessionState};
use crate::server::store::Waiter;
use crate::server::timers::Timer;
use crate::time::Now;

impl Server {
    /// Checks a `POST /mcp` head; on success the connection waits for the body.
    pub(super) fn post_head(
        &mut self,
        connection: ConnectionId,
        head: &Head,
        has_body: bool,
    ) -> Option<Reply> {
        if !head.header("content-type").is_some_and(media::is_json) {
            return Some(simple_error(
                415,
                "Unsupported Media Type: Content-Type must be application/json",
            ));
        }
        if !media::accepts_all(head.header("accept"), ["application/json", "text/event-stream"]) {
            return Some(simple_error(
                406,
                "Not Acceptable: Accept must allow application/json and text/event-stream",
            ));
        }
        if !has_body {
            // No body at all: not a JSON-RPC message.
            let error = RpcError::new(ErrorCode::ParseError, "Parse error: empty body");
            return Some(error_reply(400, &error, false));
        }
        if head.expect_continue {
            self.transmit(connection, b"HTTP/1.1 100 Continue\r\n\r\n".to_vec());
        }
        if let Some(http) = self.http_mut(connection) {
            // `http_head` moves the request's context in once routing is done.
            http.await_body = true;
        }
        None
    }

    /// Answers the JSON-RPC message in a `POST /mcp` body.
    pub(super) fn http_body(
        &mut self,
        connection: ConnectionId,
        mut ctx: Box<Ctx>,
        parsed: Result<Message, jsonrpc::ParseFailure>,
        now: Now,
    ) {
        let message = match parsed {
            Ok(message) => message,
            Err(failure) => {
                let bytes = jsonrpc::write_error(failure.id.as_ref(), &failure.error, self.config.debug);
                self.send_reply(connection, &ctx, json_reply(400, bytes), Some(failure.error), now);
                return;
            }
        };
        let (method, params) = match &message {
            Message::Request(request) => (Some(request.method.as_str()), request.params.as_ref()),
            _ => (None, None),
        };
        if modern::era(ctx.version_header(), method, params) == Era::Modern {
            return self.modern_body(connection, ctx, message, now);
        }
        let key = match self.http_session(connection, &mut ctx, &message, now) {
            Ok(key) => key,
            Err((status, error)) => {
                let id = match &message {
                    Message::Request(request) => Some(&request.id),
                    _ => None,
                };
                let bytes = jsonrpc::write_error(id, &error, self.config.debug);
                self.send_reply(connection, &ctx, json_reply(status, bytes), Some(error), now);
                return;
            }
        };
        let revision = self.sessions.get(&key).map(|state| state.mcp.revision());
        let (answer, finished, error) =
            self.dispatch_message(connection, &key, message, ctx.received(), None, now);
        // The answer to a request that changed the session waits until the other replicas
        // are told, so that what the client does next finds them up to date.
        let changed = ctx.new_session.is_none()
            && self.save_if_changed(&key, revision, Waiter::Changed(connection), now);
        let method = finished.method;
        ctx.facts = finished.facts;
        match answer {
            Answer::Respond(bytes) => {
                let created = ctx.new_session.take();
                if created.is_some() && error.is_some() {
                    // A failed initialize leaves no session behind.
                    self.drop_session(&key);
                } else {
                    ctx.new_session = created;
                }
                let mut reply = json_reply(200, bytes);
                if let Some(session) = &ctx.new_session {
                    reply.headers.push(("Mcp-Session-Id", session.clone()));
                }
                if error.as_ref().is_some_and(|e| e.code == ErrorCode::Auth) {
                    // Authenticated, but without the tool's scope: 403 insufficient_scope.
                    reply.status = 403;
                    let scope = method
                        .as_deref()
                        .and_then(|tool| self.registry.tools.get(tool))
                        .and_then(|e| e.tool.scope())
                        .unwrap_or_default();
                    reply
                        .headers
                        .push(("WWW-Authenticate", self.insufficient_scope(scope)));
                }
                match ctx.new_session.clone() {
                    // Other replicas must find the session before the client learns its id.
                    Some(id) if self.store.is_asked() => {
                        let commit = Commit {
                            ctx: *ctx,
                            reply,
                            error,
                            method,
                        };
                        self.commit_session(connection, &id, commit, now);
                    }
                    _ if changed => {
                        let commit = Commit {
                            ctx: *ctx,
                            reply,
                            error,
                            method,
                        };
                        self.hold(connection, commit);
                    }
                    _ => self.send_reply_as(connection, &ctx, reply, error, method, now),
                }
            }
            Answer::Nothing if changed => {
                let commit = Commit {
                    ctx: *ctx,
                    reply: Reply::empty(202),
                    error: None,
                    method,
                };
                self.hold(connection, commit);
            }
            Answer::Nothing => self.send_reply_as(connection, &ctx, Reply::empty(202), None, method, now),
            Answer::Unrouted => {
                let error = error.unwrap_or_else(|| RpcError::new(ErrorCode::InvalidRequest, "Bad Request"));
                let reply = error_reply(400, &error, false);
                self.send_reply_as(connection, &ctx, reply, Some(error), method, now);
            }
            Answer::Started(call) => {
                if let Some(http) = self.http_mut(connection) {
                    http.exchange = Exchange::Call { ctx, call, sse: None };
                }
            }
            Answer::Forward(response) => {
                let commit = Commit {
                    ctx: *ctx,
                    reply: Reply::empty(202),
                    error: None,
                    method,
                };
                self.forward(connection, &key, &response, commit, now);
            }
            Answer::Listen(..) => {
                // `subscriptions/listen` is a 2026-07-28 method: never routed here.
                let error = mcp::method_not_found("subscriptions/listen");
                let reply = json_reply(200, jsonrpc::write_error(None, &error, self.config.debug));
                self.send_reply_as(connection, &ctx, reply, Some(error), method, now);
            }
        }
        self.release_request_session(connection);
    }

    /// Finds (or, for `initialize`, makes) the session a message belongs to.
    fn http_session(
        &mut self,
        connection: ConnectionId,
        ctx: &mut Ctx,
        message: &Message,
        now: Now,
    ) -> Result<SessionKey, (u16, RpcError)> {
        let bad = |status, message: &str| (status, RpcError::new(ErrorCode::InvalidRequest, message));
        let initialize = matches!(message, Message::Request(request) if request.method == "initialize");
        if self.config.stateless {
            let version = ctx.version;
            self.request_session(
                connection,
                || {
                    if initialize {
                        Session::new()
                    } else {
                        Session::assumed(version)
                    }
                },
                now,
            );
            return Ok(SessionKey::Conn(connection));
        }
        if initialize {
            let id = self.new_session_id();
            let replay = self.new_replay();
            let mut state = SessionState::new(Session::new(), now.instant, Some(Box::new(replay)));
            state.owner = ctx.principal.clone();
            // One expiry timer per session; when it fires it re-arms from the last use.
            let expiry = now.instant + self.config.session_idle_timeout;
            state.expiry = Some(expiry);
            if let Err(Full) = self
                .sessions
                .insert_http(id.clone(), state, self.config.max_sessions)
            {
                let error = RpcError::new(ErrorCode::InternalError, "Service Unavailable: too many sessions");
                return Err((503, error));
            }
            self.timers.arm(expiry, Timer::Session(id.clone()));
            ctx.new_session = Some(id.clone());
            ctx.session = Some(id.clone());
            return Ok(SessionKey::Http(id));
        }
        let Some(id) = ctx.session.clone() else {
            if let Message::Request(request) = message
                && !mcp::is_served(&self.registry, &request.method, ProtocolVersion::LATEST_LEGACY)
            {
                // A probe for a method of no legacy revision learns it is not served.
                return Err((200, mcp::method_not_found(&request.method)));
            }
            if ctx.version_header.is_some() || self.config.require_sessions {
                return Err(bad(400, "Bad Request: Mcp-Session-Id header is required"));
            }
            // Plain JSON-RPC (a script, curl): served on its own, as 2025-03-26 allows.
            self.request_session(connection, || Session::assumed(ProtocolVersion::V2025_03_26), now);
            return Ok(SessionKey::Conn(connection));
        };
        // A session belongs to whoever opened it: another principal cannot find it.
        let Some(state) = self.sessions.owned(&id, ctx.principal.as_deref()) else {
            return Err(bad(404, "Session not found"));
        };
        state.last_active = now.instant;
        self.renew_shared_session(&id, now);
        Ok(SessionKey::Http(id))
    }
}
