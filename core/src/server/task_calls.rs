//! Calls as tasks (the 2026-07-28 tasks extension): whether a `tools/call` may become a
//! task, the handler's `start_task` that answers its request with the task, the questions
//! a task parks until `tasks/update`, the end of a task's call, and `tasks/get`,
//! `tasks/update` and `tasks/cancel`.

use serde_json::{Map, Value, json};

use super::calls::{Running, TaskLink};
use super::connections::Kind;
use super::record::Finished;
use super::tasks::{EXTENSION, Hints, Task};
use super::{ConnectionId, Server};
use crate::error::{ErrorCode, RpcError};
use crate::handler::{CallId, ClientError, ClientRequest, Reply};
use crate::jsonrpc;
use crate::log::Status;
use crate::mcp::{invalid_params, modern};
use crate::registry::{Registry, TaskSupport};
use crate::time::Now;

/// The methods of the tasks extension this server answers.
pub(super) const TASK_METHODS: [&str; 3] = ["tasks/get", "tasks/update", "tasks/cancel"];

/// Returns whether `capabilities` (a request's own) declare the tasks extension.
fn declares_tasks(capabilities: &Value) -> bool {
    capabilities
        .get("extensions")
        .and_then(|extensions| extensions.get(EXTENSION))
        .is_some_and(Value::is_object)
}

/// -32021 for a request that needs the tasks extension and did not declare it.
fn missing_extension() -> RpcError {
    RpcError::new(
        ErrorCode::MissingCapability,
        format!("Missing required client capability: extension {EXTENSION}"),
    )
    .with_data(json!({"requiredCapabilities": {"extensions": {EXTENSION: {}}}}))
}

/// Decides whether a 2026-07-28 `tools/call` may run as a task: only for a tool that
/// supports tasks and a request that declares the extension; a tool that runs only as a
/// task refuses a request without it (-32021).
pub(super) fn task_link(
    registry: &Registry,
    method: &str,
    params: Option<&Value>,
    capabilities: &Value,
) -> Result<TaskLink, RpcError> {
    if method != "tools/call" {
        return Ok(TaskLink::None);
    }
    let support = params
        .and_then(|p| p.get("name"))
        .and_then(Value::as_str)
        .and_then(|name| registry.tools.get(name))
        .map_or(TaskSupport::Never, |entry| entry.tool.task_support());
    match (support, declares_tasks(capabilities)) {
        (TaskSupport::Never, _) | (TaskSupport::Optional, false) => Ok(TaskLink::None),
        (TaskSupport::Required, false) => Err(missing_extension()),
        (_, true) => Ok(TaskLink::Eligible),
    }
}

impl Server {
    fn task_hints(&self) -> Hints {
        let millis = |d: std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Hints {
            ttl_ms: millis(self.config.task_ttl).max(1),
            poll_ms: millis(self.config.task_poll_interval).max(1),
        }
    }

    /// The handler of `call` began its background part: if it may, the call becomes a task
    /// and its request is answered with it at once.
    pub(super) fn start_task(&mut self, call: CallId, now: Now) {
        self.tasks.purge(now.instant);
        let full = self.tasks.len() >= self.config.max_tasks;
        let id = self.new_task_id();
        let hints = self.task_hints();
        let Some(running) = self.calls.get_mut(call) else {
            return;
        };
        let Some(modern) = running.request.modern.as_deref_mut() else {
            return;
        };
        if modern.task != TaskLink::Eligible || full {
            return;
        }
        modern.task = TaskLink::Started(id.clone());
        let task = Task::new(running.request.principal.clone(), call, now.wall);
        let mut result = task.created(&id, hints);
        // Stored before the answer leaves: a `tasks/get` right after it finds the task.
        self.tasks.insert(id, task);
        modern::finish(&mut result, None, &self.config);
        let bytes = jsonrpc::write_result(&running.request.id, &result);
        let connection = running.request.connection;
        let session = running.request.session.clone();
        let mut finished = Finished::new(connection, running.request.log_id.clone(), running.started);
        finished.method = Some(running.name.clone());
        finished.trace = modern.meta.trace.clone();
        finished.facts = running.request.facts.clone();
        let request_id = running.request.id.clone();
        // The request is answered: the call no longer belongs to it.
        if let Some(state) = self.sessions.get_mut(&session) {
            state.in_flight.remove(&request_id);
        }
        self.touched.push(connection);
        match self.connections.get(&connection).map(|conn| &conn.kind) {
            Some(Kind::Ndjson(_)) => {
                self.send_line(connection, bytes);
                self.log_finished(now, finished);
            }
            Some(Kind::Http(_)) => self.http_call_finished(connection, &session, (200, bytes), finished, now),
            None => self.log_finished(now, finished),
        }
    }

