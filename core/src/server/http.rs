//! HTTP/1.1 connections serving MCP's Streamable HTTP transport: routing, the Host/Origin
//! and CORS checks, sessions, JSON or SSE responses, probes, and per-connection deadlines.
//!
//! One request is handled at a time per connection, so pipelined requests are answered
//! strictly in order; bytes of later requests wait in the decoder's bounded buffer.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use serde_json::json;

use crate::auth::{self, AuthError};
use crate::config::Config;
use crate::error::{ErrorCode, RpcError};
use crate::framing::http1::{BodyFraming, Decoded, Decoder, Head, Limits, Phase};
use crate::http::{media, response};
use crate::jsonrpc::{self, Message};
use crate::mcp::{ProtocolVersion, Session};
use crate::rate_limit::{ClientKey, Decision, client_ip};
use crate::time::Now;
use crate::tools::CallId;

use super::{Answer, ConnectionId, Finished, Kind, Server, SessionKey, SessionState, Timer};

/// Headers a browser may send on CORS requests to the MCP endpoint.
const ALLOW_HEADERS: &str =
    "Content-Type, Accept, Authorization, Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID, X-Request-Id";
/// Headers a browser script may read from responses.
const EXPOSE_HEADERS: &str = "Mcp-Session-Id, MCP-Protocol-Version, X-Request-Id";
/// Where RFC 9728 metadata lives when the resource has no path.
const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";
/// Methods the MCP endpoint answers.
const ALLOW_METHODS: &str = "GET, POST, DELETE, OPTIONS";

/// The HTTP side of one connection.
pub(super) struct HttpConn {
    decoder: Decoder,
    exchange: Exchange,
    served: u32,
    /// When the current wait began: accept or the previous response (idle), the first byte
    /// of a head, or the last byte of a body.
    since: Instant,
    phase: Phase,
    /// Skipping the body of a request already answered: a refusal inside it closes quietly.
    skipping: bool,
    /// Routing accepted a `POST` whose body comes next.
    await_body: bool,
    /// The deadline registered in the timer table, if any.
    pub(super) deadline: Option<Instant>,
}

/// Where the connection is in its current request.
enum Exchange {
    /// Reading the next request.
    Idle,
    /// A `POST` to the MCP endpoint passed its checks; its body is on the way.
    Body(Box<Ctx>),
    /// A tool call answers this request; `streaming` once the SSE head has been sent.
    Call {
        ctx: Box<Ctx>,
        call: CallId,
        streaming: bool,
    },
    /// The session's own SSE stream (`GET`), open until the session or connection ends;
    /// chunked for HTTP/1.1, close-delimited for HTTP/1.0.
    Stream { chunked: bool },
}

/// What the server knows about the request being answered.
#[derive(Clone)]
struct Ctx {
    request_id: String,
    minor: u8,
    keep_alive: bool,
    /// The `Access-Control-Allow-Origin` value, when the request had an allowed `Origin`.
    cors: Option<String>,
    /// `METHOD path`, for logs.
    line: String,
    started: Instant,
    session: Option<String>,
    /// A session made by this `initialize`, announced in `Mcp-Session-Id`.
    new_session: Option<String>,
    version: ProtocolVersion,
    /// The rate-limit decision, reported in `RateLimit` headers.
    rate: Option<Decision>,
    /// Who the request authenticated as, for logs.
    principal: Option<String>,
}

impl HttpConn {
    pub(super) fn new(config: &Config, now: Instant) -> Self {
        Self {
            decoder: Decoder::new(Limits {
                max_head_bytes: config.max_head_bytes,
                max_headers: config.max_headers,
                max_target_bytes: config.max_target_bytes,
                max_body_bytes: config.max_body_bytes,
            }),
            exchange: Exchange::Idle,
            served: 0,
            since: now,
            phase: Phase::Idle,
            skipping: false,
            await_body: false,
            deadline: None,
        }
    }

    pub(super) fn wants_input(&self, config: &Config) -> bool {
        // Reading goes on during a stream, only to notice the client leaving: what arrives
        // then is dropped (`http_input`), and requests buffered behind the stream's own are
        // never decoded, so a full buffer must not stop it.
        self.phase != Phase::Done
            && (self.is_stream() || self.decoder.buffered() <= config.max_head_bytes + config.max_body_bytes)
    }

    pub(super) fn is_stream(&self) -> bool {
        matches!(self.exchange, Exchange::Stream { .. })
    }

    pub(super) fn is_idle(&self) -> bool {
        matches!(self.exchange, Exchange::Idle) && self.decoder.phase() == Phase::Idle
    }

    /// Returns the deadline of the current wait, if the connection is waiting on the client.
    fn next_deadline(&self, config: &Config) -> Option<Instant> {
        match self.exchange {
            Exchange::Idle | Exchange::Body(_) => {}
            Exchange::Call { .. } | Exchange::Stream { .. } => return None,
        }
        match self.phase {
            Phase::Idle => Some(self.since + config.keep_alive_timeout),
            Phase::Head => Some(self.since + config.header_timeout),
            Phase::Body => Some(self.since + config.body_idle_timeout),
            Phase::Done => None,
        }
    }
}

