//! The 2026-07-28 side of an `ops` pipe: the era its first request (other than a
//! `server/discover` probe) decided, what each request waiting for an answer expects, and the
//! checks of its lines by that revision's rules: on a 2026-07-28 pipe no request to the
//! client, announcements only to its listen subscriptions, logs only at a level asked for.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde_json::Value;

use super::super::peer::{Modern, Peer, SUBSCRIPTION_ID, level};

/// What one pipe's requests expect.
#[derive(Default)]
pub(super) struct Pipe {
    /// Whether the 2026-07-28 rules serve the pipe, once decided.
    era: Option<bool>,
    /// The requests waiting for an answer, oldest first, by id: what each expects as a
    /// 2026-07-28 request (`None` when the session revisions serve it, or it did not parse).
    waiting: BTreeMap<String, VecDeque<Option<Modern>>>,
    /// Ids that several requests waited under at once: which of them an answer is for is
    /// not known until none waits.
    ambiguous: BTreeSet<String>,
    /// The ids of its `subscriptions/listen` requests.
    listens: BTreeSet<String>,
    /// The least level of log notifications any of its requests asked for.
    least_log: Option<usize>,
}

impl Pipe {
    /// Notes a request read from the pipe (`key`: its id in normal form; `message`: `None`
    /// when it did not parse), deciding the pipe's era as the server does.
    pub(super) fn request(&mut self, key: &str, message: Option<&Value>, peer: &Peer) {
        let modern = message.and_then(|message| match self.era {
            Some(true) => Some(peer.expect_modern(message)),
            Some(false) => None,
            None => peer.modern(None, message),
        });
        if let Some(message) = message
            && self.era.is_none()
            && message["method"] != "server/discover"
        {
            self.era = Some(modern.is_some());
        }
        if let Some(modern) = &modern {
            if modern.listens() {
                self.listens.insert(key.to_owned());
            }
            if let Some(least) = modern.logs {
                self.least_log = Some(self.least_log.map_or(least, |known| known.min(least)));
            }
        }
        let waiting = self.waiting.entry(key.to_owned()).or_default();
        waiting.push_back(modern);
        if waiting.len() > 1 {
            self.ambiguous.insert(key.to_owned());
        }
    }

    /// Checks a message of the server that is no answer.
    pub(super) fn message(&self, message: &Value) {
        if self.era != Some(true) {
            return;
        }
        assert!(
            message.get("id").is_none(),
            "a request to a 2026-07-28 pipe: {message}"
        );
        let method = message["method"].as_str().unwrap_or_default();
        if method == "notifications/message" {
            let at = level(message["params"]["level"].as_str());
            assert!(
                at.zip(self.least_log).is_some_and(|(at, least)| at >= least),
                "a log notification below every level the pipe's requests asked for: {message}"
            );
        }
        let announces = matches!(
            method,
            "notifications/subscriptions/acknowledged"
                | "notifications/resources/updated"
                | "notifications/resources/list_changed"
                | "notifications/tools/list_changed"
                | "notifications/prompts/list_changed"
        );
        if announces {
            let tag = message["params"]["_meta"][SUBSCRIPTION_ID].to_string();
            assert!(
                self.listens.contains(&super::conn::id_key(&tag)),
                "an announcement to a 2026-07-28 pipe outside its subscriptions: {message}"
            );
        }
    }

    /// Checks an answer to the request of id `key`, if one of 2026-07-28 waits under it.
    pub(super) fn answer(&mut self, key: &str, message: &Value, peer: &mut Peer) {
        let Some(waiting) = self.waiting.get_mut(key) else {
            return;
        };
        let sure = !self.ambiguous.contains(key);
        let modern = waiting.pop_front().flatten();
        if waiting.is_empty() {
            self.waiting.remove(key);
            self.ambiguous.remove(key);
        }
        if let Some(modern) = modern {
            peer.modern_answer(&modern, None, message, sure);
        }
    }
}
