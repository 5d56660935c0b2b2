//! The client side shared by the `ops` and `shared` targets: what each HTTP connection sent,
//! its output read back response by response, and what the clients learned from the output
//! (sessions, the server's requests to them, SSE event ids), with the checks that need it:
//! - the server's requests go to the session of the call that asked: on HTTP inside the
//!   response to a `POST` that may start a handler (or a `GET` replaying one), in a session;
//! - an answer to one of them is taken (202) once at most, and only from the session it went
//!   to; the server never answers a client's answer or notification with a JSON-RPC response;
//! - a stream resumed with `Last-Event-ID` carries only later events of the stream named,
//!   and a replayed event carries what it carried the first time;
//! - what answers a 2026-07-28 request passes the checks of `modern`, and names no session.

mod modern;
mod picks;

use std::collections::BTreeMap;

use serde_json::Value;

use super::wire::{self, SseEvent};
use crate::ConnectionId;

pub(super) use modern::{
    CLIENT_CAPABILITIES, LOG_LEVEL, Modern, PROTOCOL_VERSION, Round, SUBSCRIPTION_ID, VERSION, level,
    modern_era,
};

/// How many event ids are kept for resuming streams.
const MAX_EVENT_IDS: usize = 32;

/// Where a request of the server to a client went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Route {
    /// An NDJSON connection (its own session).
    Conn(ConnectionId),
    /// An HTTP session, on one of its streams.
    Session(String),
    /// An HTTP connection that was sent raw bytes: which request a response answers is not
    /// known there.
    Unknown,
}

/// A request the server sent to a client.
#[derive(Debug)]
pub(super) struct Asked {
    pub(super) method: String,
    pub(super) route: Route,
    /// An answer to it was taken (202).
    accepted: bool,
}

/// What an HTTP request was, for checking its response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Sent {
    /// The `Mcp-Session-Id` it named.
    pub(super) session: Option<String>,
    pub(super) expect: Expect,
    /// What it expects back as a 2026-07-28 message; `None` when the session revisions
    /// serve it.
    pub(super) modern: Option<Modern>,
}

/// What a request may get back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Expect {
    /// A message that may start a handler: its response may be an SSE stream carrying the
    /// handler's messages and its requests to the client.
    Call,
    /// A notification: 202 or an error, never a JSON-RPC answer.
    Notification,
    /// The client's answer to a request of the server, by id: 202 only when a request of
    /// that id waits in the session (`None`: an id no request has), never a JSON-RPC answer.
    Answer(Option<u64>),
    /// `GET /mcp`, resuming a stream if it says so.
    Stream(Option<Resume>),
    /// Anything else.
    Other,
}

/// What a `GET /mcp` with `Last-Event-ID` may get back, as the client knew when it asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Resume {
    /// The stream and the place in it the id names, if it parses as the server parses it.
    at: Option<(u32, u64)>,
    /// The server gave out that id in the session, so what follows comes after it.
    given: bool,
    /// The session had the stream named.
    known: bool,
}

/// One HTTP connection's requests and output, read back as it arrives.
#[derive(Debug, Default)]
pub(super) struct HttpLog {
    sent: Vec<Sent>,
    /// Raw bytes were sent: the requests behind the responses are not known.
    raw: bool,
    pub(super) output: Vec<u8>,
    /// Bytes of output in whole responses.
    parsed: usize,
    /// Whole final (not 1xx) responses.
    finals: usize,
    /// Events of the response under way already seen.
    open_events: usize,
}

impl HttpLog {
    /// Notes a request from the dictionary, sent whole.
    pub(super) fn sent(&mut self, sent: Sent) {
        self.sent.push(sent);
    }

    /// Notes raw bytes sent.
    pub(super) fn raw(&mut self) {
        self.raw = true;
    }
}

/// What the clients know.
#[derive(Debug, Default)]
pub(super) struct Peer {
    /// Session ids announced in `Mcp-Session-Id`.
    pub(super) sessions: Vec<String>,
    /// The server's requests to clients, by id.
    pub(super) asked: BTreeMap<u64, Asked>,
    /// Event ids seen, with their session, for resuming streams.
    event_ids: Vec<(String, String)>,
    /// What each event of a session carried, by its id.
    events: BTreeMap<(String, String), String>,
    /// The server's requests seen since the last `take_fresh`, with their connection.
    fresh: Vec<(u64, ConnectionId)>,
    /// The latest rounds of 2026-07-28 calls that asked the client something.
    pub(super) rounds: Vec<Round>,
    /// Every `requestState` the server gave out.
    issued: modern::Issued,
}

