//! What replicas share beyond rate limits, through the store: legacy sessions (stored at
//! `initialize`, loaded by a replica that meets one first, saved when they change, renewed
//! while used, closed everywhere), and the bulletins replicas send each other on the store's
//! channels: a session's new state or its end, an announcement, and a client's answer to a
//! request another replica made.
//!
//! Every replica listens on two channels: `all`, and its own, named after the tag it puts in
//! the high bits of the ids of its requests to clients, so that whichever replica receives a
//! client's answer knows where it goes.

use serde::{Deserialize, Serialize};

use super::Server;
use super::sessions::{SessionKey, SessionState};
use super::store::Waiter;
use super::timers::Timer;
use crate::handler::Notice;
use crate::jsonrpc::{self, Message, Response};
use crate::mcp::Session;
use crate::server::replay::{EventId, Replay};
use crate::store::{SessionWrite, StoreOp};
use crate::time::Now;

/// The channel every replica listens on.
const ALL: &str = "all";

/// A message from one replica to the others.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
enum Bulletin {
    /// A session's state changed (its log level, subscriptions, `initialized`).
    Changed {
        from: u32,
        session: String,
        record: String,
    },
    /// A session ended (`DELETE`).
    Revoked { from: u32, session: String },
    /// A handler or the embedder announced a change.
    Notice { from: u32, notice: SharedNotice },
    /// A client's answer to a request the replica of the channel made.
    Answer {
        session: String,
        principal: Option<String>,
        response: String,
    },
}

/// A [`Notice`] as replicas send it.
#[derive(Serialize, Deserialize)]
#[serde(tag = "is", rename_all = "kebab-case")]
enum SharedNotice {
    ResourceUpdated { uri: String },
    ResourcesChanged,
    ToolsChanged,
    PromptsChanged,
}

impl From<&Notice> for SharedNotice {
    fn from(notice: &Notice) -> Self {
        match notice {
            Notice::ResourceUpdated(uri) => Self::ResourceUpdated { uri: uri.clone() },
            Notice::ResourcesChanged => Self::ResourcesChanged,
            Notice::ToolsChanged => Self::ToolsChanged,
            Notice::PromptsChanged => Self::PromptsChanged,
        }
    }
}

impl From<SharedNotice> for Notice {
    fn from(notice: SharedNotice) -> Self {
        match notice {
            SharedNotice::ResourceUpdated { uri } => Self::ResourceUpdated(uri),
            SharedNotice::ResourcesChanged => Self::ResourcesChanged,
            SharedNotice::ToolsChanged => Self::ToolsChanged,
            SharedNotice::PromptsChanged => Self::PromptsChanged,
        }
    }
}

/// Returns the channel of the replica whose tag is `tag`.
fn replica_channel(tag: u32) -> String {
    format!("replica:{tag}")
}

impl Server {
    /// Returns the channels this replica listens on, when it shares a store.
    pub(super) fn channels(&self) -> Vec<String> {
        if !self.config.store.is_shared() {
            return Vec::new();
        }
        vec![ALL.to_owned(), replica_channel(self.replica)]
    }

    /// Takes a bulletin another replica (or this one) published; anything else is ignored.
    pub(super) fn bulletin(&mut self, message: &[u8], now: Now) {
        let Ok(bulletin) = serde_json::from_slice::<Bulletin>(message) else {
            return;
        };
        match bulletin {
            Bulletin::Changed { from, .. }
            | Bulletin::Revoked { from, .. }
            | Bulletin::Notice { from, .. }
                if from == self.replica => {}
            Bulletin::Changed { session, record, .. } => {
                let key = SessionKey::Http(session);
                if let (Some(state), Some((newer, _))) =
                    (self.sessions.get_mut(&key), Session::from_record(&record))
                {
                    state.mcp.update_from(newer);
                }
            }
            Bulletin::Revoked { session, .. } => {
                let key = SessionKey::Http(session);
                if self.sessions.contains(&key) {
                    self.end_session(&key, now);
                }
            }
            Bulletin::Notice { notice, .. } => self.broadcast(&notice.into()),
            Bulletin::Answer {
                session,
                principal,
                response,
            } => {
                if let Ok(Message::Response(response)) = jsonrpc::parse_message(response.as_bytes()) {
                    let key = SessionKey::Http(session);
                    let _ = self.route_answer(&key, principal.as_deref(), response);
                }
            }
        }
    }

