//! What the clients send back, picked from what they learned: answers to the server's
//! requests, and the `Last-Event-ID` of a stream to resume.

use serde_json::json;

use super::super::dictionary::UNKNOWN_ID;
use super::{Asked, Expect, Peer, Resume, Route, event_id};

/// A client's answer to a request of the server.
#[derive(Debug)]
pub(in crate::fuzz) struct Answer {
    /// The JSON-RPC response.
    pub(in crate::fuzz) body: String,
    /// The request it answers, `None` for an id no request has.
    pub(in crate::fuzz) id: Option<u64>,
    /// Where that request went.
    pub(in crate::fuzz) route: Option<Route>,
}

impl Peer {
    /// Returns a client's answer: to a request seen (the one `pick` says), or, when `how`
    /// says so or none was seen, to an id no request has. `how` picks a result that fits the
    /// request, a malformed one, or an error.
    pub(in crate::fuzz) fn answer(&self, pick: u8, how: u8) -> Answer {
        let seen: Vec<(&u64, &Asked)> = self.asked.iter().collect();
        if how % 8 == 7 || seen.is_empty() {
            let id = match pick % 4 {
                0 => json!(UNKNOWN_ID + u64::from(pick)),
                1 => json!(format!("x{pick}")),
                2 => json!(-1),
                _ => json!(0.5),
            };
            let body = json!({"jsonrpc": "2.0", "id": id, "result": {}}).to_string();
            return Answer {
                body,
                id: None,
                route: None,
            };
        }
        let (&id, asked) = seen[usize::from(pick) % seen.len()];
        let result = match (asked.method.as_str(), how >> 4) {
            (_, 0) => json!({"unexpected": true}),
            ("sampling/createMessage", _) => {
                json!({"role": "assistant", "content": {"type": "text", "text": "ok"}, "model": "fuzz"})
            }
            ("elicitation/create", pick) => {
                let action = ["accept", "decline", "cancel"][usize::from(pick) % 3];
                json!({"action": action, "content": {"name": "Ada", "ok": true}})
            }
            _ => json!({"roots": [{"uri": "file:///a", "name": "a"}, {"uri": "file:///b"}]}),
        };
        let message = if how & 8 == 0 {
            json!({"jsonrpc": "2.0", "id": id, "result": result})
        } else {
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": -1, "message": "no"}})
        };
        Answer {
            body: message.to_string(),
            id: Some(id),
            route: Some(asked.route.clone()),
        }
    }

    /// Returns the session and `Last-Event-ID` of a `GET` that resumes a stream (none, an
    /// event id seen with its own session or another, or a malformed one, as `how` says),
    /// and what it may get back.
    pub(in crate::fuzz) fn resume(&self, pick: u8, how: u8) -> (Option<&str>, Option<String>, Expect) {
        let (session, last) = self.pick_resume(pick, how);
        let resume = last.as_deref().map(|last| {
            let at = event_id(last);
            let seen = |keep: &dyn Fn(&str) -> bool| {
                self.events
                    .keys()
                    .any(|(owner, id)| Some(owner.as_str()) == session && keep(id))
            };
            Resume {
                at,
                given: seen(&|id| id == last),
                // Streams are numbered in order: one seen means every one before it existed.
                known: seen(&|id| {
                    event_id(id).is_some_and(|(stream, _)| at.is_some_and(|(named, _)| stream >= named))
                }),
            }
        });
        (session, last, Expect::Stream(resume))
    }

    fn pick_resume(&self, pick: u8, how: u8) -> (Option<&str>, Option<String>) {
        let pick = usize::from(pick);
        let session =
            |at: usize| (!self.sessions.is_empty()).then(|| self.sessions[at % self.sessions.len()].as_str());
        let seen = (!self.event_ids.is_empty()).then(|| &self.event_ids[pick % self.event_ids.len()]);
        match (how % 4, seen) {
            (1, Some((owner, id))) => (Some(owner.as_str()), Some(id.clone())),
            (2, Some((_, id))) => (session(pick + 1), Some(id.clone())),
            (3, _) | (1 | 2, None) => {
                let garbage = ["x", "0-0", "99-1", "1-", "4294967296-1", "0-18446744073709551615"];
                (session(pick), Some(garbage[pick % garbage.len()].to_owned()))
            }
            _ => (session(pick), None),
        }
    }
}
