//! How running handlers end: completed with their outcome, timed out, cancelled by the
//! client, or orphaned when their connection closes. Each ends once; whatever comes after
//! (a late outcome, a second cancel) is refused or ignored.

use serde::Serialize;
use serde_json::Value;

use super::calls::Running;
use super::connections::Kind;
use super::record::Finished;
use super::sessions::SessionKey;
use super::timers::Timer;
use super::{CallError, ConnectionId, Event, Server};
use crate::error::{ErrorCode, RpcError};
use crate::handler::{
    CallId, CallKind, HandlerError, Outcome, Output, ReadResult, ToolOutput, runtime_error,
};
use crate::jsonrpc;
use crate::log::Status;
use crate::mcp;
use crate::mcp::modern;
use crate::time::Now;

impl Server {
    /// Sends a completed call's response (see `Server::complete`).
    pub(super) fn finish(&mut self, call: CallId, outcome: Outcome, now: Now) -> Result<(), CallError> {
        let Some(running) = self.take_call(call) else {
            return Err(CallError::NotRunning(call));
        };
        if running.task().is_some() {
            let outcome = self.task_result(&running, outcome);
            self.end_task(running, outcome, now);
            return Ok(());
        }
        let tool_error = running.kind == CallKind::Tool
            && match &outcome {
                Ok(Output::Tool(output)) => output.is_error(),
                Err(err) => err
                    .as_tool_result(
                        self.config.validation_errors == crate::config::ValidationErrors::ToolResult,
                    )
                    .is_some(),
                Ok(_) => false,
            };
        let mut running = running;
        running.request.facts.tool_error = tool_error;
        let (bytes, error) = match self.response(&running, outcome, now) {
            Ok(bytes) => (bytes, None),
            Err(error) => {
                let error = match running.request.modern {
                    Some(_) => modern::error(error),
                    None => error,
                };
                let bytes = jsonrpc::write_error(Some(&running.request.id), &error, self.config.debug);
                (bytes, Some(error))
            }
        };
        self.finish_call(running, bytes, error.as_ref(), now);
        Ok(())
    }

    /// Writes the response to a finished call's request. A 2026-07-28 handler that asked the
    /// client something still unanswered gets `input_required`, whatever it returned; one
    /// that failed for want of a capability the request did not declare gets -32021.
    fn response(&self, running: &Running, outcome: Outcome, now: Now) -> Result<Vec<u8>, RpcError> {
        if let Some(modern) = &running.request.modern {
            let sealing = self.sealing(running.request.principal.as_deref(), now);
            if let Some(required) = modern.input.required(&sealing) {
                let mut result = required?;
                modern::finish(&mut result, None, &self.config);
                return Ok(jsonrpc::write_result(&running.request.id, &result));
            }
            if outcome.is_err()
                && let Some(capability) = modern.input.missing()
            {
                return Err(modern::missing_capability(capability));
            }
        }
        self.result_bytes(running, outcome)
    }

    /// A task's outcome as `tasks/get` inlines it: the tool's result, or the error.
    fn task_result(&self, running: &Running, outcome: Outcome) -> Result<Value, RpcError> {
        match self.tool_outcome(outcome).map_err(HandlerError::into_rpc)? {
            Output::Tool(output) => serde_json::to_value(self.tool_result(running, output)?)
                .map_err(|err| runtime_error(err.to_string())),
            _ => Err(runtime_error("a tool handler returned another kind of output")),
        }
    }

    /// A tool's result checked against its output schema and shaped for the request's
    /// revision.
    fn tool_result(&self, running: &Running, output: ToolOutput) -> Result<ToolOutput, RpcError> {
        mcp::tool_result(
            &self.registry.tools,
            &running.name,
            output,
            running.request.version,
        )
    }

    /// A tool's failure that the model should see, as the `isError` result it is answered
    /// with: one the handler reported, or arguments its type refused when validation errors
    /// are tool results.
    fn tool_outcome(&self, outcome: Outcome) -> Outcome {
        outcome.or_else(|err| {
            let as_result = self.config.validation_errors == crate::config::ValidationErrors::ToolResult;
            err.as_tool_result(as_result).map(Output::Tool).ok_or(err)
        })
    }

