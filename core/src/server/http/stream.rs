//! SSE streams: a `POST` whose handler sends messages before its result turns into one, and
//! `GET` opens the session's standalone stream (or resumes one after `Last-Event-ID`). In a
//! session, every event carries an id and is kept in the session's replay buffer, so that
//! only the session (and principal) that owns a stream can resume it.

use super::reply::{Reply, not_allowed, simple_error};
use super::{Ctx, Exchange, Server, Sse, StreamOf};
use crate::framing::http1::Head;
use crate::handler::CallId;
use crate::http::{media, response};
use crate::jsonrpc;
use crate::mcp::{self, ProtocolVersion};
use crate::server::ConnectionId;
use crate::server::record::Finished;
use crate::server::replay::{EventId, is_standalone};
use crate::server::sessions::SessionKey;
use crate::time::Now;

/// How long a client waits before it reconnects to a stream that ended (`retry:`).
const RETRY_MS: u64 = 1000;

impl Server {
    /// `GET /mcp`: opens the session's standalone stream, or replays a stream after the
    /// `Last-Event-ID` its client saw.
    pub(super) fn open_stream(
        &mut self,
        connection: ConnectionId,
        head: &Head,
        ctx: &Ctx,
        now: Now,
    ) -> Option<Reply> {
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
        let Some(session) = self.sessions.owned(&id, ctx.principal.as_deref()) else {
            return Some(simple_error(404, "Session not found"));
        };
        // An HTTP session always has its replay buffer.
        let Some(replay) = session.replay.as_deref_mut() else {
            return Some(simple_error(404, "Session not found"));
        };
        let standalone = replay.standalone();
        let last = head.header("last-event-id").and_then(EventId::parse);
        // The client resumes a stream this replica kept, or one another replica kept (its
        // events were read from the shared store); an id of neither opens a new stream.
        let (resume, elsewhere) = match (last, &ctx.replayed) {
            (Some(last), _) if replay.knows(last.stream) => (Some(last), None),
            (Some(last), Some(events)) => (Some(last), Some(events)),
            _ => (None, None),
        };
        let resumes_standalone = resume.is_none_or(|last| is_standalone(last.stream));
        let previous = session.stream.filter(|_| resumes_standalone);
        if previous.is_some() && resume.is_none() {
            return Some(simple_error(409, "Conflict: the session already has a stream"));
        }
        let events: Vec<(EventId, Vec<u8>)> = match (resume, elsewhere) {
            (Some(last), Some(stored)) => {
                let mut events: Vec<(EventId, Vec<u8>)> = stored
                    .iter()
                    .filter(|(id, _)| id.stream == last.stream && id.seq > last.seq)
                    .cloned()
                    .collect();
                if is_standalone(last.stream) {
                    // This replica heard the session's announcements too: what it kept that
                    // the store does not hold (yet: the replica that held the stream writes
                    // there after the fact) follows, so that nothing announced is lost.
                    let mut known: Vec<&[u8]> = stored
                        .iter()
                        .filter(|(id, _)| id.stream == last.stream)
                        .map(|(_, message)| message.as_slice())
                        .collect();
                    for (id, message) in replay.undelivered() {
                        match known.iter().position(|kept| *kept == message) {
                            Some(at) => {
                                known.swap_remove(at);
                            }
                            None => events.push((id, message.to_vec())),
                        }
                    }
                }
                events
            }
            (Some(last), None) => replay
                .after(last.stream, Some(last.seq))
                .into_iter()
                .map(|(id, message)| (id, message.to_vec()))
                .collect(),
            (None, _) => replay
                .undelivered()
                .into_iter()
                .map(|(id, message)| (id, message.to_vec()))
                .collect(),
        };
        let stream = if resumes_standalone {
            standalone
        } else {
            resume.map_or(standalone, |last| last.stream)
        };
        if resumes_standalone {
            if let Some(seq) = events.iter().map(|(id, _)| id.seq).max() {
                replay.follow(seq);
            }
            // What this replica kept for the stream meanwhile went out above, once.
            let delivered = if elsewhere.is_some() {
                replay.undelivered().last().map(|(id, _)| id.seq)
            } else {
                events.last().map(|(id, _)| id.seq)
            };
            if let Some(seq) = delivered {
                replay.mark_delivered(seq);
            }
            session.stream = Some(connection);
            session.held_stream = true;
        }
        if let Some(old) = previous {
            // The client came back on a new connection: the old one is left behind.
            self.end_stream(old, now);
        }
        let sse = Sse {
            chunked: ctx.minor >= 1,
            stream: Some(stream),
        };
        let mut head = response::Head::new(200);
        // The stream ends only with its connection, so say so: clients must not reuse it.
        self.common_headers(&mut head, ctx, true);
        let mut bytes = head.streaming("text/event-stream", sse.chunked);
        for (id, message) in &events {
            bytes.extend_from_slice(&sse_frame(sse, message, Some(*id)));
        }
        let mut finished = self.finished_for(connection, ctx, 200);
        finished.method = Some("stream".into());
        finished.session = Some(id.clone());
        self.log_finished(now, finished);
        if !resumes_standalone {
            // A request's stream is replayed, not resumed: what comes after goes on its own
            // connection.
            if sse.chunked {
                bytes.extend_from_slice(response::LAST_CHUNK);
            }
            self.transmit(connection, bytes);
            self.end_exchange(connection, true, now);
            return None;
        }
        self.transmit(connection, bytes);
        if let Some(http) = self.http_mut(connection) {
            http.exchange = Exchange::Stream {
                sse,
                of: StreamOf::Session(id),
            };
        }
        None
    }