/// A response about to be written.
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Option<(&'static str, Vec<u8>)>,
    close: bool,
}

impl Server {
    pub(super) fn http_input(&mut self, connection: ConnectionId, data: &[u8], now: Now) {
        if let Some(http) = self.http_mut(connection) {
            if http.is_stream() {
                // A stream's response says `Connection: close`: nothing sent after its
                // request is answered, so it is dropped unread rather than buffered until
                // reading stops (with no deadline to end the wait).
                return;
            }
            http.decoder.push(data);
            let phase = http.decoder.phase();
            // A new head starts its clock at its first byte; a body at every byte.
            if (http.phase == Phase::Idle && phase != Phase::Idle) || phase == Phase::Body {
                http.since = now.instant;
            }
            http.phase = phase;
        }
        self.http_drive(connection, now);
    }

    /// Decodes and answers requests until one has to wait (for a body, a call, or input).
    pub(super) fn http_drive(&mut self, connection: ConnectionId, now: Now) {
        loop {
            let eof = self.connections.get(&connection).is_some_and(|conn| conn.eof);
            let Some(http) = self.http_mut(connection) else {
                return;
            };
            if matches!(http.exchange, Exchange::Stream { .. }) && eof {
                // The client left its stream.
                self.close(connection, now);
                return;
            }
            if !matches!(http.exchange, Exchange::Idle | Exchange::Body(_)) {
                break;
            }
            let Some(item) = http.decoder.next() else {
                http.phase = http.decoder.phase();
                if eof && matches!(http.exchange, Exchange::Idle | Exchange::Body(_)) {
                    // The client is done sending and nothing complete is pending.
                    self.close(connection, now);
                    return;
                }
                break;
            };
            http.phase = http.decoder.phase();
            match item {
                Decoded::Head(head) => {
                    http.skipping = false;
                    self.http_head(connection, head, now);
                }
                Decoded::Body(range) => {
                    // Parsed in place: the body is never copied.
                    let parsed = jsonrpc::parse_message(http.decoder.body(range));
                    let Exchange::Body(ctx) = std::mem::replace(&mut http.exchange, Exchange::Idle) else {
                        continue;
                    };
                    self.http_body(connection, ctx, parsed, now);
                }
                Decoded::Refused(_) if http.skipping => {
                    // The request was answered already; its body turned out malformed.
                    self.close(connection, now);
                    return;
                }
                Decoded::Refused(refusal) => {
                    let ctx = self.bare_ctx(None, 1, now);
                    let error = RpcError::new(
                        ErrorCode::InvalidRequest,
                        format!("Bad Request: {}", refusal.reason),
                    );
                    let reply = error_reply(refusal.status, &error, true);
                    self.send_reply(connection, &ctx, reply, Some(error), now);
                    return;
                }
            }
        }
        self.http_reschedule(connection);
    }

    fn http_head(&mut self, connection: ConnectionId, head: Head, now: Now) {
        let mut ctx = self.bare_ctx(head.header("x-request-id"), head.minor_version, now);
        ctx.keep_alive = head.keep_alive && !self.draining;
        let method = head.method();
        let path = request_path(head.target());
        ctx.line = [method, " ", path].concat();
        let has_body = head.body != BodyFraming::None;
        ctx.session = head
            .header("mcp-session-id")
            .map(|id| String::from_utf8_lossy(id).into_owned());
        let version = head
            .header("mcp-protocol-version")
            .map(|v| std::str::from_utf8(v).ok().and_then(ProtocolVersion::parse));
        if let Some(Some(version)) = version {
            ctx.version = version;
        }
        let limited = self.rate_limit(connection, &head, path, &mut ctx, now);
        let reply = match limited.map_or_else(|| self.check_peer(&head, &mut ctx), Err) {
            Err(reply) => Some(reply),
            Ok(())
                if path == self.config.mcp_path
                    && method != "OPTIONS"
                    && ctx.session.is_some()
                    && version == Some(None) =>
            {
                let supported: Vec<&str> = ProtocolVersion::ALL.iter().map(|v| v.as_str()).collect();
                let message = format!(
                    "Bad Request: Unsupported protocol version (supported versions: {})",
                    supported.join(", ")
                );
                Some(simple_error(400, &message))
            }
            Ok(()) if method == "OPTIONS" => Some(self.preflight(&ctx)),
            Ok(()) if self.is_metadata_path(path) => Some(self.metadata_reply(&head)),
            Ok(()) if path == self.config.mcp_path && self.config.auth.is_some() => {
                match self.authenticate(connection, &head, &mut ctx, now) {
                    Some(reply) => Some(reply),
                    None => self.route_mcp(connection, &head, &ctx, has_body, now),
                }
            }
            Ok(()) if path == "/health" && method == "GET" => Some(self.health(now)),
            Ok(()) if path == "/ready" && method == "GET" => Some(self.ready_reply(now)),
            Ok(()) if path == "/health" || path == "/ready" => Some(not_allowed("GET, OPTIONS")),
            Ok(()) if path == self.config.mcp_path => self.route_mcp(connection, &head, &ctx, has_body, now),
            Ok(()) => Some(simple_error(404, "Not Found")),
        };
        let Some(mut reply) = reply else {
            if let Some(http) = self.http_mut(connection)
                && std::mem::take(&mut http.await_body)
            {
                http.exchange = Exchange::Body(Box::new(ctx));
            }
            return;
        };
        // An answer given before the body: skip the body, or close when it cannot be skipped
        // or may never come (a client waiting for 100-continue sends none).
        if has_body && !reply.close {
            reply.close = head.expect_continue;
            if let Some(http) = self.http_mut(connection)
                && !reply.close
            {
                http.skipping = http.decoder.skip_body();
                reply.close = !http.skipping;
            }
        }
        let error = reply_error(&reply);
        self.send_reply(connection, &ctx, reply, error, now);
    }

