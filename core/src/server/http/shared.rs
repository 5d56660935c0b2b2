//! The HTTP exchanges that wait on the shared store for what replicas share: a request
//! naming a session this replica has not served yet waits while it is loaded, an
//! `initialize` response waits until its session is stored (and counted against the global
//! cap), and a client's answer to another replica's request waits until that replica has it.

use super::reply::{Reply, error_reply};
use super::{Ctx, Exchange, Server};
use crate::error::{ErrorCode, RpcError};
use crate::framing::http1::Head;
use crate::jsonrpc::Response;
use crate::server::ConnectionId;
use crate::server::replay::EventId;
use crate::server::sessions::SessionKey;
use crate::server::store::Waiter;
use crate::store::{StoreFailure, StoreOp};
use crate::time::Now;

/// A response held until the store has done what it depends on.
pub(super) struct Commit {
    pub(super) ctx: Ctx,
    pub(super) reply: Reply,
    pub(super) error: Option<RpcError>,
    pub(super) method: Option<std::sync::Arc<str>>,
}

impl Server {
    /// Returns the session a request must load from the store before it is answered: one
    /// it names that this replica does not hold (looked for once).
    pub(super) fn session_to_load(&self, ctx: &Ctx) -> Option<String> {
        let id = ctx.session.as_deref()?;
        (!ctx.session_loaded && self.must_load_session(id)).then(|| id.to_owned())
    }

    /// Parks `head` while session `id` is loaded from the store.
    pub(super) fn park_for_session(
        &mut self,
        connection: ConnectionId,
        head: Head,
        mut ctx: Ctx,
        id: &str,
        now: Now,
    ) {
        ctx.session_loaded = true;
        self.load_session(id, Waiter::Load(connection), now);
        self.park(connection, head, ctx);
    }

    /// Parks a `GET` that resumes after a `Last-Event-ID` while `session`'s events are read
    /// from the store (another replica may have kept them).
    pub(super) fn park_for_events(
        &mut self,
        connection: ConnectionId,
        head: Head,
        ctx: Ctx,
        session: String,
        now: Now,
    ) {
        self.ask_store(StoreOp::ReadEvents { session }, Waiter::Events(connection), now);
        self.park(connection, head, ctx);
    }

    /// Returns the session whose kept events a `GET` (`method`) resuming after a
    /// `Last-Event-ID` must read first (read once).
    pub(super) fn events_to_load(&self, method: &str, head: &Head, ctx: &Ctx) -> Option<String> {
        let wanted = method == "GET" && ctx.replayed.is_none() && head.header("last-event-id").is_some();
        ctx.session.clone().filter(|_| wanted && self.store.is_asked())
    }