    /// Sends a message that belongs to no request on the session's standalone stream, and
    /// keeps it for replay (or for the next stream, while none is open).
    pub(in crate::server) fn standalone_message(&mut self, session: &str, message: &[u8]) {
        let Some(state) = self.sessions.get_mut(&SessionKey::Http(session.to_owned())) else {
            return;
        };
        let Some(replay) = state.replay.as_deref_mut() else {
            return;
        };
        let id = replay.push(replay.standalone(), message);
        // Replicas that never held the session's stream keep its events to themselves: the
        // one that held it last keeps them for every replica.
        if state.held_stream {
            self.share_event(session, id, message);
        }
        let Some(state) = self.sessions.get_mut(&SessionKey::Http(session.to_owned())) else {
            return;
        };
        let Some(replay) = state.replay.as_deref_mut() else {
            return;
        };
        let Some(connection) = state.stream else {
            return;
        };
        replay.mark_delivered(id.seq);
        let sse = match self.http_mut(connection).map(|http| &http.exchange) {
            Some(Exchange::Stream { sse, .. }) => *sse,
            _ => return,
        };
        self.transmit(connection, sse_frame(sse, message, Some(id)));
    }

    /// Sends a message a running call emits, switching its response to SSE first.
    pub(in crate::server) fn http_stream_message(
        &mut self,
        connection: ConnectionId,
        session: &SessionKey,
        call: CallId,
        message: Vec<u8>,
    ) {
        let mut out = Vec::new();
        let Some(sse) = self.start_sse(connection, session, call, &mut out) else {
            return;
        };
        let id = self.keep(session, sse, &message);
        out.extend_from_slice(&sse_frame(sse, &message, id));
        self.transmit(connection, out);
    }

    /// Turns the call's pending response into an SSE stream if it is not one yet (writing
    /// its head into `out`); returns the stream.
    fn start_sse(
        &mut self,
        connection: ConnectionId,
        session: &SessionKey,
        call: CallId,
        out: &mut Vec<u8>,
    ) -> Option<Sse> {
        let (ctx, sse) = match &self.http_mut(connection)?.exchange {
            Exchange::Call {
                ctx,
                call: current,
                sse,
            } if *current == call => (ctx.clone(), *sse),
            _ => return None,
        };
        if let Some(sse) = sse {
            return Some(sse);
        }
        let version = self
            .sessions
            .get(session)
            .and_then(|state| state.mcp.version())
            .unwrap_or(ctx.version);
        let stream = self
            .sessions
            .get_mut(session)
            .and_then(|state| state.replay.as_deref_mut())
            .map(|replay| replay.open_stream());
        let sse = Sse {
            chunked: ctx.minor >= 1,
            stream,
        };
        let mut head = response::Head::new(200);
        self.common_headers(&mut head, &ctx, !sse.chunked || !ctx.keep_alive);
        out.extend_from_slice(&head.streaming("text/event-stream", sse.chunked));
        if version >= ProtocolVersion::V2025_11_25
            && let Some(stream) = stream
            && let Some(replay) = self
                .sessions
                .get_mut(session)
                .and_then(|state| state.replay.as_deref_mut())
        {
            // The priming event: a client whose stream breaks can resume from here.
            let id = replay.mark(stream);
            out.extend_from_slice(&response::chunk(
                &response::sse_priming(&id.to_text(), RETRY_MS),
                sse.chunked,
            ));
        }
        if let Some(Exchange::Call { sse: slot, .. }) =
            self.http_mut(connection).map(|http| &mut http.exchange)
        {
            *slot = Some(sse);
        }
        Some(sse)
    }

