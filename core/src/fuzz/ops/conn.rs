//! One connection as the `ops` host sees it: what was sent and written, and the checks of an
//! NDJSON connection's lines (those of the 2026-07-28 revision in `pipe`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::super::peer::{HttpLog, Peer};
use super::super::wire;
use super::pipe::Pipe;
use crate::jsonrpc::{self, ParseFailure};
use crate::{ConnectionId, Framing};

/// One connection as the adapter sees it.
pub(super) struct Conn {
    pub(super) framing: Framing,
    /// What an HTTP connection sent and was written.
    pub(super) http: HttpLog,
    /// What an NDJSON connection was written.
    output: Vec<u8>,
    /// How much of an NDJSON connection's output was checked, line by line.
    checked: usize,
    /// The unterminated tail of what was sent on an NDJSON connection.
    tail: Vec<u8>,
    /// How often each request id was sent, and answered (NDJSON only).
    requests: BTreeMap<String, usize>,
    answers: BTreeMap<String, usize>,
    /// The URIs an NDJSON connection asked to subscribe to (or to listen for).
    subscribed: BTreeSet<String>,
    /// What its requests expect by the rules of the pipe's era.
    pipe: Pipe,
    pub(super) awaiting_resume: bool,
    pub(super) eof: bool,
    pub(super) closed: bool,
    pub(super) broken: bool,
}

impl Conn {
    pub(super) fn new(framing: Framing) -> Self {
        Self {
            framing,
            http: HttpLog::default(),
            output: Vec::new(),
            checked: 0,
            tail: Vec::new(),
            requests: BTreeMap::new(),
            answers: BTreeMap::new(),
            subscribed: BTreeSet::new(),
            pipe: Pipe::default(),
            awaiting_resume: false,
            eof: false,
            closed: false,
            broken: false,
        }
    }

    /// Notes the ids of what was sent that may be answered, line by line.
    pub(super) fn note_input(&mut self, bytes: &[u8], peer: &Peer) {
        if self.framing == Framing::Http {
            return;
        }
        self.tail.extend_from_slice(bytes);
        while let Some(end) = self.tail.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.tail.drain(..=end).collect();
            self.note_line(&line, peer);
        }
    }

    pub(super) fn note_eof(&mut self, peer: &Peer) {
        let tail = std::mem::take(&mut self.tail);
        self.note_line(&tail, peer);
    }

    fn note_line(&mut self, line: &[u8], peer: &Peer) {
        // Requests get one answer, and so do messages refused with a readable id;
        // notifications and responses from the client get none.
        let (id, parsed) = match jsonrpc::parse_message(line) {
            Ok(jsonrpc::Message::Request(request)) => {
                let uri = |p: &serde_json::Value| p.get("uri")?.as_str().map(str::to_owned);
                let listened = |p: &serde_json::Value| {
                    let uris = p.get("notifications")?.get("resourceSubscriptions")?.as_array()?;
                    Some(
                        uris.iter()
                            .filter_map(|uri| uri.as_str().map(str::to_owned))
                            .collect(),
                    )
                };
                let params = request.params.as_ref();
                let uris: Vec<String> = match request.method.as_str() {
                    "resources/subscribe" => params.and_then(uri).into_iter().collect(),
                    "subscriptions/listen" => params.and_then(listened).unwrap_or_default(),
                    _ => Vec::new(),
                };
                self.subscribed.extend(uris);
                (request.id, serde_json::from_slice::<Value>(line).ok())
            }
            Ok(_) | Err(ParseFailure { id: None, .. }) => return,
            Err(ParseFailure { id: Some(id), .. }) => (id, None),
        };
        let key = id_key(id.as_json());
        self.pipe.request(&key, parsed.as_ref(), peer);
        *self.requests.entry(key).or_default() += 1;
    }

    /// Takes what was written to an NDJSON connection: checks each new line, that no id is
    /// answered more often than it was sent, and that resource updates reach only
    /// connections that subscribed.
    pub(super) fn lines(&mut self, conn: ConnectionId, data: &[u8], peer: &mut Peer) {
        self.output.extend_from_slice(data);
        while let Some(end) = self.output[self.checked..].iter().position(|&b| b == b'\n') {
            let line = &self.output[self.checked..self.checked + end];
            self.checked += end + 1;
            let message = wire::check_line(line);
            if let Some(method) = message.get("method") {
                if method == "notifications/resources/updated" {
                    let uri = message["params"]["uri"].as_str().unwrap_or_default();
                    assert!(
                        self.subscribed.contains(uri),
                        "an update of {uri} to a connection that never subscribed to it"
                    );
                }
                self.pipe.message(&message);
                peer.line(conn, &message);
                continue;
            }
            let id = message.get("id").cloned().unwrap_or(Value::Null);
            if id.is_null() {
                continue;
            }
            let key = id_key(&id.to_string());
            self.pipe.answer(&key, &message, peer);
            let answers = self.answers.entry(key.clone()).or_default();
            *answers += 1;
            let sent = self.requests.get(&key).copied().unwrap_or(0);
            assert!(
                *answers <= sent,
                "id {key} answered {answers} times, sent as a request {sent} times: {message}"
            );
        }
    }
}

/// Returns an id's JSON text in one normal form, whatever escapes the client used.
pub(super) fn id_key(json: &str) -> String {
    serde_json::from_str::<Value>(json).map_or_else(|_| json.to_owned(), |id| id.to_string())
}