impl Peer {
    /// Takes the output written to an HTTP connection: checks its framing, then each
    /// response and SSE event as it becomes whole.
    pub(super) fn http(&mut self, conn: ConnectionId, log: &mut HttpLog, data: &[u8]) -> wire::HttpOutput {
        log.output.extend_from_slice(data);
        let framing = wire::check_http(&log.output);
        for id in wire::session_ids(data) {
            if !self.sessions.contains(&id) {
                self.sessions.push(id);
            }
        }
        while let Some(response) = wire::read_response(&log.output[log.parsed..]) {
            let interim = response.status < 200;
            let sent = (!log.raw && !interim)
                .then(|| log.sent.get(log.finals).cloned())
                .flatten();
            let seen = self.response(conn, &response, sent.as_ref(), log.open_events);
            let Some(len) = response.len else {
                log.open_events = seen;
                break;
            };
            log.parsed += len;
            log.finals += usize::from(!interim);
            log.open_events = 0;
        }
        framing
    }

    /// Takes one JSON-RPC line written to an NDJSON connection.
    pub(super) fn line(&mut self, conn: ConnectionId, message: &Value) {
        self.message(conn, message, Route::Conn(conn));
    }

    /// Returns the server's requests seen since the last call, with their connection.
    pub(super) fn take_fresh(&mut self) -> Vec<(u64, ConnectionId)> {
        std::mem::take(&mut self.fresh)
    }

    /// Checks one response as far as it arrived; returns how many SSE events it has.
    fn response(
        &mut self,
        conn: ConnectionId,
        response: &wire::Response,
        sent: Option<&Sent>,
        seen: usize,
    ) -> usize {
        let modern = sent.and_then(|sent| sent.modern.as_ref());
        assert!(
            modern.is_none() || !response.session,
            "a session for a 2026-07-28 message ({sent:?})"
        );
        if response.sse {
            if let Some(sent) = sent {
                assert!(
                    matches!(sent.expect, Expect::Call | Expect::Stream(_)),
                    "an SSE stream in answer to {sent:?}"
                );
            }
            let events = wire::sse_events(&response.body);
            if let Some(sent) = sent {
                self.check_stream(&events, sent);
            }
            for event in events.iter().skip(seen) {
                self.event(conn, event, sent);
            }
            return events.len();
        }
        if let (Some(sent), Some(_)) = (sent, response.len) {
            self.reply(response, sent);
            if let (Some(modern), Ok(message)) = (modern, serde_json::from_slice::<Value>(&response.body)) {
                self.modern_answer(modern, Some(response.status), &message, true);
            }
        }
        0
    }

    /// Checks the whole reply to a notification or an answer.
    fn reply(&mut self, response: &wire::Response, sent: &Sent) {
        let answer = match sent.expect {
            Expect::Notification => None,
            Expect::Answer(id) => Some(id),
            _ => return,
        };
        let body = String::from_utf8_lossy(&response.body);
        assert_ne!(
            response.status, 200,
            "a JSON-RPC answer to a message that wants none ({sent:?}): {body}"
        );
        if let Ok(message) = serde_json::from_str::<Value>(&body) {
            assert!(
                message.get("id").is_none_or(Value::is_null),
                "an error naming an id, in reply to a message that is no request: {message}"
            );
        }
        if response.status != 202 {
            return;
        }
        assert!(body.is_empty(), "202 with a body: {body}");
        let Some(id) = answer else { return };
        let id = id.unwrap_or_else(|| panic!("an answer to an id no request has was taken: {sent:?}"));
        let asked = self
            .asked
            .get_mut(&id)
            .unwrap_or_else(|| panic!("an answer to request {id}, never seen, was taken"));
        match &asked.route {
            Route::Session(session) => assert_eq!(
                Some(session),
                sent.session.as_ref(),
                "the answer to request {id} was taken from another session"
            ),
            Route::Conn(conn) => panic!("request {id} went to {conn:?}, its answer was taken over HTTP"),
            Route::Unknown => {}
        }
        assert!(!asked.accepted, "two answers to request {id} were taken");
        asked.accepted = true;
    }