    /// Writes a handler's outcome as the response to its request.
    fn result_bytes(&self, running: &Running, outcome: Outcome) -> Result<Vec<u8>, RpcError> {
        let outcome = match running.kind {
            CallKind::Tool => self.tool_outcome(outcome),
            _ => outcome,
        };
        match (running.kind, outcome.map_err(HandlerError::into_rpc)?) {
            (CallKind::Tool, Output::Tool(output)) => {
                self.write_result(running, &self.tool_result(running, output)?)
            }
            (CallKind::ResourceRead, Output::Resource(mut contents)) => {
                if contents.is_empty() {
                    // A read that finds nothing is the resource missing, not an empty result.
                    return Err(mcp::resource_not_found(&running.name));
                }
                // Contents of the URI read carry its listed MIME type unless they name one.
                let listed = self.registry.resources.listed_mime_type(&running.name);
                for item in contents
                    .iter_mut()
                    .filter(|item| item.mime_type.is_none() && *item.uri == *running.name)
                {
                    item.mime_type = listed.map(str::to_owned);
                }
                self.write_result(running, &ReadResult { contents: &contents })
            }
            (CallKind::PromptGet, Output::Prompt(result)) => self.write_result(running, &result),
            (CallKind::Completion, Output::Completion(completion)) => {
                self.write_result(running, &serde_json::json!({ "completion": completion }))
            }
            (kind, _) => Err(runtime_error(format!(
                "a {kind:?} handler returned another kind of output"
            ))),
        }
    }

    /// Writes a result as its request's era wants it: as it is for the legacy era, with
    /// `resultType`, caching hints and `serverInfo` for 2026-07-28 (added to the written
    /// object: no handler result has those keys of its own).
    fn write_result<T: Serialize>(&self, running: &Running, result: &T) -> Result<Vec<u8>, RpcError> {
        let id = &running.request.id;
        if running.request.modern.is_none() {
            return Ok(jsonrpc::write_result(id, result));
        }
        let cache = (running.kind == CallKind::ResourceRead).then(|| {
            let hint = self.registry.cache.reads;
            format!(
                r#""ttlMs":{},"cacheScope":"{}""#,
                hint.ttl_ms(),
                hint.scope.as_str()
            )
        });
        let members = [
            r#""resultType":"complete""#,
            self.server_info.as_str(),
            cache.as_deref().unwrap_or_default(),
        ];
        let count = if cache.is_some() { 3 } else { 2 };
        Ok(jsonrpc::write_result_with(id, result, &members[..count]))
    }

    /// A call's deadline passed: E_TIMEOUT to the client, a cancel to the embedder.
    pub(super) fn call_timed_out(&mut self, call: CallId, now: Now) {
        let Some(running) = self.calls.get(call) else {
            return;
        };
        let limit = running.deadline.saturating_duration_since(running.started);
        let message = format!("Tool timed out after {} ms", limit.as_millis());
        self.time_out_call(call, message, now);
    }

    /// Cancels a running call and answers it with E_TIMEOUT and `message`.
    pub(super) fn time_out_call(&mut self, call: CallId, message: String, now: Now) {
        let Some(running) = self.take_call(call) else {
            return;
        };
        let error = RpcError::new(ErrorCode::Timeout, message);
        self.cancel_handler(call, &running);
        if running.task().is_some() {
            return self.end_task(running, Err(error), now);
        }
        let bytes = jsonrpc::write_error(Some(&running.request.id), &error, self.config.debug);
        self.finish_call(running, bytes, Some(&error), now);
    }

    /// Tells the embedder to drop a call's handler, if it was handed one.
    fn cancel_handler(&mut self, call: CallId, running: &Running) {
        if running.handed_out {
            self.events.push_back(Event::Cancel(call));
        }
    }

    /// Answers a call that never started with `error` (its tool's limit refused it).
    pub(super) fn refuse_call(&mut self, call: CallId, error: &RpcError, now: Now) {
        let Some(running) = self.take_call(call) else {
            return;
        };
        let bytes = jsonrpc::write_error(Some(&running.request.id), error, self.config.debug);
        self.finish_call(running, bytes, Some(error), now);
    }

