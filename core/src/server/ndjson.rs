//! NDJSON connections (stdio): one JSON-RPC message per line, answered in completion order.
//! The connection is one session; requests to the client and announcements share its pipe.

use super::connections::Kind;
use super::dispatch::{Answer, Received};
use super::record::Finished;
use super::sessions::{Listen, SessionKey, SessionState};
use super::{ConnectionId, Server};
use crate::error::{ErrorCode, RpcError};
use crate::framing::ndjson::Line;
use std::collections::VecDeque;

use crate::config::Config;
use crate::framing::ndjson::LineFramer;
use crate::jsonrpc::{self, Id, Message, ParseFailure};
use crate::mcp::Session;
use crate::mcp::modern::{self, Era, Filter};
use crate::time::Now;

/// The NDJSON side of one connection.
pub(super) struct NdjsonConn {
    pub(super) framer: LineFramer,
    /// Requests read while the connection's calls were at their cap, oldest first, with
    /// their log ids and sizes.
    held: VecDeque<(Message, std::sync::Arc<str>, usize)>,
    held_bytes: usize,
    /// The era the connection's first request (other than a `server/discover` probe)
    /// decided; every later message is served by its rules.
    era: Option<Era>,
}

impl NdjsonConn {
    pub(super) fn new(max_line_bytes: usize) -> Self {
        Self {
            framer: LineFramer::new(max_line_bytes),
            held: VecDeque::new(),
            held_bytes: 0,
            era: None,
        }
    }

    /// Returns whether it takes a chunk now: room for more held requests (as many as calls
    /// may run, in as many bytes as one line may have) and room in the buffer.
    pub(super) fn takes_input(&self, config: &Config) -> bool {
        self.held.len() < config.max_calls_per_connection
            && self.held_bytes <= config.max_line_bytes
            && self.framer.buffered() <= config.max_line_bytes
    }
}

impl Server {
    /// Opens the session of a new NDJSON connection.
    pub(super) fn open_ndjson(&mut self, connection: ConnectionId, now: Now) {
        // Nothing is replayed on a pipe.
        let state = SessionState::new(Session::new(), now.instant, None);
        self.sessions.insert_conn(connection, state);
    }

    pub(super) fn ndjson_input(&mut self, connection: ConnectionId, data: &[u8], now: Now) {
        if let Some(Kind::Ndjson(ndjson)) = self.connections.get_mut(&connection).map(|conn| &mut conn.kind) {
            ndjson.framer.push(data);
        }
        self.drain_lines(connection, now);
    }

    /// Handles every complete line; at end of input, the unterminated tail too, and closes
    /// the connection once nothing is pending. While its calls are at their cap, responses and
    /// notifications still go through (a handler may be waiting for the client's answer), and
    /// new requests are held, in order, until calls end; reading pauses only when the held
    /// requests reach their own bound.
    pub(super) fn drain_lines(&mut self, connection: ConnectionId, now: Now) {
        let key = SessionKey::Conn(connection);
        loop {
            let running = self
                .sessions
                .get(&key)
                .map_or(0, |session| session.in_flight.len());
            let at_cap = running >= self.config.max_calls_per_connection;
            let Some(conn) = self.connections.get_mut(&connection) else {
                return;
            };
            let Kind::Ndjson(ndjson) = &mut conn.kind else {
                return;
            };
            if !at_cap && let Some((message, request_id, size)) = ndjson.held.pop_front() {
                ndjson.held_bytes -= size;
                self.answer_line(connection, &key, message, &request_id, now);
                continue;
            }
            let line = match ndjson.framer.next_line() {
                Some(line) => line,
                None if conn.eof && conn.parked.is_none() => match ndjson.framer.finish() {
                    Some(line) => line,
                    None => {
                        if running == 0 && ndjson.held.is_empty() {
                            self.close(connection, now);
                        }
                        return;
                    }
                },
                None => return,
            };
            let size = match &line {
                Line::Message(range) => range.len(),
                Line::TooLong => 0,
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
                // A 2026-07-28 pipe's messages are read whole: its checks read the params whole.
                Line::Message(range) if ndjson.era == Some(Era::Modern) => {
                    jsonrpc::parse_message(ndjson.framer.bytes(range))
                }
                Line::Message(range) => jsonrpc::parse_request_message(ndjson.framer.bytes(range)),
            };
            let request_id = self.new_request_id();
            match parsed {
                Ok(message @ Message::Request(_)) if at_cap => {
                    if let Some(Kind::Ndjson(ndjson)) =
                        self.connections.get_mut(&connection).map(|conn| &mut conn.kind)
                    {
                        ndjson.held.push_back((message, request_id, size));
                        ndjson.held_bytes += size;
                    }
                }
                Ok(message) => self.answer_line(connection, &key, message, &request_id, now),
                Err(failure) => {
                    let bytes = jsonrpc::write_error(failure.id.as_ref(), &failure.error, self.config.debug);
                    self.send_line(connection, bytes);
                    let mut finished = Finished::new(connection, request_id, now.instant);
                    finished.outcome = Err(failure.error);
                    self.log_finished(now, finished);
                }
            }
        }
    }