    /// Routes a request to the MCP endpoint by method.
    fn route_mcp(
        &mut self,
        connection: ConnectionId,
        head: &Head,
        ctx: &Ctx,
        has_body: bool,
        now: Now,
    ) -> Option<Reply> {
        match head.method() {
            "POST" => self.post_head(connection, head, has_body),
            "GET" => self.open_stream(connection, head, ctx, now),
            "DELETE" => Some(self.delete_session(head, ctx, now)),
            _ => Some(not_allowed(ALLOW_METHODS)),
        }
    }

    /// Checks the request's bearer token; returns the 401 to send when it has no valid one.
    /// A session is never a credential: every request must carry a token.
    fn authenticate(
        &mut self,
        connection: ConnectionId,
        head: &Head,
        ctx: &mut Ctx,
        now: Now,
    ) -> Option<Reply> {
        let auth = self.config.auth.as_ref()?;
        let now_unix = now
            .wall
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let verdict = auth::bearer_token(head.header("authorization")).and_then(|token| {
            let mut refusal = AuthError::Invalid;
            for verifier in &auth.verifiers {
                match verifier.verify(token, now_unix) {
                    Ok(principal) => return Ok(principal),
                    // The most specific reason wins over a plain "no such token".
                    Err(AuthError::Invalid) => {}
                    Err(error) => refusal = error,
                }
            }
            Err(refusal)
        });
        match verdict {
            Ok(principal) => {
                ctx.principal = Some(principal.name.clone());
                if let Some(conn) = self.connections.get_mut(&connection) {
                    conn.principal = Some(principal);
                }
                None
            }
            Err(error) => {
                let metadata_url = auth.metadata.as_ref().and_then(|m| m.metadata_url().ok());
                let challenge = auth::www_authenticate(&error, metadata_url.as_deref());
                let mut reply = error_reply(401, &error.rpc_error(), false);
                reply.headers.push(("WWW-Authenticate", challenge));
                Some(reply)
            }
        }
    }

    /// Returns whether `path` is where the protected resource metadata is served.
    fn is_metadata_path(&self, path: &str) -> bool {
        let Some(metadata) = self.config.auth.as_ref().and_then(|auth| auth.metadata.as_ref()) else {
            return false;
        };
        path == WELL_KNOWN || metadata.well_known_path().is_ok_and(|known| known == path)
    }

    /// Serves the protected resource metadata document (RFC 9728).
    fn metadata_reply(&self, head: &Head) -> Reply {
        if head.method() != "GET" {
            return not_allowed("GET, OPTIONS");
        }
        let document = self
            .config
            .auth
            .as_ref()
            .and_then(|auth| auth.metadata.as_ref())
            .map(|metadata| metadata.to_json().to_string())
            .unwrap_or_default();
        json_reply(200, document.into_bytes())
    }

    /// Counts the request against its client's bucket, before anything else is read; returns
    /// the 429 to send when the bucket is empty.
    fn rate_limit(
        &mut self,
        connection: ConnectionId,
        head: &Head,
        path: &str,
        ctx: &mut Ctx,
        now: Now,
    ) -> Option<Reply> {
        if self.config.rate_limit == 0 || self.config.rate_limit_exempt.iter().any(|exempt| exempt == path) {
            return None;
        }
        let conn = self.connections.get_mut(&connection)?;
        let peer = conn.peer.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let values = |name: &'static str| -> Vec<&[u8]> { head.values(name).collect() };
        let ip = client_ip(
            peer,
            &values("x-forwarded-for"),
            &values("forwarded"),
            &self.config.trusted_proxies,
        );
        conn.client_key = ClientKey::from_ip(ip);
        let decision = self.limiter.check(conn.client_key, now.instant);
        ctx.rate = Some(decision);
        if decision.allowed {
            return None;
        }
        let error = RpcError::new(ErrorCode::RateLimit, "Too many requests");
        let mut reply = error_reply(429, &error, false);
        let retry_after = decision.retry_after_secs().unwrap_or(1);
        reply.headers.push(("Retry-After", retry_after.to_string()));
        Some(reply)
    }

