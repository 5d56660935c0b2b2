//! The server state machine: connections, sessions, running calls, deadlines, and the
//! output queues. Each framing has its own file: `ndjson.rs` for stdio, `http.rs` for
//! Streamable HTTP.

mod host;
mod http;
mod ndjson;

pub use host::Host;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::auth::{Principal, has_scope};
use crate::config::Config;
use crate::error::{ErrorCode, RpcError};
use crate::framing::Framing;
use crate::framing::ndjson::LineFramer;
use crate::jsonrpc::{self, Id, Notification, Request};
use crate::log::{self, Level, LogRecord, Status};
use crate::mcp::{self, ProtocolVersion, Reply, Session};
use crate::rate_limit::{ClientKey, Limits, RateLimiter};
use crate::time::Now;
use crate::tools::{CallId, Outcome, ToolCall, ToolMessage, ToolRegistry};

/// Identifies one connection (for stdio, the one pair of pipes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(u64);

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "conn-{}", self.0)
    }
}

/// Bytes to write to a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct Transmit {
    /// Where to write.
    pub connection: ConnectionId,
    /// What to write, already framed.
    pub data: Vec<u8>,
}

/// Something the adapter must act on, other than writing bytes.
#[derive(Debug)]
#[must_use]
#[non_exhaustive]
pub enum Event {
    /// Run this tool call on the runtime and report it with [`Server::complete`].
    CallTool(ToolCall),
    /// Drop the future of this call: it timed out, was cancelled, or its client left.
    CancelCall(CallId),
    /// Write this log record (for stdio: as one JSON line on stderr).
    Log(LogRecord),
    /// This connection is finished: write what was transmitted for it, then close it.
    Closed(ConnectionId),
}

/// The next deadline and what it is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct Timeout {
    /// When [`Server::handle_timeout`] should be called.
    pub at: Instant,
    /// What expires then.
    pub reason: TimeoutReason,
}

/// Why a deadline exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutReason {
    /// A tool call's deadline.
    ToolCall(CallId),
    /// A connection's header, body or keep-alive deadline.
    Connection(ConnectionId),
    /// A session's idle expiry.
    SessionExpiry,
    /// The sweep of idle rate-limit buckets.
    RateLimitSweep,
}

/// Counters of what the server holds now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Stats {
    /// Open connections.
    pub connections: usize,
    /// Tool calls running.
    pub running_calls: usize,
    /// HTTP sessions held.
    pub sessions: usize,
    /// Clients with a rate-limit bucket of their own (never above the configured cap).
    pub rate_limited_clients: usize,
}

/// Misuse of the input methods by the embedding code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// The connection was never accepted, or has been closed.
    #[error("{0} is not open")]
    UnknownConnection(ConnectionId),
    /// The connection is not taking input now: check [`Server::wants_input`] before reading.
    #[error("{0} is not taking input: read only while wants_input() is true")]
    NotTakingInput(ConnectionId),
}

/// A command about a call that is no longer running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The call finished, timed out or was cancelled already; its late outcome is dropped.
    #[error("{0} is not running (it finished, timed out or was cancelled)")]
    NotRunning(CallId),
}

/// A readiness check the embedding code flips; `GET /ready` answers 503 while one fails.
#[derive(Debug, Clone)]
pub struct ReadinessCheck(Arc<AtomicBool>);

impl ReadinessCheck {
    /// Creates a check, healthy or failing; register it with [`Server::add_readiness_check`].
    pub fn new(healthy: bool) -> Self {
        Self(Arc::new(AtomicBool::new(healthy)))
    }

    /// Marks the dependency healthy or failing.
    pub fn set(&self, healthy: bool) {
        self.0.store(healthy, Ordering::Relaxed);
    }

