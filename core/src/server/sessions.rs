//! The session table: every MCP session the server holds, by where it lives (an NDJSON
//! connection, a stateless HTTP request, or a Streamable HTTP session id), with what each
//! owns: its requests in flight, its `GET` stream and replay buffer, its owner and expiry.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::ConnectionId;
use super::replay::Replay;
use crate::handler::CallId;
use crate::jsonrpc::Id;
use crate::mcp::Session;
use crate::mcp::modern::Filter;

/// Where a session lives.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum SessionKey {
    /// The session of one NDJSON connection, or of one stateless HTTP request.
    Conn(ConnectionId),
    /// A Streamable HTTP session, by its `Mcp-Session-Id`.
    Http(String),
}

/// One session and what it owns.
pub(crate) struct SessionState {
    pub(crate) mcp: Session,
    /// Requests of this session running now, by their JSON-RPC id.
    pub(crate) in_flight: BTreeMap<Id, CallId>,
    /// When it was made (or loaded from the shared store, on a replica that did not make it).
    pub(crate) created: Instant,
    /// When it was last used (HTTP sessions expire after a while unused).
    pub(crate) last_active: Instant,
    /// The connection carrying its `GET` stream, if one is open.
    pub(crate) stream: Option<ConnectionId>,
    /// Messages of its SSE streams, kept for replay on reconnect (HTTP sessions only).
    pub(crate) replay: Option<Box<Replay>>,
    /// When its expiry timer is armed, so that ending the session can disarm it.
    pub(crate) expiry: Option<Instant>,
    /// The principal that opened it, when authentication is on.
    pub(crate) owner: Option<String>,
    /// Its 2026-07-28 `subscriptions/listen` streams.
    pub(crate) listens: Vec<Listen>,
    /// When it was last renewed in the shared store, if it is shared.
    pub(crate) renewed: Option<Instant>,
    /// Whether its standalone stream was ever open here: such a replica keeps the stream's
    /// events in the shared store too.
    pub(crate) held_stream: bool,
}

/// One `subscriptions/listen` subscription: its request id, and what it asked for.
pub(crate) struct Listen {
    pub(crate) id: Id,
    pub(crate) filter: Filter,
}

impl SessionState {
    pub(crate) fn new(mcp: Session, now: Instant, replay: Option<Box<Replay>>) -> Self {
        Self {
            mcp,
            in_flight: BTreeMap::new(),
            created: now,
            last_active: now,
            stream: None,
            replay,
            expiry: None,
            owner: None,
            listens: Vec::new(),
            renewed: None,
            held_stream: false,
        }
    }

    /// Returns whether something keeps the session from expiring: a running request or an
    /// open stream.
    pub(crate) fn is_busy(&self) -> bool {
        !self.in_flight.is_empty() || self.stream.is_some()
    }
}

/// What an expiry timer found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expiry {
    /// The session is gone already.
    Gone,
    /// It has been idle past its timeout: end it.
    Expired,
    /// Not yet: check again at this moment.
    Rearm(Instant),
}

/// Every session, with the count and cap of HTTP sessions.
#[derive(Default)]
pub(crate) struct Sessions {
    map: BTreeMap<SessionKey, SessionState>,
    http: usize,
    /// The HTTP sessions of every shard of the process, when the server is one shard of
    /// several: the cap counts them all.
    budget: Option<Arc<AtomicUsize>>,
}

/// The HTTP session cap is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Full;

impl Sessions {
    /// Returns how many HTTP sessions are held.
    pub(crate) fn http_count(&self) -> usize {
        self.http
    }

    pub(crate) fn get(&self, key: &SessionKey) -> Option<&SessionState> {
        self.map.get(key)
    }

    pub(crate) fn get_mut(&mut self, key: &SessionKey) -> Option<&mut SessionState> {
        self.map.get_mut(key)
    }

    pub(crate) fn contains(&self, key: &SessionKey) -> bool {
        self.map.contains_key(key)
    }

    /// Adds the session of a connection or stateless request.
    pub(crate) fn insert_conn(&mut self, connection: ConnectionId, state: SessionState) {
        self.map.insert(SessionKey::Conn(connection), state);
    }