    /// Sends a finished call's response on its connection and logs it.
    fn finish_call(&mut self, running: Running, bytes: Vec<u8>, error: Option<&RpcError>, now: Now) {
        let connection = running.request.connection;
        let status = match (&running.request.modern, error) {
            (Some(_), Some(error)) => modern::http_status(error.code),
            _ => 200,
        };
        let mut finished = Finished::new(connection, running.request.log_id, running.started);
        finished.method = Some(running.name);
        finished.outcome = error.cloned().map_or(Ok(Status::Ok), Err);
        finished.trace = running.request.modern.and_then(|modern| modern.meta.trace);
        finished.facts = running.request.facts;
        if error.is_some() {
            finished.facts.tool_error = false;
        }
        if let Some(span) = finished.facts.span.as_mut()
            && self.config.trace.capture_content
            && error.is_none()
            && span.method == "tools/call"
        {
            // Only when opted in: a result may hold personal data.
            span.result = serde_json::from_slice::<Value>(&bytes)
                .ok()
                .and_then(|response| response.get("result").map(Value::to_string));
        }
        match self.connections.get(&connection).map(|conn| &conn.kind) {
            Some(Kind::Ndjson(_)) => {
                self.send_line(connection, bytes);
                self.log_finished(now, finished);
                self.drain_lines(connection, now);
            }
            Some(Kind::Http(_)) => self.http_call_finished(
                connection,
                &running.request.session,
                (status, bytes),
                finished,
                now,
            ),
            None => self.log_finished(now, finished),
        }
    }

    /// Cancels a call at the client's request: no response is sent (MCP says so).
    pub(super) fn cancel(&mut self, call: CallId, now: Now) {
        let Some(running) = self.take_call(call) else {
            return;
        };
        self.cancel_handler(call, &running);
        let task = running.task().map(str::to_owned);
        let mut finished = Finished::new(
            running.request.connection,
            running.request.log_id,
            running.started,
        );
        finished.method = Some(running.name);
        finished.outcome = Ok(Status::Cancelled);
        finished.facts = running.request.facts;
        self.log_finished(now, finished);
        if let Some(task) = task {
            // A task answered its request long ago: only its status changes.
            return self.task_cancelled(&task, now);
        }
        if let Some(Kind::Http(_)) = self
            .connections
            .get(&running.request.connection)
            .map(|conn| &conn.kind)
        {
            // The HTTP request that carried the call is answered with 202 and no result.
            self.http_call_cancelled(running.request.connection, now);
        }
    }

    /// Removes a call from every table, with its requests to the client: the client is told
    /// to drop them, and their handlers learn they were abandoned. `None` if it is not running.
    pub(super) fn take_call(&mut self, call: CallId) -> Option<Running> {
        self.calls.get(call)?;
        for (id, pending) in self.outgoing.take_call(call) {
            self.timers.disarm(pending.deadline, Timer::ClientRequest(id));
            self.withdraw_client_request(call, id, "the request it served has ended");
        }
        let running = self.calls.remove(call)?;
        self.timers.disarm(running.deadline, Timer::Call(call));
        if let Some(at) = running.next_beat() {
            self.timers.disarm(at, Timer::Heartbeat(call));
        }
        // A task left its request's session when it answered it.
        if running.task().is_none()
            && let Some(session) = self.sessions.get_mut(&running.request.session)
        {
            session.in_flight.remove(&running.request.id);
        }
        self.touched.push(running.request.connection);
        Some(running)
    }

    /// Removes a connection, cancels what runs for it, and tells the embedder to close it.
    pub(super) fn close(&mut self, connection: ConnectionId, now: Now) {
        let Some(conn) = self.connections.remove(&connection) else {
            return;
        };
        for call in self.calls.of_connection(connection) {
            if let Some(running) = self.take_call(call) {
                self.cancel_handler(call, &running);
                let mut finished = Finished::new(connection, running.request.log_id, running.started);
                finished.method = Some(running.name);
                finished.outcome = Ok(Status::Cancelled);
                finished.facts = running.request.facts;
                self.log_finished(now, finished);
            }
        }
        if let Kind::Http(http) = &conn.kind {
            if let Some(deadline) = http.deadline {
                self.timers.disarm(deadline, Timer::Connection(connection));
            }
            if let Some(session) = http.stream_session() {
                self.stream_closed(session, connection);
            }
        }
        self.sessions.remove(&SessionKey::Conn(connection));
        self.events.push_back(Event::Closed(connection));
    }

    /// Sends one line on an NDJSON connection.
    pub(super) fn send_line(&mut self, connection: ConnectionId, mut data: Vec<u8>) {
        data.push(b'\n');
        self.transmit(connection, data);
    }
}