    /// Checks `Host` (DNS rebinding) and `Origin`; fills in the CORS origin to echo.
    fn check_peer(&self, head: &Head, ctx: &mut Ctx) -> Result<(), Reply> {
        let host = head.header("host").and_then(|h| std::str::from_utf8(h).ok());
        let host_ok = match host {
            Some(host) => self.config.allowed_hosts.allows(host),
            None => self.config.allowed_hosts == crate::config::Hosts::Any,
        };
        if let Some(origin) = head.header("origin") {
            let origin = String::from_utf8_lossy(origin).into_owned();
            if !self.config.allowed_origins.allows(&origin) {
                return Err(simple_error(403, "Forbidden: Origin not allowed"));
            }
            ctx.cors = Some(match self.config.allowed_origins {
                crate::config::Origins::Any => "*".into(),
                crate::config::Origins::List(_) => origin,
            });
        }
        if !host_ok {
            return Err(simple_error(403, "Forbidden: Host not allowed"));
        }
        Ok(())
    }

    fn preflight(&self, ctx: &Ctx) -> Reply {
        let mut headers = vec![
            ("Access-Control-Allow-Methods", ALLOW_METHODS.to_owned()),
            ("Access-Control-Allow-Headers", ALLOW_HEADERS.to_owned()),
            ("Access-Control-Max-Age", "86400".to_owned()),
        ];
        if ctx.cors.is_none() {
            headers.clear();
        }
        Reply {
            status: 204,
            headers,
            body: None,
            close: false,
        }
    }

    fn health(&self, now: Now) -> Reply {
        let uptime = now.instant.saturating_duration_since(self.started).as_secs();
        let body = json!({"status": "alive", "uptime_seconds": uptime, "timestamp": now.rfc3339()});
        json_reply(200, body.to_string().into_bytes())
    }

    fn ready_reply(&self, now: Now) -> Reply {
        let mut checks = serde_json::Map::new();
        checks.insert("tools".into(), json!("ok"));
        for (name, check) in &self.checks {
            checks.insert(
                name.clone(),
                json!(if check.is_healthy() { "ok" } else { "failing" }),
            );
        }
        let ready = self.is_ready();
        let status = if self.draining {
            "draining"
        } else if ready {
            "ok"
        } else {
            "unavailable"
        };
        let body = json!({"status": status, "checks": checks, "timestamp": now.rfc3339()});
        json_reply(if ready { 200 } else { 503 }, body.to_string().into_bytes())
    }

    /// Checks a `POST /mcp` head; on success the connection waits for the body.
    fn post_head(&mut self, connection: ConnectionId, head: &Head, has_body: bool) -> Option<Reply> {
        let refusal = if !head.header("content-type").is_some_and(media::is_json) {
            Some((
                415,
                "Unsupported Media Type: Content-Type must be application/json",
            ))
        } else if !media::accepts_all(head.header("accept"), ["application/json", "text/event-stream"]) {
            Some((
                406,
                "Not Acceptable: Accept must allow application/json and text/event-stream",
            ))
        } else if !has_body {
            None
        } else {
            if head.expect_continue {
                self.transmit(connection, b"HTTP/1.1 100 Continue\r\n\r\n".to_vec());
            }
            if let Some(http) = self.http_mut(connection) {
                // `http_head` moves the request's context in once routing is done.
                http.await_body = true;
            }
            return None;
        };
        match refusal {
            Some((status, message)) => Some(simple_error(status, message)),
            // No body at all: not a JSON-RPC message.
            None => {
                let error = RpcError::new(ErrorCode::ParseError, "Parse error: empty body");
                Some(error_reply(400, &error, false))
            }
        }
    }

