//! The fixtures of the conformance suite's tasks-extension scenarios (2026-07-28,
//! `io.modelcontextprotocol/tasks`): a tool that is never a task, tools that may or must
//! run as one, and tasks that ask the client for input before or while they run.

use std::time::Duration;

use rampart_core::{
    ErrorCode, HandlerError, RegisterError, Registry, RpcError, TaskSupport, Tool, ToolOutput,
};
use serde_json::{Value, json};
use smol::future::zip;

use crate::stateless_fixtures::{field, form};

/// The longest `slow_compute`, in seconds.
const MAX_SECONDS: f64 = 120.0;

/// Adds every tasks fixture to `registry`.
pub fn register(registry: Registry) -> Result<Registry, RegisterError> {
    let none = || json!({"type": "object", "properties": {}});
    registry
        .tool(
            Tool::new(
                "greet",
                json!({"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}),
                |args, _| async move { Ok(ToolOutput::text(format!("Hello, {}!", text(&args, "name")))) },
            )
            .description("Greets by name, always at once (never a task)"),
        )?
        .tool(
            Tool::new(
                "slow_compute",
                json!({
                    "type": "object",
                    "properties": {
                        "seconds": {"type": "number", "minimum": 0, "maximum": MAX_SECONDS},
                        "label": {"type": "string"}
                    },
                    "required": ["seconds"]
                }),
                |args, ctx| async move {
                    ctx.start_task();
                    let seconds = args["seconds"].as_f64().unwrap_or(0.0).clamp(0.0, MAX_SECONDS);
                    smol::Timer::after(Duration::from_secs_f64(seconds)).await;
                    Ok(ToolOutput::text(format!("computed {} after {seconds}s", text(&args, "label"))))
                },
            )
            .tasks(TaskSupport::Optional)
            .timeout(Duration::from_secs(180))
            .description("Sleeps for `seconds`, as a task when the client takes tasks"),
        )?
        .tool(
            Tool::new("failing_job", none(), |_, ctx| async move {
                ctx.start_task();
                smol::Timer::after(Duration::from_secs(1)).await;
                Ok(ToolOutput::error("job failed"))
            })
            .tasks(TaskSupport::Required)
            .description("Runs only as a task, and reports a tool error after a second"),
        )?
        .tool(
            Tool::new("protocol_error_job", none(), |_, ctx| async move {
                ctx.start_task();
                smol::Timer::after(Duration::from_millis(100)).await;
                Err(HandlerError::rpc(RpcError::new(
                    ErrorCode::InternalError,
                    "Internal error: simulated crash",
                )))
            })
            .tasks(TaskSupport::Optional)
            .description("Runs as a task and fails with a protocol error"),
        )?
        .tool(
            Tool::new(
                "confirm_delete",
                json!({"type": "object", "properties": {"filename": {"type": "string"}}, "required": ["filename"]}),
                |args, ctx| async move {
                    ctx.start_task();
                    let answer = ctx.input("confirm").elicit(confirm(&format!("Delete {}?", text(&args, "filename")))).await?;
                    let confirmed = answer.content.as_ref().and_then(|c| c.get("confirm")).and_then(Value::as_bool);
                    let verb = if confirmed == Some(true) { "Deleted" } else { "Kept" };
                    Ok(ToolOutput::text(format!("{verb} {}", text(&args, "filename"))))
                },
            )
            .tasks(TaskSupport::Optional)
            .description("Asks for a confirmation while it runs as a task"),
        )?
        .tool(
            Tool::new("multi_input", none(), |_, ctx| async move {
                ctx.start_task();
                let name = ctx.input("name").elicit(form("What is your name?", "name"));
                let sure = ctx.input("confirm").elicit(confirm("Go ahead?"));
                let (name, sure) = zip(name, sure).await;
                let (name, _) = (name?, sure?);
                Ok(ToolOutput::text(format!("Both answered ({})", field(&name.content, "name"))))
            })
            .tasks(TaskSupport::Optional)
            .description("Asks two questions at once while it runs as a task"),
        )?
        .tool(
            Tool::new("test_tool_with_task", none(), |_, ctx| async move {
                // Asked before the task exists: answered in rounds of input_required.
                let name = ctx.input("user_name").elicit(form("What is your name?", "name")).await?;
                ctx.start_task();
                smol::Timer::after(Duration::from_millis(100)).await;
                Ok(ToolOutput::text(format!("Hello, {}!", field(&name.content, "name"))))
            })
            .tasks(TaskSupport::Required)
            .description("Asks a name, then runs as a task that greets"),
        )
}

fn text(args: &Value, name: &str) -> String {
    args[name].as_str().unwrap_or_default().to_owned()
}

/// A yes/no form.
fn confirm(message: &str) -> rampart_core::Elicitation {
    rampart_core::Elicitation::form(
        message,
        json!({"type": "object", "properties": {"confirm": {"type": "boolean"}}, "required": ["confirm"]}),
    )
}
