//! HTTP/1.1 connections serving MCP's Streamable HTTP transport. This file owns one
//! connection's HTTP state and its drive loop: decoding requests in order, deadlines, the
//! end of each exchange, and shutdown. Each concern of answering a request has its own file:
//! routing (`route`), the Host/Origin/CORS guard and rate limit (`guard`), authentication
//! (`auth`), probes (`probes`), `POST` (`post`), SSE streams (`stream`), sessions
//! (`session`), and writing replies (`reply`).
//!
//! One request is handled at a time per connection, so pipelined requests are answered
//! strictly in order; bytes of later requests wait in the decoder's bounded buffer.

mod auth;
mod guard;
mod metrics;
mod modern;
mod post;
mod probes;
mod reply;
mod route;
mod session;
mod shared;
mod stream;

use std::time::Instant;

use super::connections::Kind;
use super::{ConnectionId, Server};
use crate::config::Config;
use crate::error::{ErrorCode, RpcError};
use crate::framing::http1::{Decoded, Decoder, Head, Limits, Phase};
use crate::handler::CallId;
use crate::jsonrpc::{self, Id};
use crate::mcp::ProtocolVersion;
use crate::mcp::modern::Headers;
use crate::rate_limit::Decision;
use crate::time::Now;

pub(super) use guard::store_unavailable;
use reply::error_reply;

/// The HTTP side of one connection.
pub(crate) struct HttpConn {
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
    /// A request head waits for the shared store: its client's rate limit, or the session
    /// it names.
    Admit(Box<(Head, Ctx)>),
    /// A response waits for the shared store to do what it depends on.
    Commit(Box<shared::Commit>),
    /// A `POST` to the MCP endpoint passed its checks; its body is on the way.
    Body(Box<Ctx>),
    /// A handler answers this request; once it sent a message first, the response is an
    /// SSE stream.
    Call {
        ctx: Box<Ctx>,
        call: CallId,
        sse: Option<Sse>,
    },
    /// A stream that lasts until its connection (or the server) ends.
    Stream { sse: Sse, of: StreamOf },
}

/// What a long-lived stream carries.
enum StreamOf {
    /// A session's own stream, opened by `GET`.
    Session(String),
    /// A 2026-07-28 `subscriptions/listen` stream, by its request id.
    Listen(Id),
}

/// An SSE response under way.
#[derive(Debug, Clone, Copy)]
struct Sse {
    /// Chunked for HTTP/1.1, close-delimited for HTTP/1.0.
    chunked: bool,
    /// The stream's number in its session's replay buffer, when its events carry ids.
    stream: Option<u64>,
}

/// What the server knows about the request being answered.
#[derive(Clone)]
struct Ctx {
    request_id: std::sync::Arc<str>,
    minor: u8,
    keep_alive: bool,
    /// The `Access-Control-Allow-Origin` value, when the request had an allowed `Origin`.
    cors: Option<String>,
    /// `METHOD path`, for logs.
    line: std::sync::Arc<str>,
    started: Instant,
    session: Option<String>,
    /// A session made by this `initialize`, announced in `Mcp-Session-Id`.
    new_session: Option<String>,
    version: ProtocolVersion,
    /// What the `MCP-Protocol-Version` header said, when there was one.
    version_header: Option<VersionHeader>,
    /// The `Mcp-Method`, `Mcp-Name` and `Mcp-Param-*` headers of a `POST`, if any.
    mcp_headers: Option<Box<Headers>>,
    /// The rate-limit decision, reported in `RateLimit` headers.
    rate: Option<Decision>,
    /// Who the request authenticated as, for logs.
    principal: Option<String>,
    /// The session it names was looked for in the shared store already.
    session_loaded: bool,
    /// A `GET` resuming after a `Last-Event-ID`: the session's events the shared store kept,
    /// once read.
    replayed: Option<Vec<(crate::server::replay::EventId, Vec<u8>)>>,
    /// The W3C trace context of the `traceparent` header, read only while tracing.
    trace: Option<crate::mcp::modern::Trace>,
    /// What the JSON-RPC message added to the request's record (metrics, span).
    facts: crate::server::record::Facts,
}

/// An `MCP-Protocol-Version` header.
#[derive(Clone)]
enum VersionHeader {
    /// A revision with sessions (kept in `Ctx::version`).
    Legacy,
    /// 2026-07-28, or a value the server does not know, as sent.
    Other(Box<[u8]>),
}