    /// Returns whether the dependency is healthy.
    pub fn is_healthy(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Where a session lives: on a stdio connection, or under an HTTP session id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum SessionKey {
    /// The session of one NDJSON connection, or of one stateless HTTP request.
    Conn(ConnectionId),
    /// A Streamable HTTP session, by its `Mcp-Session-Id`.
    Http(String),
}

struct SessionState {
    mcp: Session,
    in_flight: BTreeMap<Id, CallId>,
    /// For HTTP sessions: when it was last used, and its `GET` stream.
    last_active: Instant,
    stream: Option<ConnectionId>,
    /// When its expiry timer is armed, so that ending the session can disarm it.
    expiry: Option<Instant>,
    /// The principal that opened it, when authentication is on.
    owner: Option<String>,
}

impl SessionState {
    fn new(mcp: Session, now: Instant) -> Self {
        Self {
            mcp,
            in_flight: BTreeMap::new(),
            last_active: now,
            stream: None,
            expiry: None,
            owner: None,
        }
    }
}

enum Kind {
    Ndjson(LineFramer),
    Http(Box<http::HttpConn>),
}

struct Connection {
    client: String,
    kind: Kind,
    eof: bool,
    /// A chunk that arrived while the connection was paused, fed when it takes input again.
    parked: Option<Vec<u8>>,
    /// The reader waits for [`Host::resume`] before it reads again.
    awaiting_resume: bool,
    /// The peer's address, when the client label is one.
    peer: Option<IpAddr>,
    /// Whom the last request counted against (behind trusted proxies, the real client).
    client_key: ClientKey,
    /// Who the current request authenticated as, when authentication is on.
    principal: Option<Principal>,
}

struct RunningCall {
    connection: ConnectionId,
    session: SessionKey,
    request: Id,
    request_log_id: String,
    tool: String,
    started: Instant,
    deadline: Instant,
    progress_token: Option<Value>,
}

/// One entry of the timer table.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    Call(CallId),
    Connection(ConnectionId),
    Session(String),
}

/// The sans-IO MCP server: feed it input and time, drain its output.
///
/// See the crate documentation for the drive loop.
pub struct Server {
    config: Config,
    tools: ToolRegistry,
    rng: ChaCha20Rng,
    started: Instant,
    checks: Vec<(String, ReadinessCheck)>,
    ready: bool,
    draining: bool,
    connections: BTreeMap<ConnectionId, Connection>,
    next_connection: u64,
    sessions: BTreeMap<SessionKey, SessionState>,
    http_sessions: usize,
    calls: BTreeMap<CallId, RunningCall>,
    next_call: u64,
    timers: BTreeSet<(Instant, Timer)>,
    /// Requests per client.
    limiter: RateLimiter<ClientKey>,
    /// Calls per client, for tools with a limit of their own.
    tool_limiters: BTreeMap<String, RateLimiter<ClientKey>>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    /// Connections whose reader waits for [`Host::resume`], in the order they began to wait.
    awaiting_resume: Vec<ConnectionId>,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// What one log record says about one request.
struct Finished {
    connection: ConnectionId,
    request_id: String,
    method: Option<String>,
    started: Option<Instant>,
    outcome: Result<Status, RpcError>,
    http_status: Option<u16>,
    http: Option<String>,
    session: Option<String>,
    principal: Option<String>,
}

impl Finished {
    fn new(connection: ConnectionId, request_id: String, started: Instant) -> Self {
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
        }
    }
}

/// How the dispatcher answered one JSON-RPC message.
enum Answer {
    /// Send this response now.
    Respond(Vec<u8>),
    /// A tool call started; its response comes with `complete` or a timeout.
    Started(CallId),
    /// A notification or response: nothing to send.
    Nothing,
}

impl Server {
    /// Creates a server with its config, its tools, a 32-byte seed for its CSPRNG, and the
    /// moment it starts (for `uptime_seconds`).
    pub fn new(config: Config, tools: ToolRegistry, seed: [u8; 32], now: Now) -> Self {
        let limits = |per_minute| Limits {
            per_minute,
            burst: per_minute,
            max_clients: config.rate_limit_max_clients,
            idle_sweep: std::time::Duration::from_secs(60),
        };
        let limiter = RateLimiter::new(limits(config.rate_limit));
        let tool_limiters = config
            .tool_rate_limits
            .iter()
            .map(|(tool, per_minute)| (tool.clone(), RateLimiter::new(limits(*per_minute))))
            .collect();
        Self {
            config,
            tools,
            rng: ChaCha20Rng::from_seed(seed),
            started: now.instant,
            checks: Vec::new(),
            ready: true,
            draining: false,
            connections: BTreeMap::new(),
            next_connection: 0,
            sessions: BTreeMap::new(),
            http_sessions: 0,
            calls: BTreeMap::new(),
            next_call: 0,
            timers: BTreeSet::new(),
            limiter,
            tool_limiters,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            awaiting_resume: Vec::new(),
        }
    }

