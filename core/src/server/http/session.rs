//! The lifetime of Streamable HTTP sessions: `DELETE`, idle expiry, and the end of a
//! session with what it owns (its calls, its stream); and the one-request sessions of
//! requests that need none.

use super::reply::{Reply, not_allowed, simple_error};
use super::{Ctx, Server};
use crate::mcp::Session;
use crate::server::ConnectionId;
use crate::server::sessions::{Expiry, SessionKey, SessionState};
use crate::server::timers::Timer;
use crate::time::Now;

impl Server {
    /// `DELETE /mcp`: ends the session named by `Mcp-Session-Id`.
    pub(super) fn delete_session(&mut self, ctx: &Ctx, now: Now) -> Reply {
        if self.config.stateless {
            return not_allowed("POST, OPTIONS");
        }
        let Some(id) = ctx.session.clone() else {
            return simple_error(400, "Bad Request: Mcp-Session-Id header is required");
        };
        if self.sessions.owned(&id, ctx.principal.as_deref()).is_none() {
            return simple_error(404, "Session not found");
        }
        self.end_session(&SessionKey::Http(id.clone()), now);
        self.close_shared_session(&id, now);
        Reply::empty(204)
    }

    /// Expires a session that has been idle past its timeout.
    pub(crate) fn session_timer(&mut self, id: String, now: Now) {
        match self
            .sessions
            .expiry(&id, now.instant, self.config.session_idle_timeout)
        {
            Expiry::Gone => {}
            Expiry::Expired => self.end_session(&SessionKey::Http(id), now),
            Expiry::Rearm(at) => {
                // Still in use here: keep it alive for the other replicas too.
                self.renew_shared_session(&id, now);
                self.timers.arm(at, Timer::Session(id));
            }
        }
    }

    /// Ends a session: its calls are cancelled and its stream closed.
    pub(crate) fn end_session(&mut self, key: &SessionKey, now: Now) {
        let calls: Vec<_> = self
            .sessions
            .get(key)
            .map(|session| session.in_flight.values().copied().collect())
            .unwrap_or_default();
        for call in calls {
            self.cancel(call, now);
        }
        let stream = self.sessions.get(key).and_then(|session| session.stream);
        if let (SessionKey::Http(_), Some(session)) = (key, self.sessions.get(key)) {
            let lasted = now.instant.saturating_duration_since(session.created);
            self.metrics.session_ended(lasted.as_secs_f64());
        }
        self.drop_session(key);
        if let Some(connection) = stream {
            self.end_stream(connection, now);
        }
    }

    /// Forgets a session and disarms its expiry.
    pub(super) fn drop_session(&mut self, key: &SessionKey) {
        let Some(session) = self.sessions.remove(key) else {
            return;
        };
        if let (SessionKey::Http(id), Some(at)) = (key, session.expiry) {
            self.timers.disarm(at, Timer::Session(id.clone()));
        }
    }

    /// Makes the one-request session of an HTTP request that needs no session (stateless
    /// mode, plain JSON-RPC, 2026-07-28): a fresh one made by `session`, in the slot its
    /// connection's previous request left, or in a new slot. A session a call of an earlier
    /// request still runs in is used as it is.
    pub(super) fn request_session(
        &mut self,
        connection: ConnectionId,
        session: impl FnOnce() -> Session,
        now: Now,
    ) {
        let key = SessionKey::Conn(connection);
        match self.sessions.get_mut(&key) {
            Some(state) if state.in_flight.is_empty() && state.listens.is_empty() => {
                // The empty tables keep their memory for this request's entries.
                let in_flight = std::mem::take(&mut state.in_flight);
                let listens = std::mem::take(&mut state.listens);
                *state = SessionState {
                    in_flight,
                    listens,
                    ..SessionState::new(session(), now.instant, None)
                };
            }
            Some(_) => {}
            None => self
                .sessions
                .insert_conn(connection, SessionState::new(session(), now.instant, None)),
        }
    }

    /// Releases the one-request session of an HTTP request once nothing runs or listens in
    /// it. Its slot stays for the connection's next request (`request_session` makes a fresh
    /// session there), unless it subscribed to resources: nothing may reach an idle
    /// connection, so such a session is forgotten.
    pub(super) fn release_request_session(&mut self, connection: ConnectionId) {
        let key = SessionKey::Conn(connection);
        if self.sessions.get(&key).is_some_and(|session| {
            session.in_flight.is_empty() && session.listens.is_empty() && session.mcp.has_subscriptions()
        }) {
            self.sessions.remove(&key);
        }
    }
}