    /// Checks the event ids of one SSE response: one stream; on a resumed stream, only
    /// events after the one named (or a fresh standalone stream, when the session never had
    /// the stream named).
    fn check_stream(&self, events: &[SseEvent], sent: &Sent) {
        let ids: Vec<(u32, u64)> = events
            .iter()
            .filter_map(|event| event.id.as_deref().and_then(event_id))
            .collect();
        let Some(&(stream, _)) = ids.first() else {
            return;
        };
        assert!(
            ids.iter().all(|(other, _)| *other == stream),
            "events of several streams in one response: {ids:?}"
        );
        match &sent.expect {
            Expect::Call => assert_ne!(stream, 0, "a request's stream numbered as the standalone one"),
            Expect::Stream(resume) => {
                let at = resume.as_ref().and_then(|resume| resume.at);
                match (at, resume) {
                    // Only an id the server gave out bounds what follows (a made-up one may
                    // name a place the stream has not reached).
                    (Some((named, after)), Some(resume)) if named == stream => assert!(
                        !resume.given || ids.iter().all(|(_, seq)| *seq > after),
                        "a stream resumed after {after} replays {ids:?}"
                    ),
                    (Some((named, _)), Some(resume)) => assert!(
                        stream == 0 && !resume.known,
                        "a GET resuming stream {named} answered with stream {stream} ({sent:?})"
                    ),
                    _ => assert_eq!(stream, 0, "a GET answered with stream {stream} ({sent:?})"),
                }
            }
            _ => {}
        }
    }

    fn event(&mut self, conn: ConnectionId, event: &SseEvent, sent: Option<&Sent>) {
        let session = sent.and_then(|sent| sent.session.clone());
        if let (Some(session), Some(id)) = (&session, &event.id) {
            let key = (session.clone(), id.clone());
            match self.events.get(&key) {
                Some(data) => assert_eq!(
                    data, &event.data,
                    "event {id} of session {session} replayed with other data"
                ),
                None => {
                    self.events.insert(key, event.data.clone());
                    if self.event_ids.len() >= MAX_EVENT_IDS {
                        self.event_ids.remove(0);
                    }
                    self.event_ids.push((session.clone(), id.clone()));
                }
            }
        }
        if event.data.is_empty() {
            // A priming event: an id to resume from, no message.
            return;
        }
        let message = wire::check_line(event.data.as_bytes());
        if let Some(modern) = sent.and_then(|sent| sent.modern.as_ref()) {
            self.modern_answer(modern, Some(200), &message, true);
        }
        let route = match sent {
            None => Route::Unknown,
            Some(Sent {
                session: Some(session),
                ..
            }) => Route::Session(session.clone()),
            Some(sent) => {
                assert!(
                    message.get("method").is_none() || message.get("id").is_none(),
                    "a request to a client outside any session ({sent:?}): {message}"
                );
                Route::Unknown
            }
        };
        self.message(conn, &message, route);
    }

    /// Notes a request of the server to a client, and checks that every sighting of it
    /// agrees on where it went.
    fn message(&mut self, conn: ConnectionId, message: &Value, route: Route) {
        let (Some(method), Some(id)) = (message.get("method"), message.get("id")) else {
            return;
        };
        let id = id
            .as_u64()
            .unwrap_or_else(|| panic!("the server's request ids are integers: {message}"));
        let method = method.as_str().unwrap_or_default().to_owned();
        match self.asked.get_mut(&id) {
            Some(asked) if asked.route == Route::Unknown => asked.route = route,
            Some(asked) => assert!(
                route == Route::Unknown || route == asked.route,
                "request {id} went to {:?} and to {route:?}",
                asked.route
            ),
            None => {
                let asked = Asked {
                    method,
                    route,
                    accepted: false,
                };
                self.asked.insert(id, asked);
            }
        }
        self.fresh.push((id, conn));
    }
}

/// Parses an event id as the server does: `<stream>-<seq>`.
fn event_id(text: &str) -> Option<(u32, u64)> {
    let (stream, seq) = text.trim().split_once('-')?;
    Some((stream.parse().ok()?, seq.parse().ok()?))
}
