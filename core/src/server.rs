//! The server state machine: connections, running calls, deadlines, and the output queues.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::time::Instant;

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::config::Config;
use crate::error::{ErrorCode, RpcError};
use crate::framing::Framing;
use crate::framing::ndjson::{Line, LineFramer};
use crate::jsonrpc::{self, Id, Message, ParseFailure, Request};
use crate::log::{self, Level, LogRecord, Status};
use crate::mcp::{self, ProtocolVersion, Reply, Session};
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
    /// This connection is finished: every accepted request has been answered. Close it.
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
}

/// Counters of what the server holds now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Stats {
    /// Open connections.
    pub connections: usize,
    /// Tool calls running.
    pub running_calls: usize,
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

struct Connection {
    client: String,
    framer: LineFramer,
    session: Session,
    in_flight: BTreeMap<Id, CallId>,
    eof: bool,
}

struct RunningCall {
    connection: ConnectionId,
    request: Id,
    request_log_id: String,
    tool: String,
    started: Instant,
    deadline: Instant,
    progress_token: Option<Value>,
}

/// The sans-IO MCP server: feed it input and time, drain its output.
///
/// See the crate documentation for the drive loop.
pub struct Server {
    config: Config,
    tools: ToolRegistry,
    rng: ChaCha20Rng,
    connections: BTreeMap<ConnectionId, Connection>,
    next_connection: u64,
    calls: BTreeMap<CallId, RunningCall>,
    next_call: u64,
    deadlines: BTreeSet<(Instant, CallId)>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// What one log record says about one request.
struct Finished<'a> {
    connection: ConnectionId,
    request_id: String,
    method: Option<String>,
    started: Option<Instant>,
    outcome: Result<Status, &'a RpcError>,
}

