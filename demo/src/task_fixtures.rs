//! The fixtures of the conformance suite's tasks-extension scenarios (2026-07-28,
//! `io.modelcontextprotocol/tasks`): a tool that is never a task, tools that may or must
//! run as one, and tasks that ask the client for input before or while they run.

use std::time::Duration;

use rampart_core::{
    Context, ErrorCode, HandlerError, RegisterError, Registry, RpcError, TaskSupport, Tool, ToolOutput,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use smol::future::zip;

use crate::NoArguments;
use crate::stateless_fixtures::{field, form};

/// The longest `slow_compute`, in seconds.
const MAX_SECONDS: f64 = 120.0;

#[derive(Deserialize, JsonSchema)]
struct Greet {
    name: String,
}

#[derive(Deserialize, JsonSchema)]
struct SlowCompute {
    #[schemars(range(min = 0, max = MAX_SECONDS))]
    seconds: f64,
    #[serde(default)]
    label: String,
}

#[derive(Deserialize, JsonSchema)]
struct ConfirmDelete {
    filename: String,
}

/// Adds every tasks fixture to `registry`.
pub fn register(registry: Registry) -> Result<Registry, RegisterError> {
    registry
        .tool(
            Tool::typed("greet", |args: Greet, _ctx: Context| async move {
                Ok(format!("Hello, {}!", args.name))
            })
            .description("Greets by name, always at once (never a task)"),
        )?
        .tool(
            Tool::typed("slow_compute", |args: SlowCompute, ctx: Context| async move {
                ctx.start_task();
                let seconds = args.seconds.clamp(0.0, MAX_SECONDS);
                smol::Timer::after(Duration::from_secs_f64(seconds)).await;
                Ok(format!("computed {} after {seconds}s", args.label))
            })
            .tasks(TaskSupport::Optional)
            .timeout(Duration::from_secs(180))
            .description("Sleeps for `seconds`, as a task when the client takes tasks"),
        )?
        .tool(
            Tool::typed("failing_job", |_: NoArguments, ctx: Context| async move {
                ctx.start_task();
                smol::Timer::after(Duration::from_secs(1)).await;
                Ok(ToolOutput::error("job failed"))
            })
            .tasks(TaskSupport::Required)
            .description("Runs only as a task, and reports a tool error after a second"),
        )?
        .tool(
            Tool::typed("protocol_error_job", |_: NoArguments, ctx: Context| async move {
                ctx.start_task();
                smol::Timer::after(Duration::from_millis(100)).await;
                Err::<ToolOutput, _>(HandlerError::rpc(RpcError::new(
                    ErrorCode::InternalError,
                    "Internal error: simulated crash",
                )))
            })
            .tasks(TaskSupport::Optional)
            .description("Runs as a task and fails with a protocol error"),
        )?
        .tool(
            Tool::typed(
                "confirm_delete",
                |ConfirmDelete { filename }: ConfirmDelete, ctx: Context| async move {
                    ctx.start_task();
                    let answer = ctx
                        .input("confirm")
                        .elicit(confirm(&format!("Delete {filename}?")))
                        .await?;
                    let confirmed = answer
                        .content
                        .as_ref()
                        .and_then(|c| c.get("confirm"))
                        .and_then(Value::as_bool);
                    let verb = if confirmed == Some(true) {
                        "Deleted"
                    } else {
                        "Kept"
                    };
                    Ok(format!("{verb} {filename}"))
                },
            )
            .tasks(TaskSupport::Optional)
            .description("Asks for a confirmation while it runs as a task"),
        )?
        .tool(
            Tool::typed("multi_input", |_: NoArguments, ctx: Context| async move {
                ctx.start_task();
                let name = ctx.input("name").elicit(form("What is your name?", "name"));
                let sure = ctx.input("confirm").elicit(confirm("Go ahead?"));
                let (name, sure) = zip(name, sure).await;
                let (name, _) = (name?, sure?);
                Ok(ToolOutput::text(format!(
                    "Both answered ({})",
                    field(&name.content, "name")
                )))
            })
            .tasks(TaskSupport::Optional)
            .description("Asks two questions at once while it runs as a task"),
        )?
        .tool(
            Tool::typed("test_tool_with_task", |_: NoArguments, ctx: Context| async move {
                // Asked before the task exists: answered in rounds of input_required.
                let name = ctx
                    .input("user_name")
                    .elicit(form("What is your name?", "name"))
                    .await?;
                ctx.start_task();
                smol::Timer::after(Duration::from_millis(100)).await;
                Ok(ToolOutput::text(format!(
                    "Hello, {}!",
                    field(&name.content, "name")
                )))
            })
            .tasks(TaskSupport::Required)
            .description("Asks a name, then runs as a task that greets"),
        )
}

/// A yes/no form.
fn confirm(message: &str) -> rampart_core::Elicitation {
    rampart_core::Elicitation::form(
        message,
        json!({"type": "object", "properties": {"confirm": {"type": "boolean"}}, "required": ["confirm"]}),
    )
}