    // ---- getters ----

    /// Returns the configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Returns counters of connections, running calls and sessions.
    pub fn stats(&self) -> Stats {
        Stats {
            connections: self.connections.len(),
            running_calls: self.calls.len(),
            sessions: self.http_sessions,
            rate_limited_clients: self.limiter.len(),
        }
    }

    /// Returns whether `GET /ready` answers 200: ready, not draining, every check healthy.
    pub fn is_ready(&self) -> bool {
        self.ready && !self.draining && self.checks.iter().all(|(_, check)| check.is_healthy())
    }

    /// Returns whether shutdown has begun and every connection has closed.
    pub fn is_drained(&self) -> bool {
        self.draining && self.connections.is_empty()
    }

    /// Returns whether the connection takes input now.
    ///
    /// False while its running calls are at their cap, its buffer is full or a chunk is
    /// parked, and after end of input; it turns true again as calls complete.
    pub fn wants_input(&self, connection: ConnectionId) -> bool {
        let Some(conn) = self.connections.get(&connection) else {
            return false;
        };
        if conn.eof || conn.parked.is_some() {
            return false;
        }
        match &conn.kind {
            Kind::Ndjson(framer) => {
                let running = self
                    .sessions
                    .get(&SessionKey::Conn(connection))
                    .map_or(0, |session| session.in_flight.len());
                running < self.config.max_calls_per_connection
                    && framer.buffered() <= self.config.max_line_bytes
            }
            Kind::Http(http) => http.wants_input(&self.config),
        }
    }

    // ---- handle_* (input) ----