impl Server {
    /// Creates a server with its config, its tools and a 32-byte seed for its CSPRNG.
    pub fn new(config: Config, tools: ToolRegistry, seed: [u8; 32]) -> Self {
        Self {
            config,
            tools,
            rng: ChaCha20Rng::from_seed(seed),
            connections: BTreeMap::new(),
            next_connection: 0,
            calls: BTreeMap::new(),
            next_call: 0,
            deadlines: BTreeSet::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    // ---- getters ----

    /// Returns the configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Returns counters of connections and running calls.
    pub fn stats(&self) -> Stats {
        Stats {
            connections: self.connections.len(),
            running_calls: self.calls.len(),
        }
    }

    /// Returns whether the adapter may read more bytes for `connection`.
    ///
    /// False while the connection's running calls are at their cap or a full line is
    /// buffered, and after end of input. Reading resumes when calls complete.
    pub fn wants_input(&self, connection: ConnectionId) -> bool {
        self.connections.get(&connection).is_some_and(|conn| {
            !conn.eof
                && conn.in_flight.len() < self.config.max_calls_per_connection
                && conn.framer.buffered() <= self.config.max_line_bytes
        })
    }

    // ---- handle_* (input) ----

    /// Opens a connection from `client` (a label for logs, such as a peer address).
    pub fn accept(&mut self, client: impl Into<String>, framing: Framing, _now: Now) -> ConnectionId {
        let _ = framing;
        let id = ConnectionId(self.next_connection);
        self.next_connection += 1;
        self.connections.insert(
            id,
            Connection {
                client: client.into(),
                framer: LineFramer::new(self.config.max_line_bytes),
                session: Session::new(),
                in_flight: BTreeMap::new(),
                eof: false,
            },
        );
        id
    }

    /// Takes bytes read from `connection`, in pieces of any size.
    pub fn handle_input(
        &mut self,
        connection: ConnectionId,
        data: &[u8],
        now: Now,
    ) -> Result<(), InputError> {
        if !self.connections.contains_key(&connection) {
            return Err(InputError::UnknownConnection(connection));
        }
        if !self.wants_input(connection) {
            return Err(InputError::NotTakingInput(connection));
        }
        if let Some(conn) = self.connections.get_mut(&connection) {
            conn.framer.push(data);
        }
        self.drain_lines(connection, now);
        Ok(())
    }

    /// Notes that the client sent end of input; every accepted request is still answered,
    /// then [`Event::Closed`] is emitted.
    pub fn handle_eof(&mut self, connection: ConnectionId, now: Now) -> Result<(), InputError> {
        let Some(conn) = self.connections.get_mut(&connection) else {
            return Err(InputError::UnknownConnection(connection));
        };
        conn.eof = true;
        self.drain_lines(connection, now);
        Ok(())
    }

    /// Notes that `connection` is gone (the peer vanished or writing failed): its running
    /// calls are cancelled and nothing more is sent to it.
    pub fn handle_disconnect(&mut self, connection: ConnectionId, now: Now) {
        let Some(conn) = self.connections.remove(&connection) else {
            return;
        };
        for call in conn.in_flight.into_values() {
            if let Some(running) = self.take_call(call) {
                self.events.push_back(Event::CancelCall(call));
                self.log_finished(
                    now,
                    Finished {
                        connection,
                        request_id: running.request_log_id,
                        method: Some(running.tool),
                        started: Some(running.started),
                        outcome: Ok(Status::Cancelled),
                    },
                );
            }
        }
        self.transmits.retain(|t| t.connection != connection);
        self.events.push_back(Event::Closed(connection));
    }

    /// Fires every deadline at or before `now`; spurious calls are harmless.
    pub fn handle_timeout(&mut self, now: Now) {
        while let Some(&(at, call)) = self.deadlines.first() {
            if at > now.instant {
                break;
            }
            self.deadlines.pop_first();
            let Some(running) = self.take_call(call) else {
                continue;
            };
            let limit = running.deadline.saturating_duration_since(running.started);
            let error = RpcError::new(
                ErrorCode::Timeout,
                format!("Tool timed out after {} ms", limit.as_millis()),
            );
            self.events.push_back(Event::CancelCall(call));
            self.send(
                running.connection,
                jsonrpc::write_error(Some(&running.request), &error, self.config.debug),
            );
            self.log_finished(
                now,
                Finished {
                    connection: running.connection,
                    request_id: running.request_log_id,
                    method: Some(running.tool),
                    started: Some(running.started),
                    outcome: Err(&error),
                },
            );
            self.drain_lines(running.connection, now);
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
            .connections
            .get(&running.connection)
            .and_then(|conn| conn.session.version())
            .unwrap_or(ProtocolVersion::LATEST);
        let (bytes, error) = match outcome {
            Ok(output) => {
                let mut result = output.to_json();
                if version < ProtocolVersion::V2025_06_18 {
                    if let Some(object) = result.as_object_mut() {
                        object.remove("structuredContent");
                    }
                }
                (jsonrpc::write_result(&running.request, &result), None)
            }
            Err(err) => {
                let error = err.into_rpc();
                (
                    jsonrpc::write_error(Some(&running.request), &error, self.config.debug),
                    Some(error),
                )
            }
        };
        self.send(running.connection, bytes);
        self.log_finished(
            now,
            Finished {
                connection: running.connection,
                request_id: running.request_log_id,
                method: Some(running.tool),
                started: Some(running.started),
                outcome: error.as_ref().map_or(Ok(Status::Ok), Err),
            },
        );
        self.drain_lines(running.connection, now);
        Ok(())
    }

    /// Passes on a message a running tool sends before its result: a log notification
    /// (if the session's level lets it through) or progress (if the client asked for it).
    pub fn tool_message(&mut self, call: CallId, message: ToolMessage, _now: Now) -> Result<(), CallError> {
        let Some(running) = self.calls.get(&call) else {
            return Err(CallError::NotRunning(call));
        };
        let Some(conn) = self.connections.get(&running.connection) else {
            return Ok(());
        };
        let notification = match message {
            ToolMessage::Log { level, logger, data } => {
                if !conn.session.wants_log(level) {
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
        self.send(connection, notification);
        Ok(())
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
        self.deadlines.first().map(|&(at, call)| Timeout {
            at,
            reason: TimeoutReason::ToolCall(call),
        })
    }

    // ---- internals ----

    /// Handles every complete line while the connection is not paused; at end of input,
    /// the unterminated tail too, and closes the connection once nothing is pending.
    fn drain_lines(&mut self, connection: ConnectionId, now: Now) {
        loop {
            let Some(conn) = self.connections.get_mut(&connection) else {
                return;
            };
            if conn.in_flight.len() >= self.config.max_calls_per_connection {
                return;
            }
            let line = match conn.framer.next_line() {
                Some(line) => line,
                None if conn.eof => match conn.framer.finish() {
                    Some(line) => line,
                    None => {
                        if conn.in_flight.is_empty() {
                            self.connections.remove(&connection);
                            self.events.push_back(Event::Closed(connection));
                        }
                        return;
                    }
                },
                None => return,
            };
            let parsed = match line {
                Line::TooLong => Err(ParseFailure {
                    id: None,
                    error: RpcError::new(
                        ErrorCode::ParseError,
                        format!(
                            "Parse error: message exceeds {} bytes",
                            self.config.max_line_bytes
                        ),
                    ),
                }),
                Line::Message(range) => jsonrpc::parse_message(conn.framer.bytes(range)),
            };
            self.handle_message(connection, parsed, now);
        }
    }

    fn handle_message(&mut self, connection: ConnectionId, parsed: Result<Message, ParseFailure>, now: Now) {
        let request_id = self.new_request_id();
        match parsed {
            Err(failure) => {
                self.send(
                    connection,
                    jsonrpc::write_error(failure.id.as_ref(), &failure.error, self.config.debug),
                );
                self.log_finished(
                    now,
                    Finished {
                        connection,
                        request_id,
                        method: None,
                        started: Some(now.instant),
                        outcome: Err(&failure.error),
                    },
                );
            }
            Ok(Message::Request(request)) => self.handle_request(connection, request, request_id, now),
            Ok(Message::Notification(notification)) => {
                if let Some(conn) = self.connections.get_mut(&connection) {
                    match notification.method.as_str() {
                        "notifications/initialized" => conn.session.mark_initialized(),
                        "notifications/cancelled" => {
                            let target = notification
                                .params
                                .as_ref()
                                .and_then(|p| p.get("requestId"))
                                .and_then(id_from_value);
                            if let Some(call) = target.and_then(|id| conn.in_flight.get(&id).copied()) {
                                self.cancel(call, now);
                            }
                        }
                        _ => {}
                    }
                }
                self.log_finished(
                    now,
                    Finished {
                        connection,
                        request_id,
                        method: Some(notification.method),
                        started: Some(now.instant),
                        outcome: Ok(Status::Accepted),
                    },
                );
            }
            Ok(Message::Response(_)) => {
                // The server sends no requests yet, so no response is expected: drop it.
                self.log_finished(
                    now,
                    Finished {
                        connection,
                        request_id,
                        method: Some("response".into()),
                        started: Some(now.instant),
                        outcome: Ok(Status::Accepted),
                    },
                );
            }
        }
    }

    fn handle_request(&mut self, connection: ConnectionId, request: Request, request_id: String, now: Now) {
        let method = mcp::log_method(&request);
        let Some(conn) = self.connections.get_mut(&connection) else {
            return;
        };
        let reply = if conn.in_flight.contains_key(&request.id) {
            Reply::Now(Err(RpcError::new(
                ErrorCode::InvalidRequest,
                "Invalid Request: id is already in use by a running request",
            )))
        } else {
            mcp::dispatch(&mut conn.session, &self.tools, &self.config, &request)
        };
        let start = match reply {
            Reply::Now(result) => {
                let (bytes, outcome) = match &result {
                    Ok(value) => (jsonrpc::write_result(&request.id, value), Ok(Status::Ok)),
                    Err(error) => (
                        jsonrpc::write_error(Some(&request.id), error, self.config.debug),
                        Err(error),
                    ),
                };
                self.send(connection, bytes);
                self.log_finished(
                    now,
                    Finished {
                        connection,
                        request_id,
                        method: Some(method),
                        started: Some(now.instant),
                        outcome,
                    },
                );
                return;
            }
            Reply::Call(start) => start,
        };
        let Some(entry) = self.tools.get(&start.tool) else {
            return;
        };
        let call = CallId(self.next_call);
        self.next_call += 1;
        let deadline = now.instant + entry.tool.timeout_or(self.config.tool_timeout);
        let tool_call = self.tools.call(entry, call, start.arguments, deadline);
        conn.in_flight.insert(request.id.clone(), call);
        self.calls.insert(
            call,
            RunningCall {
                connection,
                request: request.id,
                request_log_id: request_id,
                tool: start.tool,
                started: now.instant,
                deadline,
                progress_token: start.progress_token,
            },
        );
        self.deadlines.insert((deadline, call));
        self.events.push_back(Event::CallTool(tool_call));
    }

    /// Cancels a call at the client's request: no response is sent (MCP says so).
    fn cancel(&mut self, call: CallId, now: Now) {
        let Some(running) = self.take_call(call) else {
            return;
        };
        self.events.push_back(Event::CancelCall(call));
        self.log_finished(
            now,
            Finished {
                connection: running.connection,
                request_id: running.request_log_id,
                method: Some(running.tool),
                started: Some(running.started),
                outcome: Ok(Status::Cancelled),
            },
        );
    }

    /// Removes a call from every table; `None` if it is not running.
    fn take_call(&mut self, call: CallId) -> Option<RunningCall> {
        let running = self.calls.remove(&call)?;
        self.deadlines.remove(&(running.deadline, call));
        if let Some(conn) = self.connections.get_mut(&running.connection) {
            conn.in_flight.remove(&running.request);
        }
        Some(running)
    }

    fn send(&mut self, connection: ConnectionId, mut data: Vec<u8>) {
        if !self.connections.contains_key(&connection) {
            return;
        }
        data.push(b'\n');
        self.transmits.push_back(Transmit { connection, data });
    }

    fn new_request_id(&mut self) -> String {
        format!("{:016x}", self.rng.next_u64())
    }

    fn log_finished(&mut self, now: Now, finished: Finished<'_>) {
        let (level, status, code, message) = match finished.outcome {
            Ok(status) => (Level::Info, status, None, "request finished".to_owned()),
            Err(error) => {
                let level = match error.code {
                    ErrorCode::Runtime | ErrorCode::Timeout | ErrorCode::InternalError => Level::Error,
                    _ => Level::Warning,
                };
                (
                    level,
                    Status::Error,
                    Some(error.code.code()),
                    format!("{}: {}", error.code.name(), error.message),
                )
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
            session: None,
        }));
    }
}

/// Reads a request id given as a JSON value (as in `notifications/cancelled`).
fn id_from_value(value: &Value) -> Option<Id> {
    let raw = RawValue::from_string(serde_json::to_string(value).ok()?).ok()?;
    Id::from_raw(&raw)
}