    /// Keeps a message of a session's stream for replay; returns its event id.
    fn keep(&mut self, session: &SessionKey, sse: Sse, message: &[u8]) -> Option<EventId> {
        let stream = sse.stream?;
        let replay = self.sessions.get_mut(session)?.replay.as_deref_mut()?;
        let id = replay.push(stream, message);
        if let SessionKey::Http(session) = session {
            self.share_event(&session.clone(), id, message);
        }
        Some(id)
    }

    /// Sends the response of the call a connection was waiting on.
    pub(in crate::server) fn http_call_finished(
        &mut self,
        connection: ConnectionId,
        session: &SessionKey,
        (status, bytes): (u16, Vec<u8>),
        mut finished: Finished,
        now: Now,
    ) {
        let Some(http) = self.http_mut(connection) else {
            return self.log_finished(now, finished);
        };
        let Exchange::Call { ctx, sse, .. } = std::mem::replace(&mut http.exchange, Exchange::Idle) else {
            return self.log_finished(now, finished);
        };
        let close = match sse {
            Some(sse) => {
                let id = self.keep(session, sse, &bytes);
                let mut out = sse_frame(sse, &bytes, id);
                if sse.chunked {
                    out.extend_from_slice(response::LAST_CHUNK);
                }
                self.transmit(connection, out);
                !sse.chunked || !ctx.keep_alive
            }
            None => {
                // Timed from the request head, as every other reply is.
                finished.started = Some(ctx.started);
                self.write_reply(connection, &ctx, &super::reply::json_reply(status, bytes))
            }
        };
        let Ctx {
            line,
            session,
            principal,
            ..
        } = *ctx;
        finished.http_status = Some(if sse.is_some() { 200 } else { status });
        finished.http = Some(line);
        finished.session = session;
        finished.principal = principal;
        self.log_finished(now, finished);
        self.end_exchange(connection, close, now);
        self.release_request_session(connection);
        self.http_drive(connection, now);
    }

    /// Ends the request of a call the client cancelled: 202 with no result, or the end of
    /// its stream.
    pub(in crate::server) fn http_call_cancelled(&mut self, connection: ConnectionId, now: Now) {
        let Some(http) = self.http_mut(connection) else {
            return;
        };
        let Exchange::Call { ctx, sse, .. } = std::mem::replace(&mut http.exchange, Exchange::Idle) else {
            return;
        };
        match sse {
            Some(sse) => {
                if sse.chunked {
                    self.transmit(connection, response::LAST_CHUNK.to_vec());
                }
                self.end_exchange(connection, !sse.chunked || !ctx.keep_alive, now);
            }
            None => {
                let mut head = response::Head::new(202);
                self.common_headers(&mut head, &ctx, !ctx.keep_alive);
                self.transmit(connection, head.body(None, b""));
                self.end_exchange(connection, !ctx.keep_alive, now);
            }
        }
        self.http_drive(connection, now);
    }

    /// Ends a `GET` stream cleanly and closes its connection.
    pub(in crate::server) fn end_stream(&mut self, connection: ConnectionId, now: Now) {
        let Some(http) = self.http_mut(connection) else {
            return;
        };
        if let Exchange::Stream { sse, of } = std::mem::replace(&mut http.exchange, Exchange::Idle) {
            if let StreamOf::Listen(id) = &of {
                // A subscription ended by the server says so with its result.
                let mut result = mcp::modern::listen_ended(id);
                mcp::modern::finish(&mut result, None, &self.config);
                let bytes = jsonrpc::write_result(id, &result);
                self.transmit(connection, sse_frame(sse, &bytes, None));
            }
            if sse.chunked {
                self.transmit(connection, response::LAST_CHUNK.to_vec());
            }
            if let StreamOf::Session(session) = &of {
                self.stream_closed(session, connection);
            }
        }
        self.close(connection, now);
    }

    /// Notes that `connection` no longer carries the session's standalone stream.
    pub(in crate::server) fn stream_closed(&mut self, session: &str, connection: ConnectionId) {
        if let Some(state) = self.sessions.get_mut(&SessionKey::Http(session.to_owned()))
            && state.stream == Some(connection)
        {
            state.stream = None;
        }
    }
}

/// Frames one message as an SSE event (with its id), in a chunk when the stream is chunked.
pub(super) fn sse_frame(sse: Sse, message: &[u8], id: Option<EventId>) -> Vec<u8> {
    let id = id.map(EventId::to_text);
    response::chunk(&response::sse_event(message, id.as_deref()), sse.chunked)
}