    /// Answers one message read from the connection, by the rules of its era.
    fn answer_line(
        &mut self,
        connection: ConnectionId,
        key: &SessionKey,
        message: Message,
        request_id: &std::sync::Arc<str>,
        now: Now,
    ) {
        let meta = match (self.ndjson_era(connection, &message), &message) {
            (Era::Modern, Message::Request(request)) => match modern::check_meta(request.params.as_ref()) {
                Ok(meta) => Some(meta),
                Err(error) => {
                    self.send_line(
                        connection,
                        jsonrpc::write_error(Some(&request.id), &error, self.config.debug),
                    );
                    let mut finished =
                        Finished::new(connection, std::sync::Arc::clone(request_id), now.instant);
                    finished.method = Some(request.method.as_str().into());
                    finished.outcome = Err(error);
                    return self.log_finished(now, finished);
                }
            },
            _ => None,
        };
        let (answer, mut finished, error) = self.dispatch_message(
            connection,
            key,
            message,
            Received {
                request_id,
                header_trace: None,
            },
            meta,
            now,
        );
        match answer {
            Answer::Respond(bytes) => {
                self.send_line(connection, bytes);
                if let Some(error) = error {
                    finished.outcome = Err(error);
                }
                self.log_finished(now, finished);
            }
            // A pipe's session is its own: nothing of it lives on another replica.
            Answer::Nothing | Answer::Unrouted | Answer::Forward(_) => self.log_finished(now, finished),
            // Logged when the call finishes.
            Answer::Started(_) => {}
            Answer::Listen(id, filter) => {
                match self.ndjson_listen(key, id, filter) {
                    Ok(ack) => self.send_line(connection, ack),
                    Err(bytes) => {
                        self.send_line(connection, bytes);
                        finished.outcome = Err(RpcError::new(ErrorCode::InvalidRequest, "listen refused"));
                    }
                }
                self.log_finished(now, finished);
            }
        }
    }

    /// The era of a message: the connection's, once its first request decided it.
    fn ndjson_era(&mut self, connection: ConnectionId, message: &Message) -> Era {
        let Some(Kind::Ndjson(ndjson)) = self.connections.get_mut(&connection).map(|conn| &mut conn.kind)
        else {
            return Era::Legacy;
        };
        if let Some(era) = ndjson.era {
            return era;
        }
        let Message::Request(request) = message else {
            return Era::Legacy;
        };
        let era = modern::era(None, Some(&request.method), request.params.as_ref());
        if modern::decides_era(&request.method) {
            ndjson.era = Some(era);
        }
        era
    }

    /// Adds a `subscriptions/listen` subscription to the pipe's session; returns the
    /// acknowledgement, or the error when the id is taken or too many listen already.
    fn ndjson_listen(&mut self, key: &SessionKey, id: Id, filter: Filter) -> Result<Vec<u8>, Vec<u8>> {
        let max = self.config.max_listens_per_connection;
        let debug = self.config.debug;
        let Some(session) = self.sessions.get_mut(key) else {
            return Err(Vec::new());
        };
        let refuse = |message: &str| {
            let error = RpcError::new(ErrorCode::InvalidRequest, message);
            jsonrpc::write_error(Some(&id), &error, debug)
        };
        if session.listens.iter().any(|listen| listen.id == id) || session.in_flight.contains_key(&id) {
            return Err(refuse("Invalid Request: id is already in use"));
        }
        if session.listens.len() >= max {
            return Err(refuse(
                "Invalid Request: too many subscriptions on this connection",
            ));
        }
        let ack = jsonrpc::write_notification(
            "notifications/subscriptions/acknowledged",
            Some(&filter.acknowledged(&id)),
        );
        session.listens.push(Listen { id, filter });
        Ok(ack)
    }

    /// Ends every subscription on the pipes with its result, for a graceful shutdown.
    pub(super) fn ndjson_shutdown(&mut self) {
        let keys = self.sessions.select(|session| !session.listens.is_empty());
        for key in keys {
            let SessionKey::Conn(connection) = key else {
                continue;
            };
            let listens = self
                .sessions
                .get_mut(&key)
                .map(|session| std::mem::take(&mut session.listens))
                .unwrap_or_default();
            if matches!(
                self.connections.get(&connection).map(|c| &c.kind),
                Some(Kind::Ndjson(_))
            ) {
                for listen in listens {
                    let mut result = modern::listen_ended(&listen.id);
                    modern::finish(&mut result, None, &self.config);
                    let bytes = jsonrpc::write_result(&listen.id, &result);
                    self.send_line(connection, bytes);
                }
            }
        }
    }
}
