//! The `ops` operations on running calls: outcomes, polls of their handlers, and what they
//! send while they run (log, progress, heartbeats, notices, requests to the client).

use std::task::Poll;
use std::time::Duration;

use serde_json::json;

use super::handlers::Ask;
use super::{Run, notice};
use crate::{CallError, CallId, HandlerError, LoggingLevel, Message, Outbox, Outcome, ToolOutput};

impl Run {
    pub(super) fn complete(&mut self, index: u8, kind: u8) {
        if self.host.pending.is_empty() {
            return;
        }
        let at = usize::from(index) % self.host.pending.len();
        let handler = &self.host.pending[at];
        let id = handler.id;
        let outcome = match kind % 5 {
            0 => Ok(handler.output()),
            1 => Ok(ToolOutput::error("fuzz tool error").into()),
            2 => Err(HandlerError::failed("fuzz failure")),
            // What `Call::run` makes of a handler that panics.
            3 => Err(HandlerError::failed("handler panicked: fuzz")),
            // Runs the handler once; one that is not done counts as failed.
            _ => match self.poll_handler(id, false) {
                Some(Poll::Ready(outcome)) => outcome,
                _ => Err(HandlerError::failed("pending")),
            },
        };
        self.complete_with(id, outcome);
    }

    /// Reports a call's outcome, if it still runs; checks that its response went where its
    /// requests to the client went.
    fn complete_with(&mut self, id: CallId, outcome: Outcome) {
        let Some(at) = self.host.pending.iter().position(|handler| handler.id == id) else {
            return;
        };
        self.host.pending.remove(at);
        self.host.expect_first();
        let result = self.server.complete(id, outcome, self.now);
        assert!(result.is_ok(), "complete() refused a running call: {result:?}");
        self.host.finished.push(id);
        self.host.drain(&mut self.server, self.now);
        self.host.check_call_connection(id);
    }

    pub(super) fn complete_stale(&mut self, index: u8) {
        if self.host.finished.is_empty() {
            return;
        }
        let id = self.host.finished[usize::from(index) % self.host.finished.len()];
        let result = self
            .server
            .complete(id, Ok(ToolOutput::text("late").into()), self.now);
        assert!(
            matches!(result, Err(CallError::NotRunning(call)) if call == id),
            "complete() on a finished call: {result:?}"
        );
        assert!(self.server.poll_transmit().is_none(), "a late outcome sent bytes");
        assert!(
            self.server.poll_event().is_none(),
            "a late outcome emitted an event"
        );
    }

    /// Polls the handler `arg` picks, and completes it if it is done.
    pub(super) fn poll(&mut self, arg: u8) {
        if self.host.pending.is_empty() {
            return;
        }
        let id = self.host.pending[usize::from(arg) % self.host.pending.len()].id;
        self.poll_id(id);
    }

    pub(super) fn poll_id(&mut self, id: CallId) {
        if let Some(Poll::Ready(outcome)) = self.poll_handler(id, true) {
            self.complete_with(id, outcome);
        }
    }

    /// Polls handler `id` once (starting it first: with the host's outbox if `talk`, else
    /// with one that drops everything), then passes on what it sent.
    fn poll_handler(&mut self, id: CallId, talk: bool) -> Option<Poll<Outcome>> {
        let outbox = if talk {
            self.mail.outbox()
        } else {
            Outbox::discard()
        };
        let handler = self.host.pending.iter_mut().find(|handler| handler.id == id)?;
        let poll = handler.poll(&outbox);
        self.forward();
        Some(poll)
    }

    /// Passes on what handlers sent, in order; what a call that ended sent is dropped.
    fn forward(&mut self) {
        loop {
            let mail = self.mail.take();
            if mail.is_empty() {
                return;
            }
            for (call, message) in mail {
                if self.host.is_pending(call) {
                    self.send(call, message);
                }
            }
        }
    }

    /// Passes one message of a running call to the server.
    fn send(&mut self, call: CallId, message: Message) {
        self.host.asking = Some(call);
        let result = self.server.call_message(call, message, self.now);
        assert!(
            result.is_ok(),
            "call_message() refused for a running call: {result:?}"
        );
        self.host.drain(&mut self.server, self.now);
        self.host.asking = None;
    }

    pub(super) fn call_message(&mut self, index: u8, kind: u8) {
        if self.host.pending.is_empty() {
            return;
        }
        let id = self.host.pending[usize::from(index) % self.host.pending.len()].id;
        let message = if kind & 1 == 0 {
            let level = ["debug", "info", "warning", "emergency"][usize::from(kind >> 1) % 4];
            Message::Log {
                level: LoggingLevel::parse(level).expect("a level"),
                logger: (kind & 2 == 0).then(|| "fuzz".to_owned()),
                data: json!({"kind": kind}),
            }
        } else {
            Message::Progress {
                progress: f64::from(kind),
                total: (kind & 2 == 0).then_some(256.0),
                message: (kind & 4 == 0).then(|| "step".to_owned()),
            }
        };
        self.send(id, message);
    }

    /// A running call asks for heartbeats, announces a change, or asks the client.
    pub(super) fn handler_message(&mut self, index: u8, kind: u8) {
        if self.host.pending.is_empty() {
            return;
        }
        let id = self.host.pending[usize::from(index) % self.host.pending.len()].id;
        match kind % 4 {
            0 => {
                // Up to two seconds, or longer than any clock can count.
                let every = if kind >= 0xF0 {
                    Duration::MAX
                } else {
                    Duration::from_millis(u64::from(kind) * 8)
                };
                self.send(id, Message::Heartbeat { every });
            }
            1 => self.send(id, Message::Notice(notice(kind >> 2))),
            _ => {
                self.asks.push(Ask::new(id, self.mail.outbox(), kind >> 2));
                self.forward();
            }
        }
    }
}
