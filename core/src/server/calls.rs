//! The call table: every user handler running now (a tool call, a resource read, a prompt
//! get, a completion), with where its answer goes, its deadline and its progress reports.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::ConnectionId;
use super::record::Facts;
use super::sessions::SessionKey;
use crate::handler::{CallId, CallKind};
use crate::jsonrpc::Id;
use crate::mcp::ProtocolVersion;
use crate::mcp::modern::{Input, RequestMeta};

/// What the server knows of one request, gathered once when it arrives and kept while its
/// handler runs.
pub(crate) struct RequestContext {
    /// The connection that carried it, where its answer goes.
    pub(crate) connection: ConnectionId,
    /// The session it belongs to.
    pub(crate) session: SessionKey,
    /// Its JSON-RPC id.
    pub(crate) id: Id,
    /// The id tying its log lines together.
    pub(crate) log_id: std::sync::Arc<str>,
    /// The revision the client speaks, which shapes the answer.
    pub(crate) version: ProtocolVersion,
    /// Who made it, when authentication is on.
    pub(crate) principal: Option<String>,
    /// What a 2026-07-28 request carries for its handler; `None` in the legacy era.
    pub(crate) modern: Option<Box<Modern>>,
    /// What its record's metrics and span say beyond the log line.
    pub(crate) facts: Facts,
}

/// A 2026-07-28 request's own metadata and the client's answers to its questions.
pub(crate) struct Modern {
    /// Its `_meta`: capabilities, logging level, trace context.
    pub(crate) meta: RequestMeta,
    /// The answers it carries, and the questions its handler asks.
    pub(crate) input: Input,
    /// Whether the call may become (or has become) a task of the tasks extension.
    pub(crate) task: TaskLink,
}

/// A call's relation to the tasks extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TaskLink {
    /// Answered directly.
    None,
    /// Its tool supports tasks and its request declared the extension: `start_task` makes one.
    Eligible,
    /// It runs as this task; its request was answered with the task.
    Started(String),
}

/// One running handler.
pub(crate) struct Running {
    /// The request it answers.
    pub(crate) request: RequestContext,
    pub(crate) kind: CallKind,
    /// The tool or prompt name, or the resource URI.
    pub(crate) name: std::sync::Arc<str>,
    pub(crate) started: Instant,
    /// Whether its handler was handed to the embedder ([`Event::Call`](crate::Event::Call)):
    /// a call waiting for the shared store to admit it has nothing to cancel there.
    pub(crate) handed_out: bool,
    pub(crate) deadline: Instant,
    /// Its progress reports, when the client asked for them with a progress token.
    pub(crate) progress: Option<Box<Progress>>,
}

impl Running {
    /// Returns the task the call runs as, once it became one.
    pub(crate) fn task(&self) -> Option<&str> {
        match self.request.modern.as_deref().map(|modern| &modern.task) {
            Some(TaskLink::Started(id)) => Some(id),
            _ => None,
        }
    }

    /// Returns when its next heartbeat is due, if one is armed.
    pub(crate) fn next_beat(&self) -> Option<Instant> {
        self.progress.as_ref().and_then(|progress| progress.next_beat)
    }
}

/// The calls running now.
#[derive(Default)]
pub(crate) struct Calls {
    /// Looked up on every step; walks sort by id, which is the order calls started.
    running: rustc_hash::FxHashMap<CallId, Running>,
    next: u64,
}

impl Calls {
    /// Returns a new call's id.
    pub(crate) fn next_id(&mut self) -> CallId {
        let id = CallId(self.next);
        self.next += 1;
        id
    }

    pub(crate) fn insert(&mut self, id: CallId, running: Running) {
        self.running.insert(id, running);
    }

    pub(crate) fn get(&self, id: CallId) -> Option<&Running> {
        self.running.get(&id)
    }

    pub(crate) fn get_mut(&mut self, id: CallId) -> Option<&mut Running> {
        self.running.get_mut(&id)
    }

    pub(crate) fn remove(&mut self, id: CallId) -> Option<Running> {
        self.running.remove(&id)
    }

    pub(crate) fn len(&self) -> usize {
        self.running.len()
    }

    /// Returns the ids of every running call, in the order they started.
    pub(crate) fn ids(&self) -> Vec<CallId> {
        let mut ids: Vec<CallId> = self.running.keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    /// Returns the calls answering requests of `connection` (a task answered its request
    /// already: it no longer depends on the connection).
    pub(crate) fn of_connection(&self, connection: ConnectionId) -> Vec<CallId> {
        let mut ids = self
            .running
            .iter()
            .filter(|(_, running)| running.request.connection == connection && running.task().is_none())
            .map(|(id, _)| *id)
            .collect::<Vec<_>>();
        ids.sort_unstable();
        ids
    }
}

/// A call's progress reports: sent only when the client gave a token, only increasing, and
/// kept alive by a heartbeat when the handler asked for one.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    token: Option<Value>,
    last: Option<f64>,
    total: Option<f64>,
    message: Option<String>,
    heartbeat: Option<Duration>,
    /// When the next heartbeat is due, if one is armed.
    pub(crate) next_beat: Option<Instant>,
}

impl Progress {
    /// Starts the progress of a request that carried `token`; none without one.
    pub(crate) fn new(token: Option<Value>) -> Option<Box<Self>> {
        token.map(|token| {
            Box::new(Self {
                token: Some(token),
                ..Self::default()
            })
        })
    }

    /// Takes a handler's report; returns the notification params to send, if any. A value
    /// that does not increase is dropped.
    pub(crate) fn report(
        &mut self,
        progress: f64,
        total: Option<f64>,
        message: Option<String>,
        now: Instant,
    ) -> Option<Value> {
        self.token.as_ref()?;
        if !progress.is_finite() || self.last.is_some_and(|last| progress <= last) {
            return None;
        }
        self.total = total.filter(|total| total.is_finite());
        self.message = message;
        Some(self.send(progress, now))
    }

    /// Turns the heartbeat on; returns when the first beat is due, if the client asked for
    /// progress at all (a period past the clock's range is never due).
    pub(crate) fn set_heartbeat(&mut self, every: Duration, now: Instant) -> Option<Instant> {
        self.token.as_ref()?;
        let every = every.max(Duration::from_millis(100));
        self.heartbeat = Some(every);
        self.next_beat = now.checked_add(every);
        self.next_beat
    }

    /// A heartbeat is due: returns the notification params, a hair above the last value so
    /// that progress still increases, and arms the next beat.
    pub(crate) fn beat(&mut self, now: Instant) -> Option<Value> {
        self.token.as_ref()?;
        self.heartbeat?;
        let last = self.last.unwrap_or(0.0);
        let next = if self.last.is_some() {
            last + last.abs().max(1.0) * 1e-6
        } else {
            0.0
        };
        if self.total.is_some_and(|total| next > total) {
            self.next_beat = self.heartbeat.and_then(|every| now.checked_add(every));
            return None;
        }
        Some(self.send(next, now))
    }

    fn send(&mut self, progress: f64, now: Instant) -> Value {
        self.last = Some(progress);
        self.next_beat = self.heartbeat.and_then(|every| now.checked_add(every));
        let mut params = json!({"progressToken": self.token, "progress": progress});
        if let Some(total) = self.total {
            params["total"] = json!(total);
        }
        if let Some(message) = &self.message {
            params["message"] = json!(message);
        }
        params
    }
}
