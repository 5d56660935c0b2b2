//! NDJSON connections (stdio): one JSON-RPC message per line, answered in completion order.
//! The connection is one session; requests to the client and announcements share its pipe.

use super::connections::Kind;
use super::dispatch::Answer;
use super::record::Finished;
use super::replay::Replay;
use super::sessions::{SessionKey, SessionState};
use super::{ConnectionId, Server};
use crate::error::{ErrorCode, RpcError};
use crate::framing::ndjson::Line;
use crate::jsonrpc::{self, ParseFailure};
use crate::mcp::Session;
use crate::time::Now;

impl Server {
    /// Opens the session of a new NDJSON connection.
    pub(super) fn open_ndjson(&mut self, connection: ConnectionId, now: Now) {
        // Nothing is replayed on a pipe: the buffer keeps nothing.
        let state = SessionState::new(Session::new(), now.instant, Replay::new(0, 0));
        self.sessions.insert_conn(connection, state);
    }

    pub(super) fn ndjson_input(&mut self, connection: ConnectionId, data: &[u8], now: Now) {
        if let Some(Kind::Ndjson(framer)) = self.connections.get_mut(&connection).map(|conn| &mut conn.kind) {
            framer.push(data);
        }
        self.drain_lines(connection, now);
    }

    /// Handles every complete line while the connection is not paused; at end of input,
    /// the unterminated tail too, and closes the connection once nothing is pending.
    pub(super) fn drain_lines(&mut self, connection: ConnectionId, now: Now) {
        let key = SessionKey::Conn(connection);
        loop {
            let running = self
                .sessions
                .get(&key)
                .map_or(0, |session| session.in_flight.len());
            let Some(conn) = self.connections.get_mut(&connection) else {
                return;
            };
            let Kind::Ndjson(framer) = &mut conn.kind else {
                return;
            };
            if running >= self.config.max_calls_per_connection {
                return;
            }
            let line = match framer.next_line() {
                Some(line) => line,
                None if conn.eof && conn.parked.is_none() => match framer.finish() {
                    Some(line) => line,
                    None => {
                        if running == 0 {
                            self.close(connection, now);
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
                Line::Message(range) => jsonrpc::parse_message(framer.bytes(range)),
            };
            let request_id = self.new_request_id();
            let message = match parsed {
                Ok(message) => message,
                Err(failure) => {
                    let bytes = jsonrpc::write_error(failure.id.as_ref(), &failure.error, self.config.debug);
                    self.send_line(connection, bytes);
                    let mut finished = Finished::new(connection, request_id, now.instant);
                    finished.outcome = Err(failure.error);
                    self.log_finished(now, finished);
                    continue;
                }
            };
            let (answer, mut finished, error) =
                self.dispatch_message(connection, &key, message, &request_id, now);
            match answer {
                Answer::Respond(bytes) => {
                    self.send_line(connection, bytes);
                    if let Some(error) = error {
                        finished.outcome = Err(error);
                    }
                    self.log_finished(now, finished);
                }
                Answer::Nothing | Answer::Unrouted => self.log_finished(now, finished),
                // Logged when the call finishes.
                Answer::Started(_) => {}
            }
        }
    }
}