    /// Answers the JSON-RPC message in a `POST /mcp` body.
    fn http_body(
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
                let reply = json_reply(400, bytes);
                self.send_reply(connection, &ctx, reply, Some(failure.error), now);
                return;
            }
        };
        let key = match self.http_session(connection, &mut ctx, &message, now) {
            Ok(key) => key,
            Err((status, error)) => {
                let id = match &message {
                    Message::Request(request) => Some(&request.id),
                    _ => None,
                };
                let bytes = jsonrpc::write_error(id, &error, self.config.debug);
                let reply = json_reply(status, bytes);
                self.send_reply(connection, &ctx, reply, Some(error), now);
                return;
            }
        };
        let (answer, finished, error) =
            self.dispatch_message(connection, &key, message, &ctx.request_id, now);
        let method = finished.method;
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
                        .and_then(|tool| self.tools.get(tool))
                        .and_then(|e| e.tool.scope());
                    let metadata_url = self
                        .config
                        .auth
                        .as_ref()
                        .and_then(|auth| auth.metadata.as_ref())
                        .and_then(|m| m.metadata_url().ok());
                    let challenge =
                        auth::insufficient_scope(scope.unwrap_or_default(), metadata_url.as_deref());
                    reply.headers.push(("WWW-Authenticate", challenge));
                }
                self.send_reply_as(connection, &ctx, reply, error, method, now);
            }
            Answer::Nothing => {
                let reply = Reply {
                    status: 202,
                    headers: Vec::new(),
                    body: None,
                    close: false,
                };
                self.send_reply_as(connection, &ctx, reply, None, method, now);
            }
            Answer::Started(call) => {
                if let Some(http) = self.http_mut(connection) {
                    http.exchange = Exchange::Call {
                        ctx,
                        call,
                        streaming: false,
                    };
                }
            }
        }
        if self.config.stateless {
            self.release_stateless(connection);
        }
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
            let key = SessionKey::Conn(connection);
            if !self.sessions.contains_key(&key) {
                let session = if initialize {
                    Session::new()
                } else {
                    Session::assumed(ctx.version)
                };
                self.sessions
                    .insert(key.clone(), SessionState::new(session, now.instant));
            }
            return Ok(key);
        }
        if initialize {
            if self.http_sessions >= self.config.max_sessions {
                return Err((
                    503,
                    RpcError::new(ErrorCode::InternalError, "Service Unavailable: too many sessions"),
                ));
            }
            let id = self.new_session_id();
            let key = SessionKey::Http(id.clone());
            let mut session = SessionState::new(Session::new(), now.instant);
            session.owner = ctx.principal.clone();
            // One expiry timer per session; when it fires it re-arms from the last use.
            let expiry = now.instant + self.config.session_idle_timeout;
            session.expiry = Some(expiry);
            self.sessions.insert(key.clone(), session);
            self.http_sessions += 1;
            self.timers.insert((expiry, Timer::Session(id.clone())));
            ctx.new_session = Some(id.clone());
            ctx.session = Some(id);
            return Ok(key);
        }
        let Some(id) = ctx.session.clone() else {
            if let Message::Request(request) = message
                && !crate::mcp::is_known(&request.method)
            {
                // A probe such as `server/discover` learns the method is not served.
                return Err((200, crate::mcp::method_not_found(&request.method)));
            }
            return Err(bad(400, "Bad Request: Mcp-Session-Id header is required"));
        };
        let key = SessionKey::Http(id.clone());
        // A session belongs to whoever opened it: another principal cannot find it.
        if self
            .sessions
            .get(&key)
            .is_none_or(|session| session.owner != ctx.principal)
        {
            return Err(bad(404, "Session not found"));
        }
        self.touch_session(&id, now.instant);
        Ok(key)
    }

    /// Opens the session's own SSE stream for `GET /mcp`.
    fn open_stream(&mut self, connection: ConnectionId, head: &Head, ctx: &Ctx, now: Now) -> Option<Reply> {
        if !self.config.enable_get_stream || self.config.stateless {
            let allow = if self.config.stateless {
                "POST, OPTIONS"
            } else {
                "POST, DELETE, OPTIONS"
            };
            return Some(not_allowed(allow));
        }
        if !media::accepts(head.header("accept"), "text/event-stream") {
            return Some(simple_error(
                406,
                "Not Acceptable: Accept must allow text/event-stream",
            ));
        }
        let Some(id) = ctx.session.clone() else {
            return Some(simple_error(
                400,
                "Bad Request: Mcp-Session-Id header is required",
            ));
        };
        let session = self.sessions.get_mut(&SessionKey::Http(id.clone()));
        let Some(session) = session.filter(|session| session.owner == ctx.principal) else {
            return Some(simple_error(404, "Session not found"));
        };
        if session.stream.is_some() {
            return Some(simple_error(409, "Conflict: the session already has a stream"));
        }
        session.stream = Some(connection);
        let chunked = ctx.minor >= 1;
        let mut head = response::Head::new(200);
        // The stream ends only with its connection, so say so: clients must not reuse it.
        self.common_headers(&mut head, ctx, true);
        let bytes = head.streaming("text/event-stream", chunked);
        self.transmit(connection, bytes);
        if let Some(http) = self.http_mut(connection) {
            http.exchange = Exchange::Stream { chunked };
        }
        let mut finished = Finished::new(connection, ctx.request_id.clone(), ctx.started);
        finished.http_status = Some(200);
        finished.http = Some(ctx.line.clone());
        finished.session = Some(id);
        finished.method = Some("stream".into());
        self.log_finished(now, finished);
        None
    }

    fn delete_session(&mut self, _head: &Head, ctx: &Ctx, now: Now) -> Reply {
        if self.config.stateless {
            return not_allowed("POST, OPTIONS");
        }
        let Some(id) = ctx.session.clone() else {
            return simple_error(400, "Bad Request: Mcp-Session-Id header is required");
        };
        let key = SessionKey::Http(id);
        if self
            .sessions
            .get(&key)
            .is_none_or(|session| session.owner != ctx.principal)
        {
            return simple_error(404, "Session not found");
        }
        self.end_session(&key, now);
        Reply {
            status: 204,
            headers: Vec::new(),
            body: None,
            close: false,
        }
    }

    /// Ends a session: its calls are cancelled and its stream closed.
    fn end_session(&mut self, key: &SessionKey, now: Now) {
        let calls: Vec<CallId> = self
            .sessions
            .get(key)
            .map(|session| session.in_flight.values().copied().collect())
            .unwrap_or_default();
        for call in calls {
            self.cancel(call, now);
        }
        let stream = self.sessions.get(key).and_then(|session| session.stream);
        self.drop_session(key);
        if let Some(connection) = stream {
            self.end_stream(connection, now);
        }
    }

    /// Ends a `GET` stream cleanly and closes its connection.
    pub(super) fn end_stream(&mut self, connection: ConnectionId, now: Now) {
        let Some(http) = self.http_mut(connection) else {
            return;
        };
        if let Exchange::Stream { chunked: true } = std::mem::replace(&mut http.exchange, Exchange::Idle) {
            self.transmit(connection, response::LAST_CHUNK.to_vec());
        }
        self.close(connection, now);
    }

    fn drop_session(&mut self, key: &SessionKey) {
        let Some(session) = self.sessions.remove(key) else {
            return;
        };
        if let SessionKey::Http(id) = key {
            self.http_sessions -= 1;
            if let Some(at) = session.expiry {
                self.timers.remove(&(at, Timer::Session(id.clone())));
            }
        }
    }

    fn release_stateless(&mut self, connection: ConnectionId) {
        let key = SessionKey::Conn(connection);
        let idle = self
            .sessions
            .get(&key)
            .is_some_and(|session| session.in_flight.is_empty());
        if idle {
            self.sessions.remove(&key);
        }
    }

    /// Sends a message a running call emits, switching its response to SSE first.
    pub(super) fn http_stream_message(
        &mut self,
        connection: ConnectionId,
        call: CallId,
        message: Vec<u8>,
        _now: Now,
    ) {
        let Some(http) = self.http_mut(connection) else {
            return;
        };
        let Exchange::Call {
            ctx,
            call: current,
            streaming,
        } = &mut http.exchange
        else {
            return;
        };
        if *current != call {
            return;
        }
        let chunked = ctx.minor >= 1;
        let start = (!*streaming).then(|| (**ctx).clone());
        *streaming = true;
        let mut out = Vec::new();
        if let Some(ctx) = start {
            let mut head = response::Head::new(200);
            self.common_headers(&mut head, &ctx, !chunked || !ctx.keep_alive);
            out = head.streaming("text/event-stream", chunked);
        }
        out.extend_from_slice(&response::chunk(&response::sse_event(&message), chunked));
        self.transmit(connection, out);
    }

    /// Sends the response of the call a connection was waiting on.
    pub(super) fn http_call_finished(
        &mut self,
        connection: ConnectionId,
        bytes: Vec<u8>,
        mut finished: Finished,
        now: Now,
    ) {
        let Some(http) = self.http_mut(connection) else {
            return self.log_finished(now, finished);
        };
        let Exchange::Call { ctx, streaming, .. } = std::mem::replace(&mut http.exchange, Exchange::Idle)
        else {
            return self.log_finished(now, finished);
        };
        let close = if streaming {
            let chunked = ctx.minor >= 1;
            let mut out = response::chunk(&response::sse_event(&bytes), chunked);
            if chunked {
                out.extend_from_slice(response::LAST_CHUNK);
            }
            self.transmit(connection, out);
            !chunked || !ctx.keep_alive
        } else {
            // Timed from the request head, as every other reply is.
            finished.started = Some(ctx.started);
            self.write_reply(connection, &ctx, &json_reply(200, bytes))
        };
        let Ctx {
            line,
            session,
            principal,
            ..
        } = *ctx;
        finished.http_status = Some(200);
        finished.http = Some(line);
        finished.session = session;
        finished.principal = principal;
        self.log_finished(now, finished);
        self.end_exchange(connection, close, now);
        if self.config.stateless {
            self.release_stateless(connection);
        }
        self.http_drive(connection, now);
    }

    /// Ends the request of a call the client cancelled: 202 with no result, or the end of its stream.
    pub(super) fn http_call_cancelled(&mut self, connection: ConnectionId, now: Now) {
        let Some(http) = self.http_mut(connection) else {
            return;
        };
        let Exchange::Call { ctx, streaming, .. } = std::mem::replace(&mut http.exchange, Exchange::Idle)
        else {
            return;
        };
        if streaming {
            let chunked = ctx.minor >= 1;
            if chunked {
                self.transmit(connection, response::LAST_CHUNK.to_vec());
            }
            self.end_exchange(connection, !chunked || !ctx.keep_alive, now);
        } else {
            let mut head = response::Head::new(202);
            self.common_headers(&mut head, &ctx, !ctx.keep_alive);
            self.transmit(connection, head.body(None, b""));
            self.end_exchange(connection, !ctx.keep_alive, now);
        }
        self.http_drive(connection, now);
    }

    /// A connection deadline fired: 408 for a request stuck mid-way, a quiet close when idle.
    pub(super) fn http_timer(&mut self, connection: ConnectionId, now: Now) {
        let config = &self.config;
        let Some(super::Connection {
            kind: Kind::Http(http),
            ..
        }) = self.connections.get_mut(&connection)
        else {
            return;
        };
        http.deadline = None;
        let deadline = http.next_deadline(config);
        let idle = http.phase == Phase::Idle;
        match deadline {
            Some(at) if at <= now.instant => {
                if idle {
                    self.close(connection, now);
                } else {
                    let ctx = self.bare_ctx(None, 1, now);
                    let error = RpcError::new(ErrorCode::InvalidRequest, "Request Timeout");
                    let reply = error_reply(408, &error, true);
                    self.send_reply(connection, &ctx, reply, Some(error), now);
                }
            }
            _ => self.http_reschedule(connection),
        }
    }

    /// Expires a session that has been idle past its timeout.
    pub(super) fn session_timer(&mut self, id: String, now: Now) {
        let key = SessionKey::Http(id.clone());
        let timeout = self.config.session_idle_timeout;
        let Some(session) = self.sessions.get_mut(&key) else {
            return;
        };
        let busy = !session.in_flight.is_empty() || session.stream.is_some();
        let expires = session.last_active + timeout;
        if !busy && expires <= now.instant {
            session.expiry = None;
            self.end_session(&key, now);
            return;
        }
        let at = if busy { now.instant + timeout } else { expires };
        session.expiry = Some(at);
        self.timers.insert((at, Timer::Session(id)));
    }

    /// Registers the connection's current deadline in the timer table.
    pub(super) fn http_reschedule(&mut self, connection: ConnectionId) {
        let config = &self.config;
        let Some(super::Connection {
            kind: Kind::Http(http),
            ..
        }) = self.connections.get_mut(&connection)
        else {
            return;
        };
        let next = http.next_deadline(config);
        if next == http.deadline {
            return;
        }
        if let Some(old) = http.deadline.take() {
            self.timers.remove(&(old, Timer::Connection(connection)));
        }
        if let Some(at) = next {
            http.deadline = Some(at);
            self.timers.insert((at, Timer::Connection(connection)));
        }
    }

    fn touch_session(&mut self, id: &str, now: Instant) {
        if let Some(session) = self.sessions.get_mut(&SessionKey::Http(id.to_owned())) {
            session.last_active = now;
        }
    }

    /// Writes a reply, logs it, and ends the exchange.
    fn send_reply(
        &mut self,
        connection: ConnectionId,
        ctx: &Ctx,
        reply: Reply,
        error: Option<RpcError>,
        now: Now,
    ) {
        self.send_reply_as(connection, ctx, reply, error, None, now);
    }

    fn send_reply_as(
        &mut self,
        connection: ConnectionId,
        ctx: &Ctx,
        reply: Reply,
        error: Option<RpcError>,
        method: Option<String>,
        now: Now,
    ) {
        let close = self.write_reply(connection, ctx, &reply);
        let mut finished = Finished::new(connection, ctx.request_id.clone(), ctx.started);
        finished.method = method;
        finished.http_status = Some(reply.status);
        finished.http = Some(ctx.line.clone());
        finished.session = ctx.session.clone();
        finished.principal = ctx.principal.clone();
        finished.outcome = match error {
            Some(error) => Err(error),
            None if reply.status >= 400 => Err(RpcError::new(
                ErrorCode::InvalidRequest,
                response::reason(reply.status),
            )),
            None => Ok(crate::log::Status::Ok),
        };
        self.log_finished(now, finished);
        self.end_exchange(connection, close, now);
    }

    /// Writes a reply; returns whether the connection closes after it.
    fn write_reply(&mut self, connection: ConnectionId, ctx: &Ctx, reply: &Reply) -> bool {
        let close = reply.close || !ctx.keep_alive || self.draining;
        let mut head = response::Head::new(reply.status);
        self.common_headers(&mut head, ctx, close);
        for (name, value) in &reply.headers {
            head.header(name, value);
        }
        let bytes = match &reply.body {
            Some((content_type, body)) => head.body(Some(content_type), body),
            None if reply.status == 204 => {
                let mut bytes = head.body(None, b"");
                // 204 carries no Content-Length.
                strip_content_length(&mut bytes);
                bytes
            }
            None => head.body(None, b""),
        };
        self.transmit(connection, bytes);
        close
    }

    /// After a response: close, or get ready for the next request. Callers outside
    /// `http_drive` drive the connection afterwards; inside it the loop goes on, so a flood of
    /// pipelined requests never deepens the stack.
    fn end_exchange(&mut self, connection: ConnectionId, close: bool, now: Now) {
        let max = self.config.max_requests_per_connection;
        let Some(http) = self.http_mut(connection) else {
            return;
        };
        http.served = http.served.saturating_add(1);
        if close || http.served >= max {
            self.close(connection, now);
            return;
        }
        http.exchange = Exchange::Idle;
        http.since = now.instant;
    }

    fn common_headers(&self, head: &mut response::Head, ctx: &Ctx, close: bool) {
        for (name, value) in response::SECURITY_HEADERS {
            head.header(name, value);
        }
        head.header("X-Request-Id", &ctx.request_id);
        head.header("Vary", "Origin");
        if let Some(rate) = &ctx.rate {
            for (name, value) in rate.headers(60) {
                head.header(name, &value);
            }
        }
        if let Some(origin) = &ctx.cors {
            head.header("Access-Control-Allow-Origin", origin);
            head.header("Access-Control-Expose-Headers", EXPOSE_HEADERS);
        }
        if close {
            head.header("Connection", "close");
        } else if ctx.minor == 0 {
            head.header("Connection", "keep-alive");
        }
    }

    /// A context for a request whose head may be missing or unusable.
    fn bare_ctx(&mut self, request_id: Option<&[u8]>, minor: u8, now: Now) -> Ctx {
        let request_id = match request_id.and_then(sane_request_id) {
            Some(id) => id,
            None => self.new_request_id(),
        };
        Ctx {
            request_id,
            minor,
            keep_alive: false,
            cors: None,
            line: String::new(),
            started: now.instant,
            session: None,
            new_session: None,
            version: ProtocolVersion::V2025_03_26,
            rate: None,
            principal: None,
        }
    }

    fn new_session_id(&mut self) -> String {
        use rand_core::RngCore;
        format!("{:016x}{:016x}", self.rng.next_u64(), self.rng.next_u64())
    }

    fn http_mut(&mut self, connection: ConnectionId) -> Option<&mut HttpConn> {
        match self.connections.get_mut(&connection).map(|conn| &mut conn.kind) {
            Some(Kind::Http(http)) => Some(http),
            _ => None,
        }
    }
}