    /// The store answered a parked `GET`'s events (`None`: it failed, and none are replayed
    /// from it): answer the `GET` as usual.
    pub(in crate::server) fn http_events(
        &mut self,
        connection: ConnectionId,
        events: Option<Vec<(String, String)>>,
        now: Now,
    ) {
        let Some((head, mut ctx)) = self.unpark(connection) else {
            return;
        };
        let events = events
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(id, message)| Some((EventId::parse(id.as_bytes())?, message.into_bytes())))
            .collect();
        ctx.replayed = Some(events);
        self.resume_head(connection, head, ctx, None, now);
    }

    /// The store answered a parked head's session (`None`: unknown, or the store failed):
    /// serve it here if it lives, then answer the head as usual.
    pub(in crate::server) fn http_loaded(
        &mut self,
        connection: ConnectionId,
        record: Option<String>,
        now: Now,
    ) {
        let Some((head, ctx)) = self.unpark(connection) else {
            return;
        };
        if let (Some(record), Some(id)) = (record, &ctx.session) {
            self.install_session(id.clone(), &record, now);
        }
        self.resume_head(connection, head, ctx, None, now);
    }

    /// Holds the response to the `initialize` that made session `id` until the store has it.
    pub(super) fn commit_session(&mut self, connection: ConnectionId, id: &str, commit: Commit, now: Now) {
        self.open_shared_session(id, Waiter::Open(connection), now);
        self.hold(connection, commit);
    }

    /// Holds a response until the store request its connection's waiter names is answered.
    pub(super) fn hold(&mut self, connection: ConnectionId, commit: Commit) {
        if let Some(http) = self.http_mut(connection) {
            http.exchange = Exchange::Commit(Box::new(commit));
        }
    }

    /// The replicas were told of a session's change (or the store failed: they will load it
    /// anew): send the response that waited.
    pub(in crate::server) fn http_changed(&mut self, connection: ConnectionId, now: Now) {
        let Some(commit) = self.take_commit(connection) else {
            return;
        };
        self.send_commit(connection, commit, now);
        self.touched.push(connection);
        self.http_drive(connection, now);
    }

    /// The store answered whether it took a new session (`None`: it failed): send the
    /// `initialize` response, or 503 without the session.
    pub(in crate::server) fn http_opened(
        &mut self,
        connection: ConnectionId,
        opened: Option<bool>,
        now: Now,
    ) {
        let Some(commit) = self.take_commit(connection) else {
            return;
        };
        let refusal = match opened {
            Some(true) => None,
            Some(false) => Some("Service Unavailable: too many sessions"),
            // A session this replica alone knows still serves a client that sticks to it.
            None if self.config.store.failure == StoreFailure::Open => None,
            None => Some("Service Unavailable: the session store is unreachable"),
        };
        match refusal {
            None => self.send_reply_as(
                connection,
                &commit.ctx,
                commit.reply,
                commit.error,
                commit.method,
                now,
            ),
            Some(message) => {
                if let Some(id) = &commit.ctx.new_session {
                    self.drop_session(&SessionKey::Http(id.clone()));
                }
                let mut ctx = commit.ctx;
                ctx.new_session = None;
                let error = RpcError::new(ErrorCode::InternalError, message);
                let reply = error_reply(503, &error, false);
                self.send_reply_as(connection, &ctx, reply, Some(error), commit.method, now);
            }
        }
        self.touched.push(connection);
        self.http_drive(connection, now);
    }

    /// Sends the response a commit held.
    fn send_commit(&mut self, connection: ConnectionId, commit: Commit, now: Now) {
        self.send_reply_as(
            connection,
            &commit.ctx,
            commit.reply,
            commit.error,
            commit.method,
            now,
        );
    }

    /// Passes a client's answer to the replica that asked; its `202` waits for the store to
    /// say a replica received it. An answer no replica could take is refused at once.
    pub(super) fn forward(
        &mut self,
        connection: ConnectionId,
        key: &SessionKey,
        response: &Response,
        commit: Commit,
        now: Now,
    ) {
        let principal = commit.ctx.principal.clone();
        if self.forward_answer(
            key,
            principal.as_deref(),
            response,
            Waiter::Forward(connection),
            now,
        ) {
            self.hold(connection, commit);
        } else {
            self.refuse_answer(connection, commit, now);
        }
    }

    /// The store said whether a replica received a forwarded answer.
    pub(in crate::server) fn http_forwarded(&mut self, connection: ConnectionId, delivered: bool, now: Now) {
        let Some(commit) = self.take_commit(connection) else {
            return;
        };
        if delivered {
            self.send_commit(connection, commit, now);
        } else {
            self.refuse_answer(connection, commit, now);
        }
        self.touched.push(connection);
        self.http_drive(connection, now);
    }

    /// 400 for a client's answer that no request waits for (its replica may be gone).
    fn refuse_answer(&mut self, connection: ConnectionId, commit: Commit, now: Now) {
        let error = RpcError::new(
            ErrorCode::InvalidRequest,
            "Bad Request: no request of this session waits for that response (the replica that sent it may be gone)",
        );
        let reply = error_reply(400, &error, false);
        self.send_reply_as(connection, &commit.ctx, reply, Some(error), commit.method, now);
    }

    fn take_commit(&mut self, connection: ConnectionId) -> Option<Commit> {
        let http = self.http_mut(connection)?;
        match std::mem::replace(&mut http.exchange, Exchange::Idle) {
            Exchange::Commit(commit) => Some(*commit),
            other => {
                http.exchange = other;
                None
            }
        }
    }
}
