//! The demo's own tools: a small user directory in the `user` namespace (listed first, as it
//! is harmless to call without arguments), a counter whose
//! resource clients can subscribe to, and tools that show each outcome (`echo`, `add`,
//! `sleep` for progress and timeouts, `fail` and `panic` for E_RUNTIME).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rampart_core::{
    HandlerError, LoggingLevel, Notice, ReadinessCheck, RegisterError, Registry, Tool, ToolOutput,
};
use serde_json::{Value, json};

use crate::{COUNTER_URI, Demo};

/// The longest `sleep` the demo allows, in milliseconds.
pub const MAX_SLEEP_MS: u64 = 600_000;

/// Adds the demo's tools; `database` is the readiness check that `database.set@v1` flips.
pub fn register(
    registry: Registry,
    demo: &Demo,
    database: ReadinessCheck,
) -> Result<Registry, RegisterError> {
    let users = Arc::clone(&demo.users);
    let list_users = Arc::clone(&demo.users);
    let create_users = Arc::clone(&demo.users);
    let counter = Arc::clone(&demo.counter);
    registry
        .tool(
            Tool::new("user.list@v1", json!({"type": "object", "properties": {}}), move |_, _ctx| {
                let users = Arc::clone(&list_users);
                async move {
                    let users = users.lock().map_err(|_| HandlerError::failed("user directory poisoned"))?.first(100);
                    Ok(ToolOutput::structured(json!({ "users": users })))
                }
            })
            .title("List users")
            .description("Lists the first 100 users of the demo's directory.")
            .annotations(json!({"readOnlyHint": true, "idempotentHint": true})),
        )?
        .tool(
            Tool::new(
                "user.create@v1",
                json!({
                    "type": "object",
                    "properties": {
                        "email": {"type": "string", "format": "email", "description": "The user's email address"},
                        "name": {"type": "string", "minLength": 1, "maxLength": 200, "description": "The display name"}
                    },
                    "required": ["email", "name"],
                    "additionalProperties": false
                }),
                move |args, _ctx| {
                    let users = Arc::clone(&create_users);
                    async move {
                        let email = str_arg(&args, "email");
                        let name = str_arg(&args, "name");
                        let user = users.lock().map_err(|_| HandlerError::failed("user directory poisoned"))?.create(email, name);
                        Ok(ToolOutput::structured(user))
                    }
                },
            )
            .title("Create a user")
            .required_scope("users:write")
            .description("Creates a user in the demo's in-memory directory and returns it.")
            .output_schema(user_schema())
            .annotations(json!({"readOnlyHint": false, "destructiveHint": false, "idempotentHint": false})),
        )?
        .tool(
            Tool::new(
                "user.get@v1",
                json!({
                    "type": "object",
                    "properties": {"id": {"type": "string", "description": "The id returned by user.create@v1"}},
                    "required": ["id"],
                    "additionalProperties": false
                }),
                move |args, _ctx| {
                    let users = Arc::clone(&users);
                    async move {
                        let id = str_arg(&args, "id");
                        let found = users.lock().map_err(|_| HandlerError::failed("user directory poisoned"))?.get(&id);
                        Ok(match found {
                            Some(user) => ToolOutput::structured(user),
                            None => ToolOutput::error(format!("No user with id {id}")),
                        })
                    }
                },
            )
            .title("Get a user")
            .description("Looks a user up by id.")
            .output_schema(user_schema())
            .annotations(json!({"readOnlyHint": true})),
        )?
        .tool(
            Tool::new(
                "echo",
                json!({
                    "type": "object",
                    "properties": {"text": {"type": "string", "description": "Text to send back"}},
                    "required": ["text"]
                }),
                |args, _ctx| async move { Ok(ToolOutput::text(str_arg(&args, "text"))) },
            )
            .title("Echo")
            .description("Returns its text unchanged.")
            .annotations(json!({"readOnlyHint": true, "idempotentHint": true})),
        )?
        .tool(
            Tool::new(
                "add",
                json!({
                    "type": "object",
                    "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
                    "required": ["a", "b"]
                }),
                |args, _ctx| async move {
                    let a = &args["a"];
                    let b = &args["b"];
                    let sum = match (a.as_i64(), b.as_i64()) {
                        (Some(a), Some(b)) => a.checked_add(b).map(Value::from),
                        _ => None,
                    }
                    .unwrap_or_else(|| json!(a.as_f64().unwrap_or(0.0) + b.as_f64().unwrap_or(0.0)));
                    Ok(ToolOutput::text(sum.to_string()).with_structured(json!({ "sum": sum })))
                },
            )
            .title("Add")
            .description("Adds two numbers.")
            .output_schema(json!({
                "type": "object",
                "properties": {"sum": {"type": "number"}},
                "required": ["sum"]
            }))
            .annotations(json!({"readOnlyHint": true, "idempotentHint": true})),
        )?
        .tool(
            Tool::new(
                "sleep",
                json!({
                    "type": "object",
                    "properties": {"ms": {"type": "integer", "minimum": 0, "maximum": MAX_SLEEP_MS}},
                    "required": ["ms"]
                }),
                |args, ctx| async move {
                    let ms = args["ms"].as_u64().unwrap_or(0);
                    ctx.log(LoggingLevel::Info, json!({"sleeping_ms": ms}));
                    // A long sleep keeps the client's request timer alive.
                    ctx.heartbeat(Duration::from_secs(10));
                    ctx.progress(0.0, Some(ms as f64), Some("sleeping".into()));
                    smol::Timer::after(Duration::from_millis(ms)).await;
                    ctx.progress(ms as f64, Some(ms as f64), Some("done".into()));
                    Ok(ToolOutput::text(format!("slept {ms} ms")))
                },
            )
            .title("Sleep")
            .description("Waits the given milliseconds; longer than TOOL_TIMEOUT_MS shows E_TIMEOUT.")
            .annotations(json!({"readOnlyHint": true})),
        )?
        .tool(
            Tool::new(
                "database.set@v1",
                json!({
                    "type": "object",
                    "properties": {"up": {"type": "boolean", "description": "Whether the demo database is reachable"}},
                    "required": ["up"]
                }),
                move |args, _ctx| {
                    let database = database.clone();
                    async move {
                        let up = args["up"].as_bool().unwrap_or(true);
                        database.set(up);
                        Ok(ToolOutput::text(if up { "database up: /ready answers 200" } else { "database down: /ready answers 503" }))
                    }
                },
            )
            .title("Flip the demo database")
            .description("Marks the demo's pretend database up or down, which /ready reports.")
            .annotations(json!({"destructiveHint": false, "idempotentHint": true})),
        )?
        .tool(
            Tool::new("fail", json!({"type": "object"}), |_args, _ctx| async move {
                Err(HandlerError::failed("the fail tool always fails"))
            })
            .title("Fail")
            .description("Always fails, to show E_RUNTIME."),
        )?
        .tool(
            Tool::new("panic", json!({"type": "object"}), |_args, _ctx| async move {
                if true {
                    panic!("the panic tool always panics");
                }
                Ok(ToolOutput::text("unreachable"))
            })
            .title("Panic")
            .description("Always panics, to show that a panic is contained as E_RUNTIME."),
        )?
        .tool(
            Tool::new("counter.increment", json!({"type": "object", "properties": {}}), move |_, ctx| {
                let counter = Arc::clone(&counter);
                async move {
                    let value = {
                        let mut value = counter.lock().map_err(|_| HandlerError::failed("counter poisoned"))?;
                        *value += 1;
                        *value
                    };
                    // Sessions subscribed to the counter's resource hear of the change.
                    ctx.notify(Notice::ResourceUpdated(COUNTER_URI.into()));
                    Ok(ToolOutput::text(format!("counter is now {value}")).with_structured(json!({"value": value})))
                }
            })
            .title("Increment the counter")
            .description("Adds one to the counter at demo://counter and notifies its subscribers.")
            .output_schema(json!({"type": "object", "properties": {"value": {"type": "integer"}}, "required": ["value"]})),
        )
}