/// The path of a request target, without its query (absolute-form targets included).
fn request_path(target: &str) -> &str {
    let target = match target.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |slash| &rest[slash..]),
        None => target,
    };
    target.split(['?', '#']).next().unwrap_or(target)
}

/// Accepts a client's `X-Request-Id` when it is a short token of safe characters.
fn sane_request_id(value: &[u8]) -> Option<String> {
    let sane = (1..=128).contains(&value.len())
        && value
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    sane.then(|| String::from_utf8_lossy(value).into_owned())
}

fn json_reply(status: u16, body: Vec<u8>) -> Reply {
    Reply {
        status,
        headers: Vec::new(),
        body: Some(("application/json", body)),
        close: false,
    }
}

fn error_reply(status: u16, error: &RpcError, close: bool) -> Reply {
    let mut reply = json_reply(status, jsonrpc::write_error(None, error, false));
    reply.close = close;
    reply
}

/// An HTTP error with a JSON-RPC error body: -32600 for client errors, -32603 for 5xx.
fn simple_error(status: u16, message: &str) -> Reply {
    let code = if status >= 500 {
        ErrorCode::InternalError
    } else {
        ErrorCode::InvalidRequest
    };
    error_reply(status, &RpcError::new(code, message), false)
}

fn not_allowed(allow: &str) -> Reply {
    let mut reply = simple_error(405, "Method Not Allowed");
    reply.headers.push(("Allow", allow.to_owned()));
    reply
}

/// The error a reply reports, for its log record.
fn reply_error(reply: &Reply) -> Option<RpcError> {
    let (_, body) = reply.body.as_ref()?;
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let message = value["error"]["message"].as_str()?.to_owned();
    let code = match value["error"]["code"].as_i64()? {
        -32700 => ErrorCode::ParseError,
        -32603 => ErrorCode::InternalError,
        _ => ErrorCode::InvalidRequest,
    };
    Some(RpcError::new(code, message))
}

fn strip_content_length(bytes: &mut Vec<u8>) {
    const HEADER: &[u8] = b"Content-Length: 0\r\n";
    if let Some(at) = bytes.windows(HEADER.len()).position(|w| w == HEADER) {
        bytes.drain(at..at + HEADER.len());
    }
}