    /// Announces `notice` here and, through the store, on every other replica.
    pub(super) fn announce(&mut self, notice: &Notice, now: Now) {
        self.broadcast(notice);
        let bulletin = Bulletin::Notice {
            from: self.replica,
            notice: notice.into(),
        };
        self.publish(ALL.to_owned(), &bulletin, Waiter::Ignore, now);
    }

    /// Returns whether a client's answer with this id answers a request of another replica.
    pub(super) fn is_foreign_request(&self, id: &crate::jsonrpc::Id) -> bool {
        let tag = id.as_u64().map_or(0, |id| id >> 32);
        self.config.store.is_shared() && tag != 0 && tag != u64::from(self.replica)
    }

    /// Returns whether a request naming session `id` must first load it from the store.
    pub(super) fn must_load_session(&self, id: &str) -> bool {
        self.store.is_asked()
            && !self.config.stateless
            && !self.sessions.contains(&SessionKey::Http(id.to_owned()))
    }

    /// Asks the store for session `id`, for `waiter`.
    pub(super) fn load_session(&mut self, id: &str, waiter: Waiter, now: Now) {
        let op = StoreOp::LoadSession {
            id: id.to_owned(),
            ttl: self.shared_session_ttl(),
        };
        self.ask_store(op, waiter, now);
    }

    /// Serves session `id` here from the record another replica stored.
    pub(super) fn install_session(&mut self, id: String, record: &str, now: Now) {
        let Some((session, owner)) = Session::from_record(record) else {
            return;
        };
        let replay = self.new_replay();
        let mut state = SessionState::new(session, now.instant, Some(Box::new(replay)));
        state.owner = owner;
        state.renewed = Some(now.instant);
        let expiry = now.instant + self.config.session_idle_timeout;
        state.expiry = Some(expiry);
        if self
            .sessions
            .insert_http(id.clone(), state, self.config.max_sessions)
            .is_ok()
        {
            self.timers.arm(expiry, Timer::Session(id));
        }
    }

    /// Returns an empty replay buffer for a session's streams: when sessions are shared,
    /// numbered from this replica's tag (an event id names the replica that holds it) and
    /// from random points (a buffer made again for the same session reuses no id).
    pub(super) fn new_replay(&mut self) -> Replay {
        use rand_core::RngCore;
        let (max_events, max_bytes) = (self.config.max_stream_queue, self.config.max_replay_bytes);
        if !self.config.store.is_shared() {
            return Replay::new(max_events, max_bytes, 0);
        }
        let base = u64::from(self.replica) << 32;
        let stream_offset = self.rng.next_u32() >> 1;
        let seq = self.rng.next_u64() >> 24;
        Replay::new(max_events, max_bytes, base).starting_at(stream_offset, seq)
    }

    /// Stores the session `initialize` just made, for `waiter` (its response waits).
    pub(super) fn open_shared_session(&mut self, id: &str, waiter: Waiter, now: Now) {
        let record = self.session_record(id);
        let op = StoreOp::OpenSession {
            session: SessionWrite {
                id: id.to_owned(),
                record,
                ttl: self.shared_session_ttl(),
            },
            max: self.config.max_sessions,
        };
        self.ask_store(op, waiter, now);
    }

    /// Saves session `id` for the other replicas if it changed since `revision`; returns
    /// whether it did, and then `waiter` learns when the replicas were told.
    pub(super) fn save_if_changed(
        &mut self,
        key: &SessionKey,
        revision: Option<u64>,
        waiter: Waiter,
        now: Now,
    ) -> bool {
        let SessionKey::Http(id) = key else {
            return false;
        };
        let changed = self
            .sessions
            .get(key)
            .is_some_and(|state| Some(state.mcp.revision()) != revision);
        if !changed || !self.store.is_asked() {
            return false;
        }
        let record = self.session_record(id);
        let write = SessionWrite {
            id: id.clone(),
            record: record.clone(),
            ttl: self.shared_session_ttl(),
        };
        self.ask_store(StoreOp::SaveSession(write), Waiter::Ignore, now);
        let bulletin = Bulletin::Changed {
            from: self.replica,
            session: id.clone(),
            record,
        };
        self.publish(ALL.to_owned(), &bulletin, waiter, now);
        true
    }