    /// Counts HTTP sessions in `budget`, shared with the other shards of the process, from
    /// now on: the cap of [`insert_http`](Self::insert_http) is then the process's.
    pub(crate) fn share_budget(&mut self, budget: Arc<AtomicUsize>) {
        budget.fetch_add(self.http, Ordering::Relaxed);
        self.budget = Some(budget);
    }

    /// Adds an HTTP session under `id`, unless `max` are held already (by every shard, when
    /// the budget is shared).
    pub(crate) fn insert_http(&mut self, id: String, state: SessionState, max: usize) -> Result<(), Full> {
        let key = SessionKey::Http(id);
        if let Some(budget) = &self.budget {
            let place = match self.map.entry(key) {
                Entry::Vacant(place) => place,
                // The same id again replaces the session and takes no new place.
                Entry::Occupied(mut held) => {
                    held.insert(state);
                    return Ok(());
                }
            };
            // One atomic add per new session: the count never passes `max`, whichever shards
            // race for the last place.
            let taken = budget.fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                (held < max).then_some(held + 1)
            });
            if taken.is_err() {
                return Err(Full);
            }
            place.insert(state);
            self.http += 1;
            return Ok(());
        }
        if self.http >= max {
            return Err(Full);
        }
        if self.map.insert(key, state).is_none() {
            self.http += 1;
        }
        Ok(())
    }

    /// Finds the HTTP session `id` if `principal` owns it: a session opened by one principal
    /// is not found by another.
    pub(crate) fn owned(&mut self, id: &str, principal: Option<&str>) -> Option<&mut SessionState> {
        self.map
            .get_mut(&SessionKey::Http(id.to_owned()))
            .filter(|state| state.owner.as_deref() == principal)
    }

    /// Removes a session.
    pub(crate) fn remove(&mut self, key: &SessionKey) -> Option<SessionState> {
        let state = self.map.remove(key)?;
        if matches!(key, SessionKey::Http(_)) {
            self.http -= 1;
            if let Some(budget) = &self.budget {
                budget.fetch_sub(1, Ordering::AcqRel);
            }
        }
        Some(state)
    }

    /// Decides what an expiry timer for session `id` means at `now`.
    pub(crate) fn expiry(&mut self, id: &str, now: Instant, timeout: Duration) -> Expiry {
        let Some(state) = self.map.get_mut(&SessionKey::Http(id.to_owned())) else {
            return Expiry::Gone;
        };
        let expires = state.last_active + timeout;
        let busy = state.is_busy();
        if !busy && expires <= now {
            state.expiry = None;
            return Expiry::Expired;
        }
        let at = if busy { now + timeout } else { expires };
        state.expiry = Some(at);
        Expiry::Rearm(at)
    }

    /// Returns the keys of the sessions `keep` selects, in key order.
    pub(crate) fn select(&self, keep: impl Fn(&SessionState) -> bool) -> Vec<SessionKey> {
        self.map
            .iter()
            .filter(|(_, state)| keep(state))
            .map(|(key, _)| key.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> SessionState {
        SessionState::new(Session::new(), Instant::now(), None)
    }

    #[test]
    fn a_shared_budget_caps_the_sessions_of_every_shard_together() {
        let budget = Arc::new(AtomicUsize::new(0));
        let (mut a, mut b) = (Sessions::default(), Sessions::default());
        a.share_budget(Arc::clone(&budget));
        b.share_budget(Arc::clone(&budget));
        assert_eq!(a.insert_http("a1".into(), state(), 3), Ok(()));
        assert_eq!(b.insert_http("b1".into(), state(), 3), Ok(()));
        // The same id again replaces the session and takes no new place.
        assert_eq!(b.insert_http("b1".into(), state(), 3), Ok(()));
        assert_eq!(a.insert_http("a2".into(), state(), 3), Ok(()));
        assert_eq!(b.insert_http("b2".into(), state(), 3), Err(Full));
        assert_eq!(budget.load(Ordering::SeqCst), 3);
        assert!(a.remove(&SessionKey::Http("a1".into())).is_some());
        assert_eq!(b.insert_http("b2".into(), state(), 3), Ok(()));
        assert_eq!((a.http_count(), b.http_count()), (1, 2));
        assert_eq!(budget.load(Ordering::SeqCst), 3);
    }
}