fn str_arg(args: &Value, name: &str) -> String {
    args.get(name)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn user_schema() -> Value {
    json!({
        "type": "object",
        "properties": {"id": {"type": "string"}, "email": {"type": "string"}, "name": {"type": "string"}},
        "required": ["id", "email", "name"]
    })
}

/// The in-memory user directory, capped so a client cannot grow it without bound.
#[derive(Debug, Default)]
pub struct Directory {
    next: u64,
    users: BTreeMap<String, Value>,
}

impl Directory {
    const CAP: usize = 10_000;

    /// Adds a user and returns it.
    pub fn create(&mut self, email: String, name: String) -> Value {
        self.next += 1;
        let id = format!("usr_{}", self.next);
        let user = json!({"id": id, "email": email, "name": name});
        if self.users.len() >= Self::CAP {
            self.users.pop_first();
        }
        self.users.insert(id, user.clone());
        user
    }

    /// Returns the ids of every user, in order.
    pub fn ids(&self) -> Vec<String> {
        self.users.keys().cloned().collect()
    }

    /// Returns the first `limit` users, in id order.
    pub fn first(&self, limit: usize) -> Vec<Value> {
        self.users.values().take(limit).cloned().collect()
    }

    /// Returns the user with this id.
    pub fn get(&self, id: &str) -> Option<Value> {
        self.users.get(id).cloned()
    }
}