    /// Renews session `id` in the store, at most once a quarter of its lifetime.
    pub(super) fn renew_shared_session(&mut self, id: &str, now: Now) {
        if !self.store.is_asked() {
            return;
        }
        let every = self.config.session_idle_timeout / 4;
        let Some(state) = self.sessions.get_mut(&SessionKey::Http(id.to_owned())) else {
            return;
        };
        if state
            .renewed
            .is_some_and(|at| now.instant.saturating_duration_since(at) < every)
        {
            return;
        }
        state.renewed = Some(now.instant);
        let op = StoreOp::TouchSession {
            id: id.to_owned(),
            ttl: self.shared_session_ttl(),
        };
        self.ask_store(op, Waiter::Ignore, now);
    }

    /// Ends session `id` on every replica (`DELETE`).
    pub(super) fn close_shared_session(&mut self, id: &str, now: Now) {
        if !self.store.is_asked() {
            return;
        }
        let op = StoreOp::CloseSession { id: id.to_owned() };
        self.ask_store(op, Waiter::Ignore, now);
        let bulletin = Bulletin::Revoked {
            from: self.replica,
            session: id.to_owned(),
        };
        self.publish(ALL.to_owned(), &bulletin, Waiter::Ignore, now);
    }

    /// Sends a client's answer to the replica that made the request, for `waiter` (which
    /// learns whether a replica received it); false when no other replica could have.
    pub(super) fn forward_answer(
        &mut self,
        key: &SessionKey,
        principal: Option<&str>,
        response: &Response,
        waiter: Waiter,
        now: Now,
    ) -> bool {
        let (SessionKey::Http(session), Some(id)) = (key, response.id.as_ref()) else {
            return false;
        };
        if !self.store.is_asked() || !self.is_foreign_request(id) {
            return false;
        }
        let tag = id.as_u64().map_or(0, |id| id >> 32);
        let bulletin = Bulletin::Answer {
            session: session.clone(),
            principal: principal.map(str::to_owned),
            response: jsonrpc::write_response(response),
        };
        self.publish(
            replica_channel(u32::try_from(tag).unwrap_or(0)),
            &bulletin,
            waiter,
            now,
        );
        true
    }

    /// Keeps an event of session `id`'s streams in the store, for a client that reconnects
    /// to another replica.
    pub(super) fn share_event(&mut self, id: &str, event: EventId, message: &[u8]) {
        if !self.store.is_asked() {
            return;
        }
        let op = StoreOp::AppendEvent {
            session: id.to_owned(),
            event: event.to_text(),
            message: String::from_utf8_lossy(message).into_owned(),
            max: self.config.max_stream_queue,
            ttl: self.shared_session_ttl(),
        };
        // Sent at the end of the step; its answer only tells the store's health.
        self.store.defer(op);
    }

    fn publish(&mut self, channel: String, bulletin: &Bulletin, waiter: Waiter, now: Now) {
        if !self.store.is_asked() {
            return;
        }
        let Ok(message) = serde_json::to_string(bulletin) else {
            return;
        };
        self.ask_store(StoreOp::Publish { channel, message }, waiter, now);
    }

    fn session_record(&self, id: &str) -> String {
        self.sessions
            .get(&SessionKey::Http(id.to_owned()))
            .map(|state| state.mcp.record(state.owner.as_deref()))
            .unwrap_or_default()
    }

    /// How long the store keeps a session nobody uses: a quarter more than the idle timeout,
    /// so that renewals a quarter of it apart (and a busy session's expiry timer) always
    /// come in time.
    fn shared_session_ttl(&self) -> std::time::Duration {
        self.config.session_idle_timeout + self.config.session_idle_timeout / 4
    }
}
