//! The task table of the 2026-07-28 tasks extension (`io.modelcontextprotocol/tasks`):
//! calls that outlive the request that started them, by a server-made id, with their
//! status, the questions they wait on, and their outcome, kept for `tasks/get` until their
//! time to live after they end runs out.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Instant, SystemTime};

use serde_json::{Map, Value, json};

use crate::handler::{CallId, ClientError, Reply};

pub(crate) use crate::mcp::modern::TASKS_EXTENSION as EXTENSION;

/// Where a task is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Working,
    InputRequired,
    Completed,
    Failed,
    Cancelled,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Self::Working => "working",
            Self::InputRequired => "input_required",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }
}

/// A question a task waits on: its key, what it asks, and where the answer goes.
struct Question {
    key: String,
    ask: Value,
    reply: Reply,
}

/// One task.
pub(crate) struct Task {
    /// Who started it; no one else finds it.
    principal: Option<String>,
    status: Status,
    created: SystemTime,
    updated: SystemTime,
    /// The call doing its work, until it ends.
    pub(crate) call: Option<CallId>,
    questions: Vec<Question>,
    /// Keys already used: a key is never asked twice in a task's life.
    keys: BTreeSet<String>,
    /// The tool's result (completed) or the JSON-RPC error (failed).
    outcome: Option<Value>,
    message: Option<&'static str>,
}

/// How the wire describes every task: its lifetime and polling hints.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hints {
    pub(crate) ttl_ms: u64,
    pub(crate) poll_ms: u64,
}

impl Task {
    pub(crate) fn new(principal: Option<String>, call: CallId, now: SystemTime) -> Self {
        Self {
            principal,
            status: Status::Working,
            created: now,
            updated: now,
            call: Some(call),
            questions: Vec::new(),
            keys: BTreeSet::new(),
            outcome: None,
            message: None,
        }
    }

    fn envelope(&self, id: &str, hints: Hints) -> Map<String, Value> {
        let stamp = |at: SystemTime| crate::time::Timestamp::new(at).to_string();
        let mut task = Map::new();
        task.insert("taskId".into(), json!(id));
        task.insert("status".into(), json!(self.status.as_str()));
        task.insert("createdAt".into(), json!(stamp(self.created)));
        task.insert("lastUpdatedAt".into(), json!(stamp(self.updated)));
        task.insert("ttlMs".into(), json!(hints.ttl_ms));
        task.insert("pollIntervalMs".into(), json!(hints.poll_ms));
        if let Some(message) = self.message {
            task.insert("statusMessage".into(), json!(message));
        }
        task
    }

    /// The `tools/call` result that hands the task to the client.
    pub(crate) fn created(&self, id: &str, hints: Hints) -> Value {
        let mut result = self.envelope(id, hints);
        result.insert("resultType".into(), json!("task"));
        Value::Object(result)
    }

    /// The `tasks/get` result: the task, with its questions, result or error.
    pub(crate) fn detailed(&self, id: &str, hints: Hints) -> Value {
        let mut result = self.envelope(id, hints);
        result.insert("resultType".into(), json!("complete"));
        match self.status {
            Status::InputRequired => {
                let asks: Map<String, Value> = self
                    .questions
                    .iter()
                    .map(|question| (question.key.clone(), question.ask.clone()))
                    .collect();
                result.insert("inputRequests".into(), Value::Object(asks));
            }
            Status::Completed => {
                result.insert("result".into(), self.outcome.clone().unwrap_or_else(|| json!({})));
            }
            Status::Failed => {
                result.insert("error".into(), self.outcome.clone().unwrap_or_else(|| json!({})));
            }
            Status::Working | Status::Cancelled => {}
        }
        Value::Object(result)
    }

    /// Parks a question until `tasks/update` answers it; the key is made unique in the
    /// task's life.
    pub(crate) fn ask(&mut self, key: String, ask: Value, reply: Reply, now: SystemTime) {
        if self.status.is_terminal() {
            reply.send(Err(ClientError::Abandoned));
            return;
        }
        let mut unique = key.clone();
        let mut n = 1;
        while self.keys.contains(&unique) {
            n += 1;
            unique = format!("{key}-{n}");
        }
        self.keys.insert(unique.clone());
        self.questions.push(Question {
            key: unique,
            ask,
            reply,
        });
        self.set(Status::InputRequired, now);
    }

    /// Hands each answer to the question it names; unknown keys are ignored. With no
    /// question left, the task is working again.
    pub(crate) fn answer(&mut self, responses: &Map<String, Value>, now: SystemTime) {
        let (answered, open): (Vec<Question>, Vec<Question>) = std::mem::take(&mut self.questions)
            .into_iter()
            .partition(|question| responses.contains_key(&question.key));
        self.questions = open;
        for question in answered {
            let answer = responses.get(&question.key).cloned().unwrap_or(Value::Null);
            question.reply.send(Ok(answer));
        }
        if self.status == Status::InputRequired && self.questions.is_empty() {
            self.set(Status::Working, now);
        }
    }

    /// Ends the task with the tool's result (`Ok`) or a JSON-RPC error (`Err`).
    pub(crate) fn end(&mut self, outcome: Result<Value, Value>, now: SystemTime) {
        let (status, value) = match outcome {
            Ok(result) => (Status::Completed, result),
            Err(error) => (Status::Failed, error),
        };
        self.outcome = Some(value);
        self.finish(status, now);
    }

    /// Ends the task as cancelled, unless it ended already.
    pub(crate) fn cancel(&mut self, now: SystemTime) {
        self.message = Some("cancelled by the client");
        self.finish(Status::Cancelled, now);
    }

    fn finish(&mut self, status: Status, now: SystemTime) {
        if self.status.is_terminal() {
            return;
        }
        self.call = None;
        // Their handler is gone: the replies drop unanswered.
        self.questions.clear();
        self.set(status, now);
    }

    fn set(&mut self, status: Status, now: SystemTime) {
        if !self.status.is_terminal() {
            self.status = status;
            self.updated = now;
        }
    }

    pub(crate) fn is_terminal(&self) -> bool {
        self.status.is_terminal()
    }
}

/// Every task the server holds, with when each ended one may be forgotten.
#[derive(Default)]
pub(crate) struct Tasks {
    map: BTreeMap<String, Task>,
    expiry: BTreeSet<(Instant, String)>,
}

impl Tasks {
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    pub(crate) fn insert(&mut self, id: String, task: Task) {
        self.map.insert(id, task);
    }

    /// Finds task `id` if `principal` started it.
    pub(crate) fn get_mut(&mut self, id: &str, principal: Option<&str>) -> Option<&mut Task> {
        self.map
            .get_mut(id)
            .filter(|task| task.principal.as_deref() == principal)
    }

    /// Finds task `id`, whoever started it (for its own call).
    pub(crate) fn by_id(&mut self, id: &str) -> Option<&mut Task> {
        self.map.get_mut(id)
    }

    /// Notes that task `id` ended and may be forgotten at `at`.
    pub(crate) fn expire_at(&mut self, id: &str, at: Instant) {
        self.expiry.insert((at, id.to_owned()));
    }

    /// Forgets the ended tasks whose time to live ran out.
    pub(crate) fn purge(&mut self, now: Instant) {
        while let Some((at, id)) = self.expiry.first().cloned() {
            if at > now {
                break;
            }
            self.expiry.pop_first();
            self.map.remove(&id);
        }
    }
}