    /// Opens a connection from `client` (a label for logs, such as a peer address).
    ///
    /// A label that parses as an IP address is the peer address rate limits count against.
    pub fn accept(&mut self, client: impl Into<String>, framing: Framing, now: Now) -> ConnectionId {
        let client = client.into();
        let peer = client.parse::<IpAddr>().ok();
        let id = ConnectionId(self.next_connection);
        self.next_connection += 1;
        let kind = match framing {
            Framing::Ndjson => {
                self.sessions.insert(
                    SessionKey::Conn(id),
                    SessionState::new(Session::new(), now.instant),
                );
                Kind::Ndjson(LineFramer::new(self.config.max_line_bytes))
            }
            Framing::Http => Kind::Http(Box::new(http::HttpConn::new(&self.config, now.instant))),
        };
        self.connections.insert(
            id,
            Connection {
                client,
                kind,
                eof: false,
                parked: None,
                awaiting_resume: false,
                peer,
                client_key: ClientKey::from_ip(peer.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))),
                principal: None,
            },
        );
        if framing == Framing::Http {
            self.http_reschedule(id);
        }
        id
    }

    /// Takes bytes read from `connection`, in pieces of any size.
    ///
    /// A chunk that arrives while the connection is paused is parked and fed later; the
    /// reader must then wait for [`Host::resume`] (see [`Server::drain_into`]). A second
    /// chunk before that is refused with [`InputError::NotTakingInput`].
    pub fn handle_input(
        &mut self,
        connection: ConnectionId,
        data: &[u8],
        now: Now,
    ) -> Result<(), InputError> {
        let wants = self.wants_input(connection);
        let Some(conn) = self.connections.get_mut(&connection) else {
            return Err(InputError::UnknownConnection(connection));
        };
        if !wants && (conn.parked.is_some() || conn.eof) {
            return Err(InputError::NotTakingInput(connection));
        }
        if !conn.awaiting_resume {
            conn.awaiting_resume = true;
            self.awaiting_resume.push(connection);
        }
        if wants {
            self.take_input(connection, data, now);
        } else {
            conn.parked = Some(data.to_vec());
        }
        Ok(())
    }

    fn take_input(&mut self, connection: ConnectionId, data: &[u8], now: Now) {
        match self.connections.get(&connection).map(|conn| &conn.kind) {
            Some(Kind::Http(_)) => self.http_input(connection, data, now),
            Some(Kind::Ndjson(_)) => self.ndjson_input(connection, data, now),
            None => {}
        }
    }

    /// Notes that the client sent end of input (a half-close): every accepted request is
    /// still answered, then [`Event::Closed`] is emitted.
    pub fn handle_eof(&mut self, connection: ConnectionId, now: Now) -> Result<(), InputError> {
        let Some(conn) = self.connections.get_mut(&connection) else {
            return Err(InputError::UnknownConnection(connection));
        };
        conn.eof = true;
        match conn.kind {
            Kind::Ndjson(_) => self.drain_lines(connection, now),
            Kind::Http(_) => self.http_drive(connection, now),
        }
        Ok(())
    }

    /// Notes that `connection` is gone (the peer vanished or writing failed): its running
    /// calls are cancelled and nothing more is sent to it.
    pub fn handle_disconnect(&mut self, connection: ConnectionId, now: Now) {
        if self.connections.contains_key(&connection) {
            self.close(connection, now);
        }
        self.transmits.retain(|t| t.connection != connection);
    }

    /// Fires every deadline at or before `now`; spurious calls are harmless.
    pub fn handle_timeout(&mut self, now: Now) {
        self.limiter.handle_timeout(now.instant);
        for limiter in self.tool_limiters.values_mut() {
            limiter.handle_timeout(now.instant);
        }
        while let Some((at, _)) = self.timers.first() {
            if *at > now.instant {
                break;
            }
            let Some((_, timer)) = self.timers.pop_first() else {
                break;
            };
            match timer {
                Timer::Call(call) => self.call_timed_out(call, now),
                Timer::Connection(connection) => self.http_timer(connection, now),
                Timer::Session(id) => self.session_timer(id, now),
            }
        }
    }

    // ---- commands ----

    /// Reports how a call ended; its response is sent unless it already timed out or was
    /// cancelled, in which case the outcome is refused with [`CallError::NotRunning`].
    pub fn complete(&mut self, call: CallId, outcome: Outcome, now: Now) -> Result<(), CallError> {
        let Some(running) = self.take_call(call) else {
            return Err(CallError::NotRunning(call));
        };
        let version = self
            .sessions
            .get(&running.session)
            .and_then(|session| session.mcp.version())
            .unwrap_or(ProtocolVersion::LATEST);
        let (bytes, error) = match outcome {
            Ok(output) => {
                let output = if version < ProtocolVersion::V2025_06_18 {
                    output.without_structured()
                } else {
                    output
                };
                (jsonrpc::write_result(&running.request, &output), None)
            }
            Err(err) => {
                let error = err.into_rpc();
                (
                    jsonrpc::write_error(Some(&running.request), &error, self.config.debug),
                    Some(error),
                )
            }
        };
        self.finish_call(running, bytes, error.as_ref(), now);
        Ok(())
    }

    /// Passes on a message a running tool sends before its result: a log notification
    /// (if the session's level lets it through) or progress (if the client asked for it).
    pub fn tool_message(&mut self, call: CallId, message: ToolMessage, now: Now) -> Result<(), CallError> {
        let Some(running) = self.calls.get(&call) else {
            return Err(CallError::NotRunning(call));
        };
        let Some(session) = self.sessions.get(&running.session) else {
            return Ok(());
        };
        let notification = match message {
            ToolMessage::Log { level, logger, data } => {
                if !session.mcp.wants_log(level) {
                    return Ok(());
                }
                let mut params = json!({"level": level.as_str(), "data": data});
                if let Some(logger) = logger {
                    params["logger"] = json!(logger);
                }
                jsonrpc::write_notification("notifications/message", Some(&params))
            }
            ToolMessage::Progress {
                progress,
                total,
                message,
            } => {
                let Some(token) = &running.progress_token else {
                    return Ok(());
                };
                let mut params = json!({"progressToken": token, "progress": progress});
                if let Some(total) = total {
                    params["total"] = json!(total);
                }
                if let Some(message) = message {
                    params["message"] = json!(message);
                }
                jsonrpc::write_notification("notifications/progress", Some(&params))
            }
        };
        let connection = running.connection;
        match self.connections.get(&connection).map(|conn| &conn.kind) {
            Some(Kind::Ndjson(_)) => self.send_line(connection, notification),
            Some(Kind::Http(_)) => self.http_stream_message(connection, call, notification, now),
            None => {}
        }
        Ok(())
    }

    /// Registers a readiness check under `name`; `/ready` reports it and fails while it fails.
    pub fn add_readiness_check(&mut self, name: impl Into<String>, check: ReadinessCheck) {
        self.checks.push((name.into(), check));
    }

    /// Sets whether the server reports itself ready (all checks aside).
    pub fn set_ready(&mut self, ready: bool) {
        self.ready = ready;
    }

    /// Begins a graceful shutdown: `/ready` turns 503, idle connections close now, busy ones
    /// after their current response; running calls finish. Poll [`is_drained`](Self::is_drained).
    pub fn shutdown(&mut self, now: Now) {
        self.draining = true;
        let idle: Vec<(ConnectionId, bool)> = self
            .connections
            .iter()
            .filter_map(|(id, conn)| match &conn.kind {
                Kind::Http(http) if http.is_idle() => Some((*id, false)),
                Kind::Http(http) if http.is_stream() => Some((*id, true)),
                _ => None,
            })
            .collect();
        for (connection, stream) in idle {
            if stream {
                // A stream never finishes by itself: end it cleanly.
                self.end_stream(connection, now);
            } else {
                self.close(connection, now);
            }
        }
    }

    // ---- poll_* (output) ----

    /// Returns the next bytes to write.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// Returns the next event for the adapter.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Returns the next deadline and its reason, if any.
    pub fn poll_timeout(&self) -> Option<Timeout> {
        let timer = self.timers.first().map(|(at, timer)| Timeout {
            at: *at,
            reason: match timer {
                Timer::Call(call) => TimeoutReason::ToolCall(*call),
                Timer::Connection(connection) => TimeoutReason::Connection(*connection),
                Timer::Session(_) => TimeoutReason::SessionExpiry,
            },
        });
        let sweep = std::iter::once(&self.limiter)
            .chain(self.tool_limiters.values())
            .filter_map(RateLimiter::poll_timeout)
            .min()
            .map(|at| Timeout {
                at,
                reason: TimeoutReason::RateLimitSweep,
            });
        match (timer, sweep) {
            (Some(timer), Some(sweep)) if sweep.at < timer.at => Some(sweep),
            (Some(timer), _) => Some(timer),
            (None, sweep) => sweep,
        }
    }

    // ---- shared internals ----

    /// Answers one parsed JSON-RPC message for a session.
    fn dispatch_message(
        &mut self,
        connection: ConnectionId,
        key: &SessionKey,
        message: jsonrpc::Message,
        request_id: &str,
        now: Now,
    ) -> (Answer, Finished, Option<RpcError>) {
        let mut finished = Finished::new(connection, request_id.to_owned(), now.instant);
        match message {
            jsonrpc::Message::Request(request) => {
                self.dispatch_request(connection, key, request, finished, now)
            }
            jsonrpc::Message::Notification(notification) => {
                self.handle_notification(key, &notification, now);
                finished.method = Some(notification.method);
                finished.outcome = Ok(Status::Accepted);
                (Answer::Nothing, finished, None)
            }
            jsonrpc::Message::Response(_) => {
                // The server sends no requests yet, so no response is expected: drop it.
                finished.method = Some("response".into());
                finished.outcome = Ok(Status::Accepted);
                (Answer::Nothing, finished, None)
            }
        }
    }

    fn dispatch_request(
        &mut self,
        connection: ConnectionId,
        key: &SessionKey,
        mut request: Request,
        mut finished: Finished,
        now: Now,
    ) -> (Answer, Finished, Option<RpcError>) {
        finished.method = Some(mcp::log_method(&request));
        let Some(session) = self.sessions.get_mut(key) else {
            let error = RpcError::new(ErrorCode::InvalidRequest, "Session not found");
            return (
                Answer::Respond(jsonrpc::write_error(Some(&request.id), &error, self.config.debug)),
                finished,
                Some(error),
            );
        };
        let reply = if session.in_flight.contains_key(&request.id) {
            Reply::Now(Err(RpcError::new(
                ErrorCode::InvalidRequest,
                "Invalid Request: id is already in use by a running request",
            )))
        } else {
            mcp::dispatch(&mut session.mcp, &self.tools, &self.config, &mut request)
        };
        let start = match reply {
            Reply::Now(Ok(value)) => {
                return (
                    Answer::Respond(jsonrpc::write_result(&request.id, &value)),
                    finished,
                    None,
                );
            }
            Reply::Now(Err(error)) => {
                let bytes = jsonrpc::write_error(Some(&request.id), &error, self.config.debug);
                return (Answer::Respond(bytes), finished, Some(error));
            }
            Reply::Call(start) => start,
        };
        if let Some(limiter) = self.tool_limiters.get_mut(&start.tool) {
            let key = self
                .connections
                .get(&connection)
                .map_or(ClientKey::V4([0; 4]), |conn| conn.client_key);
            if !limiter.check(key, now.instant).allowed {
                let error = RpcError::new(ErrorCode::RateLimit, "Too many requests");
                let bytes = jsonrpc::write_error(Some(&request.id), &error, self.config.debug);
                return (Answer::Respond(bytes), finished, Some(error));
            }
        }
        let principal = self
            .connections
            .get(&connection)
            .and_then(|conn| conn.principal.as_ref());
        let scope = self.tools.get(&start.tool).and_then(|entry| entry.tool.scope());
        if let (Some(principal), Some(scope)) = (principal, scope)
            && !has_scope(principal, scope)
        {
            let error = RpcError::new(
                ErrorCode::Auth,
                format!("Insufficient scope: {scope} is required"),
            );
            let bytes = jsonrpc::write_error(Some(&request.id), &error, self.config.debug);
            return (Answer::Respond(bytes), finished, Some(error));
        }
        let Some(entry) = self.tools.get(&start.tool) else {
            let error = RpcError::new(ErrorCode::InternalError, "Internal error");
            return (
                Answer::Respond(jsonrpc::write_error(Some(&request.id), &error, self.config.debug)),
                finished,
                Some(error),
            );
        };
        let call = CallId(self.next_call);
        self.next_call += 1;
        let deadline = now.instant + entry.tool.timeout_or(self.config.tool_timeout);
        let tool_call = self.tools.call(entry, call, start.arguments, deadline);
        session.in_flight.insert(request.id.clone(), call);
        self.calls.insert(
            call,
            RunningCall {
                connection,
                session: key.clone(),
                request: request.id,
                // Moved, not copied: the call's record is made when it finishes, and the
                // caller drops this one.
                request_log_id: std::mem::take(&mut finished.request_id),
                tool: start.tool,
                started: now.instant,
                deadline,
                progress_token: start.progress_token,
            },
        );
        self.timers.insert((deadline, Timer::Call(call)));
        self.events.push_back(Event::CallTool(tool_call));
        (Answer::Started(call), finished, None)
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
                if let Some(call) = target.and_then(|id| session.in_flight.get(&id).copied()) {
                    self.cancel(call, now);
                }
            }
            _ => {}
        }
    }

    fn call_timed_out(&mut self, call: CallId, now: Now) {
        let Some(running) = self.take_call(call) else {
            return;
        };
        let limit = running.deadline.saturating_duration_since(running.started);
        let error = RpcError::new(
            ErrorCode::Timeout,
            format!("Tool timed out after {} ms", limit.as_millis()),
        );
        self.events.push_back(Event::CancelCall(call));
        let bytes = jsonrpc::write_error(Some(&running.request), &error, self.config.debug);
        self.finish_call(running, bytes, Some(&error), now);
    }

    /// Sends a finished call's response on its connection and logs it.
    fn finish_call(&mut self, running: RunningCall, bytes: Vec<u8>, error: Option<&RpcError>, now: Now) {
        let connection = running.connection;
        let mut finished = Finished::new(connection, running.request_log_id, running.started);
        finished.method = Some(running.tool);
        finished.outcome = error.cloned().map_or(Ok(Status::Ok), Err);
        match self.connections.get(&connection).map(|conn| &conn.kind) {
            Some(Kind::Ndjson(_)) => {
                self.send_line(connection, bytes);
                self.log_finished(now, finished);
                self.drain_lines(connection, now);
            }
            Some(Kind::Http(_)) => self.http_call_finished(connection, bytes, finished, now),
            None => self.log_finished(now, finished),
        }
    }

    /// Cancels a call at the client's request: no response is sent (MCP says so).
    fn cancel(&mut self, call: CallId, now: Now) {
        let Some(running) = self.take_call(call) else {
            return;
        };
        self.events.push_back(Event::CancelCall(call));
        let mut finished = Finished::new(running.connection, running.request_log_id, running.started);
        finished.method = Some(running.tool);
        finished.outcome = Ok(Status::Cancelled);
        self.log_finished(now, finished);
        if let Some(Kind::Http(_)) = self.connections.get(&running.connection).map(|conn| &conn.kind) {
            // The HTTP request that carried the call is answered with 202 and no result.
            self.http_call_cancelled(running.connection, now);
        }
    }

    /// Removes a call from every table; `None` if it is not running.
    fn take_call(&mut self, call: CallId) -> Option<RunningCall> {
        let running = self.calls.remove(&call)?;
        self.timers.remove(&(running.deadline, Timer::Call(call)));
        if let Some(session) = self.sessions.get_mut(&running.session) {
            session.in_flight.remove(&running.request);
        }
        Some(running)
    }

    /// Removes a connection, cancels what runs for it, and tells the adapter to close it.
    fn close(&mut self, connection: ConnectionId, now: Now) {
        let Some(conn) = self.connections.remove(&connection) else {
            return;
        };
        let orphaned: Vec<CallId> = self
            .calls
            .iter()
            .filter(|(_, running)| running.connection == connection)
            .map(|(call, _)| *call)
            .collect();
        for call in orphaned {
            if let Some(running) = self.take_call(call) {
                self.events.push_back(Event::CancelCall(call));
                let mut finished = Finished::new(connection, running.request_log_id, running.started);
                finished.method = Some(running.tool);
                finished.outcome = Ok(Status::Cancelled);
                self.log_finished(now, finished);
            }
        }
        if let Kind::Http(http) = &conn.kind
            && let Some(deadline) = http.deadline
        {
            self.timers.remove(&(deadline, Timer::Connection(connection)));
        }
        self.sessions.remove(&SessionKey::Conn(connection));
        for session in self.sessions.values_mut() {
            if session.stream == Some(connection) {
                session.stream = None;
            }
        }
        self.events.push_back(Event::Closed(connection));
    }

    fn send_line(&mut self, connection: ConnectionId, mut data: Vec<u8>) {
        data.push(b'\n');
        self.transmit(connection, data);
    }

    fn transmit(&mut self, connection: ConnectionId, data: Vec<u8>) {
        if self.connections.contains_key(&connection) {
            self.transmits.push_back(Transmit { connection, data });
        }
    }

    fn new_request_id(&mut self) -> String {
        format!("{:016x}", self.rng.next_u64())
    }

    fn log_finished(&mut self, now: Now, finished: Finished) {
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
        let client = self
            .connections
            .get(&finished.connection)
            .map(|conn| conn.client.clone());
        self.events.push_back(Event::Log(LogRecord {
            timestamp: now.rfc3339(),
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
        }));
    }
}

/// Reads a request id given as a JSON value (as in `notifications/cancelled`).
fn id_from_value(value: &Value) -> Option<Id> {
    let raw = RawValue::from_string(serde_json::to_string(value).ok()?).ok()?;
    Id::from_raw(&raw)
}