impl Ctx {
    /// What dispatch needs of the request's transport: its id and header trace context.
    fn received(&self) -> crate::server::dispatch::Received<'_> {
        crate::server::dispatch::Received {
            request_id: &self.request_id,
            header_trace: self.trace.as_ref(),
        }
    }

    /// The `MCP-Protocol-Version` header as sent, if there was one.
    fn version_header(&self) -> Option<&[u8]> {
        match &self.version_header {
            None => None,
            Some(VersionHeader::Legacy) => Some(self.version.as_str().as_bytes()),
            Some(VersionHeader::Other(raw)) => Some(raw),
        }
    }
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

    fn is_stream(&self) -> bool {
        matches!(self.exchange, Exchange::Stream { .. })
    }

    fn is_idle(&self) -> bool {
        matches!(self.exchange, Exchange::Idle) && self.decoder.phase() == Phase::Idle
    }

    /// Returns the session whose stream this connection carries, if it carries one.
    pub(super) fn stream_session(&self) -> Option<&str> {
        match &self.exchange {
            Exchange::Stream {
                of: StreamOf::Session(session),
                ..
            } => Some(session),
            _ => None,
        }
    }

    /// Returns the deadline of the current wait, if the connection is waiting on the client.
    fn next_deadline(&self, config: &Config) -> Option<Instant> {
        match self.exchange {
            Exchange::Idle | Exchange::Body(_) => {}
            // The store request and the call keep deadlines of their own.
            Exchange::Admit(_) | Exchange::Commit(_) | Exchange::Call { .. } | Exchange::Stream { .. } => {
                return None;
            }
        }
        match self.phase {
            Phase::Idle => Some(self.since + config.keep_alive_timeout),
            Phase::Head => Some(self.since + config.header_timeout),
            Phase::Body => Some(self.since + config.body_idle_timeout),
            Phase::Done => None,
        }
    }
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
            if http.is_stream() && eof {
                // The client left its stream.
                self.close(connection, now);
                return;
            }
            if !matches!(http.exchange, Exchange::Idle | Exchange::Body(_)) {
                break;
            }
            let Some(item) = http.decoder.next() else {
                http.phase = http.decoder.phase();
                if eof {
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
                    // A request that names 2026-07-28 in its header is read whole: its checks
                    // read the params whole.
                    let modern = matches!(&http.exchange,
                        Exchange::Body(ctx) if matches!(ctx.version_header, Some(VersionHeader::Other(_))));
                    let body = http.decoder.body(range);
                    let parsed = if modern {
                        jsonrpc::parse_message(body)
                    } else {
                        jsonrpc::parse_request_message(body)
                    };
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

    /// A connection deadline fired: 408 for a request stuck mid-way, a quiet close when idle.
    pub(super) fn http_timer(&mut self, connection: ConnectionId, now: Now) {
        let config = &self.config;
        let Some(http) = self
            .connections
            .get_mut(&connection)
            .and_then(|conn| match &mut conn.kind {
                Kind::Http(http) => Some(http),
                Kind::Ndjson(_) => None,
            })
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

    /// Registers the connection's current deadline in the timer table.
    pub(super) fn http_reschedule(&mut self, connection: ConnectionId) {
        let config = &self.config;
        let Some(Kind::Http(http)) = self.connections.get_mut(&connection).map(|conn| &mut conn.kind) else {
            return;
        };
        // A deadline armed earlier than the next one stays: when it fires, `http_timer` finds
        // nothing due and arms the next. So the keep-alive deadline, which moves later with
        // every request, costs the timer table nothing per request.
        let Some(at) = http.next_deadline(config) else {
            return;
        };
        if http.deadline.is_some_and(|armed| armed <= at) {
            return;
        }
        if let Some(old) = http.deadline.replace(at) {
            self.timers
                .disarm(old, super::timers::Timer::Connection(connection));
        }
        self.timers.arm(at, super::timers::Timer::Connection(connection));
    }

    /// After a response: close, or get ready for the next request. Callers outside
    /// `http_drive` drive the connection afterwards; inside it the loop goes on, so a flood of
    /// pipelined requests never deepens the stack.
    fn end_exchange(&mut self, connection: ConnectionId, close: bool, now: Now) {
        let max = self.config.max_requests_per_connection;
        // While draining, a connection closes after its answer rather than wait for more.
        let close = close || self.stopping;
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

    /// Closes idle connections and ends streams for a graceful shutdown.
    pub(super) fn http_shutdown(&mut self, now: Now) {
        let mut idle: Vec<(ConnectionId, bool)> = self
            .connections
            .iter()
            .filter_map(|(id, conn)| match &conn.kind {
                Kind::Http(http) if http.is_idle() => Some((*id, false)),
                Kind::Http(http) if http.is_stream() => Some((*id, true)),
                _ => None,
            })
            .collect();
        idle.sort_unstable();
        for (connection, stream) in idle {
            if stream {
                // A stream never finishes by itself: end it cleanly.
                self.end_stream(connection, now);
            } else {
                self.close(connection, now);
            }
        }
    }

    /// Parks a request head in its connection while the shared store answers for it.
    fn park(&mut self, connection: ConnectionId, head: Head, ctx: Ctx) {
        if let Some(http) = self.http_mut(connection) {
            http.exchange = Exchange::Admit(Box::new((head, ctx)));
        }
    }

    /// Takes back the head parked in `connection`, if it is still there.
    fn unpark(&mut self, connection: ConnectionId) -> Option<(Head, Ctx)> {
        let http = self.http_mut(connection)?;
        match std::mem::replace(&mut http.exchange, Exchange::Idle) {
            Exchange::Admit(parked) => Some(*parked),
            other => {
                http.exchange = other;
                None
            }
        }
    }

    /// Answers a head that was parked (`refusal` is its limit's answer, if any), then goes on
    /// with the requests behind it.
    fn resume_head(
        &mut self,
        connection: ConnectionId,
        head: Head,
        ctx: Ctx,
        refusal: Option<reply::Reply>,
        now: Now,
    ) {
        self.route_head(connection, head, ctx, refusal, now);
        self.touched.push(connection);
        self.http_drive(connection, now);
    }

    fn http_mut(&mut self, connection: ConnectionId) -> Option<&mut HttpConn> {
        match self.connections.get_mut(&connection).map(|conn| &mut conn.kind) {
            Some(Kind::Http(http)) => Some(http),
            _ => None,
        }
    }
}
