//! What running handlers send before their result: log and progress notifications on their
//! request's stream, announcements to other sessions, and requests to the client whose
//! answers are routed back to them.

use std::time::Instant;

use super::connections::Kind;
use super::outgoing::Pending;
use super::sessions::SessionKey;
use super::timers::Timer;
use super::{CallError, Server};
use crate::handler::{CallId, ClientError, ClientRequest, Message, Reply};
use crate::jsonrpc::{self, Id};
use crate::mcp::{self, ProtocolVersion};
use crate::time::Now;

impl Server {
    /// Handles one message of a running handler (see `Server::call_message`).
    pub(super) fn handler_message(
        &mut self,
        call: CallId,
        message: Message,
        now: Now,
    ) -> Result<(), CallError> {
        let Some(running) = self.calls.get_mut(call) else {
            return Err(CallError::NotRunning(call));
        };
        match message {
            Message::Log { level, logger, data } => {
                // A 2026-07-28 request opts in with a level of its own; none means no logs.
                let wanted = match &running.request.modern {
                    Some(modern) => modern.meta.log_level.is_some_and(|least| level >= least),
                    None => self
                        .sessions
                        .get(&running.request.session)
                        .is_some_and(|session| session.mcp.wants_log(level)),
                };
                if wanted {
                    let params = mcp::log_params(level, logger, data);
                    let bytes = jsonrpc::write_notification("notifications/message", Some(&params));
                    self.send_call_message(call, bytes);
                }
            }
            Message::Progress {
                progress,
                total,
                message,
            } => {
                let armed = running.next_beat();
                let params = running
                    .progress
                    .as_mut()
                    .and_then(|state| state.report(progress, total, message, now.instant));
                let next = running.next_beat();
                self.rearm_heartbeat(call, armed, next);
                if let Some(params) = params {
                    let bytes = jsonrpc::write_notification("notifications/progress", Some(&params));
                    self.send_call_message(call, bytes);
                }
            }
            Message::Heartbeat { every } => {
                let armed = running.next_beat();
                let next = running
                    .progress
                    .as_mut()
                    .and_then(|state| state.set_heartbeat(every, now.instant));
                self.rearm_heartbeat(call, armed, next);
            }
            Message::Notice(notice) => self.announce(&notice, now),
            Message::ElicitationComplete { id } => {
                let params = serde_json::json!({ "elicitationId": id });
                let bytes = jsonrpc::write_notification("notifications/elicitation/complete", Some(&params));
                self.send_call_message(call, bytes);
            }
            Message::StartTask => self.start_task(call, now),
            // A task's questions wait for `tasks/update`.
            Message::Request { request, key, reply } if running.task().is_some() => {
                self.task_question(call, key, &request, reply, now);
            }
            Message::Request { request, key, reply } => match running.request.modern.as_deref_mut() {
                // A 2026-07-28 client is never sent a request: it answers in its next round.
                Some(modern) => reply.send(modern.input.ask(key, &request, &modern.meta.capabilities)),
                None => self.ask_client(call, request, reply, now),
            },
        }
        Ok(())
    }

    /// A heartbeat is due: a progress notification if the handler has been quiet.
    pub(super) fn heartbeat(&mut self, call: CallId, now: Now) {
        let Some(running) = self.calls.get_mut(call) else {
            return;
        };
        let params = running
            .progress
            .as_mut()
            .and_then(|state| state.beat(now.instant));
        if let Some(at) = running.next_beat() {
            self.timers.arm(at, Timer::Heartbeat(call));
        }
        if let Some(params) = params {
            let bytes = jsonrpc::write_notification("notifications/progress", Some(&params));
            self.send_call_message(call, bytes);
        }
    }

    fn rearm_heartbeat(&mut self, call: CallId, armed: Option<Instant>, next: Option<Instant>) {
        if armed == next {
            return;
        }
        if let Some(at) = armed {
            self.timers.disarm(at, Timer::Heartbeat(call));
        }
        if let Some(at) = next {
            self.timers.arm(at, Timer::Heartbeat(call));
        }
    }

    /// Sends a handler's request to its client, or tells the handler why it cannot.
    fn ask_client(&mut self, call: CallId, request: ClientRequest, reply: Reply, now: Now) {
        match self.open_client_request(call, &request, reply, now) {
            Ok(bytes) => self.send_call_message(call, bytes),
            Err((reply, error)) => reply.send(Err(error)),
        }
    }

    fn open_client_request(
        &mut self,
        call: CallId,
        request: &ClientRequest,
        reply: Reply,
        now: Now,
    ) -> Result<Vec<u8>, (Reply, ClientError)> {
        let Some(running) = self.calls.get(call) else {
            return Err((reply, ClientError::Abandoned));
        };
        let reachable = match (
            &running.request.session,
            self.connections.get(&running.request.connection),
        ) {
            (SessionKey::Http(_), _) => true,
            (SessionKey::Conn(_), Some(conn)) => matches!(conn.kind, Kind::Ndjson(_)),
            (SessionKey::Conn(_), None) => false,
        };
        let Some(session) = self.sessions.get(&running.request.session).filter(|_| reachable) else {
            return Err((reply, ClientError::Unreachable));
        };
        if !session.mcp.client_supports(request) {
            return Err((reply, ClientError::NotSupported(request.capability_name())));
        }
        if self.outgoing.count_for(call) >= self.config.max_client_requests {
            return Err((reply, ClientError::Overloaded));
        }
        let modes = running.request.version >= ProtocolVersion::V2025_11_25;
        let deadline = (now.instant + self.config.client_request_timeout).min(running.deadline);
        let pending = Pending {
            call,
            session: running.request.session.clone(),
            principal: running.request.principal.clone(),
            reply,
            deadline,
        };
        let id = self.outgoing.open(pending);
        self.timers.arm(deadline, Timer::ClientRequest(id));
        let wire = Id::from_u64(id);
        let params = request.params(modes);
        Ok(jsonrpc::write_request(&wire, request.method(), params.as_ref()))
    }

    /// A request to the client went unanswered past its deadline.
    pub(super) fn client_request_timed_out(&mut self, id: u64) {
        if let Some(pending) = self.outgoing.take(id) {
            self.withdraw_client_request(pending.call, id, "no answer in time");
            pending.reply.send(Err(ClientError::Timeout));
        }
    }

    /// Tells the client that the server no longer waits for its answer to request `id`.
    pub(super) fn withdraw_client_request(&mut self, call: CallId, id: u64, reason: &str) {
        let params = serde_json::json!({"requestId": id, "reason": reason});
        let bytes = jsonrpc::write_notification("notifications/cancelled", Some(&params));
        self.send_call_message(call, bytes);
    }

    /// Sends a message on the stream of a call's request (a task answered its request
    /// already: what it sends has nowhere to go).
    fn send_call_message(&mut self, call: CallId, bytes: Vec<u8>) {
        let Some(running) = self.calls.get(call).filter(|running| running.task().is_none()) else {
            return;
        };
        let connection = running.request.connection;
        let session = running.request.session.clone();
        match self.connections.get(&connection).map(|conn| &conn.kind) {
            Some(Kind::Ndjson(_)) => self.send_line(connection, bytes),
            Some(Kind::Http(_)) => self.http_stream_message(connection, &session, call, bytes),
            None => {}
        }
    }
}