    /// Parks a task's question until `tasks/update` answers it (or refuses it at once when
    /// the request that started the task did not declare what it needs).
    pub(super) fn task_question(
        &mut self,
        call: CallId,
        key: Option<String>,
        request: &ClientRequest,
        reply: Reply,
        now: Now,
    ) {
        let Some(running) = self.calls.get(call) else {
            return reply.send(Err(ClientError::Abandoned));
        };
        let Some(id) = running.task().map(str::to_owned) else {
            return reply.send(Err(ClientError::Abandoned));
        };
        let (capability, mode) = request.capability();
        let declared = running
            .request
            .modern
            .as_deref()
            .is_some_and(|modern| modern::declares(&modern.meta.capabilities, capability, mode));
        if !declared {
            return reply.send(Err(ClientError::NotSupported(request.capability_name())));
        }
        let ask = request.input_request();
        let key = key.unwrap_or_else(|| capability.to_owned());
        match self.tasks.by_id(&id) {
            Some(task) => task.ask(key, ask, reply, now.wall),
            None => reply.send(Err(ClientError::Abandoned)),
        }
    }

    /// Ends a task's call: its outcome is kept for `tasks/get`, and nothing is sent.
    pub(super) fn end_task(&mut self, running: Running, outcome: Result<Value, RpcError>, now: Now) {
        let Some(id) = running.task().map(str::to_owned) else {
            return;
        };
        let mut finished = Finished::new(
            running.request.connection,
            running.request.log_id,
            running.started,
        );
        finished.method = Some(running.name);
        finished.outcome = outcome.as_ref().map(|_| Status::Ok).map_err(Clone::clone);
        finished.trace = running.request.modern.and_then(|modern| modern.meta.trace);
        let outcome = outcome.map_err(|error| modern::error(error).to_json(self.config.debug));
        if let Some(task) = self.tasks.by_id(&id) {
            task.end(outcome, now.wall);
            self.tasks.expire_at(&id, now.instant + self.config.task_ttl);
        }
        self.log_finished(now, finished);
    }

    /// Notes that a task's call was cancelled.
    pub(super) fn task_cancelled(&mut self, id: &str, now: Now) {
        if let Some(task) = self.tasks.by_id(id) {
            task.cancel(now.wall);
            self.tasks.expire_at(id, now.instant + self.config.task_ttl);
        }
    }

    /// Answers `tasks/get`, `tasks/update` or `tasks/cancel` of a request declaring
    /// `capabilities`, made by `connection`.
    pub(super) fn task_method(
        &mut self,
        connection: ConnectionId,
        method: &str,
        params: Option<&Value>,
        capabilities: &Value,
        now: Now,
    ) -> Result<Value, RpcError> {
        if !declares_tasks(capabilities) {
            return Err(missing_extension());
        }
        self.tasks.purge(now.instant);
        let id = params
            .and_then(|p| p.get("taskId"))
            .and_then(Value::as_str)
            .ok_or_else(|| invalid_params(format!("Invalid params: {method} needs a string taskId")))?;
        let principal = self
            .connections
            .get(&connection)
            .and_then(|conn| conn.principal_name())
            .map(str::to_owned);
        let hints = self.task_hints();
        let not_found = || invalid_params("Invalid params: no such task").with_debug(json!({ "taskId": id }));
        let Some(task) = self.tasks.get_mut(id, principal.as_deref()) else {
            return Err(not_found());
        };
        let mut result = match method {
            "tasks/get" => task.detailed(id, hints),
            "tasks/update" => {
                let responses = match params.and_then(|p| p.get("inputResponses")) {
                    Some(Value::Object(responses)) => responses,
                    _ => {
                        return Err(invalid_params(
                            "Invalid params: tasks/update needs an inputResponses object",
                        ));
                    }
                };
                let answers: Map<String, Value> = responses
                    .iter()
                    .filter(|(_, answer)| answer.is_object())
                    .map(|(key, answer)| (key.clone(), answer.clone()))
                    .collect();
                task.answer(&answers, now.wall);
                json!({"resultType": "complete"})
            }
            _ => {
                if let Some(call) = task.call.filter(|_| !task.is_terminal()) {
                    self.cancel(call, now);
                }
                json!({"resultType": "complete"})
            }
        };
        modern::finish(&mut result, None, &self.config);
        Ok(result)
    }

    /// A new task id: 128 bits from the seeded CSPRNG, in hex (safe in a header).
    fn new_task_id(&mut self) -> String {
        use rand_core::RngCore;
        format!("{:016x}{:016x}", self.rng.next_u64(), self.rng.next_u64())
    }
}
