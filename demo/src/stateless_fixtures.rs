//! The fixtures the conformance suite needs for MCP 2026-07-28: the diagnostic tools of its
//! stateless scenario, a tool with an `x-mcp-header` parameter, and the tools and prompt
//! that ask the client for input in several rounds (answered through `input_required`).
//! They are ordinary handlers: on a legacy session the same questions go to the client as
//! requests.

use rampart_core::{
    ClientError, Content, Context, Elicitation, HandlerError, LoggingLevel, Notice, Prompt, PromptResult,
    RegisterError, Registry, Tool, ToolOutput,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use smol::future::zip;

use crate::NoArguments;

/// Adds every 2026-07-28 fixture to `registry`.
pub fn register(registry: Registry) -> Result<Registry, RegisterError> {
    let registry = diagnostics(registry)?;
    let registry = input_required(registry)?;
    registry.prompt(
        Prompt::new("test_input_required_result_prompt", |_, ctx| async move {
            let answer = ctx
                .input("user_context")
                .elicit(form("What context should the prompt use?", "context"))
                .await?;
            let context = field(&answer.content, "context");
            Ok(PromptResult::new().user(Content::text(format!("Prompt with context: {context}"))))
        })
        .description("Asks the client for context through input_required before it renders"),
    )
}

/// A form asking for one string field.
pub(crate) fn form(message: &str, field: &str) -> Elicitation {
    Elicitation::form(
        message,
        json!({"type": "object", "properties": {field: {"type": "string"}}, "required": [field]}),
    )
}

/// A string field of an elicitation's content, or empty.
pub(crate) fn field(content: &Option<serde_json::Map<String, Value>>, name: &str) -> String {
    content
        .as_ref()
        .and_then(|content| content.get(name))
        .map(|value| value.as_str().map_or_else(|| value.to_string(), str::to_owned))
        .unwrap_or_default()
}

/// The text of a sampling result's content.
fn sampled_text(result: &Value) -> String {
    result["content"]["text"].as_str().unwrap_or_default().to_owned()
}

#[derive(Deserialize, JsonSchema)]
struct Region {
    #[schemars(extend("x-mcp-header" = "Region"))]
    region: String,
}

fn diagnostics(registry: Registry) -> Result<Registry, RegisterError> {
    registry
        .tool(
            Tool::typed(
                "test_missing_capability",
                |_: NoArguments, ctx: Context| async move {
                    let result = ctx.sample(sampling("Say hello", 20)).await?;
                    Ok(ToolOutput::text(format!("Sampled: {}", sampled_text(&result))))
                },
            )
            .description("Needs sampling: a request that does not declare it gets -32021"),
        )?
        .tool(
            Tool::typed(
                "test_streaming_elicitation",
                |_: NoArguments, ctx: Context| async move {
                    let answer = ctx.elicit(form("What is your name?", "name")).await?;
                    Ok(ToolOutput::text(format!(
                        "Hello, {}!",
                        field(&answer.content, "name")
                    )))
                },
            )
            .description("Elicits while it runs: never a request on the response stream"),
        )?
        .tool(
            Tool::typed("test_logging_tool", |_: NoArguments, ctx: Context| async move {
                ctx.log(LoggingLevel::Info, "test_logging_tool ran");
                Ok(ToolOutput::text(
                    "Logged once (sent only when the request asks for a level)",
                ))
            })
            .description("Logs one message; a request without a log level receives none"),
        )?
        .tool(
            Tool::typed(
                "test_trigger_tool_change",
                |_: NoArguments, ctx: Context| async move {
                    ctx.notify(Notice::ToolsChanged);
                    Ok(ToolOutput::text("Announced a tools list change"))
                },
            )
            .description("Announces a change of the tools list to its listeners"),
        )?
        .tool(
            Tool::typed(
                "test_trigger_prompt_change",
                |_: NoArguments, ctx: Context| async move {
                    ctx.notify(Notice::PromptsChanged);
                    Ok(ToolOutput::text("Announced a prompts list change"))
                },
            )
            .description("Announces a change of the prompts list to its listeners"),
        )?
        .tool(
            Tool::typed("test_custom_header", |args: Region, _ctx: Context| async move {
                Ok(format!("region={}", args.region))
            })
            .description("Takes a region that 2026-07-28 clients repeat in an Mcp-Param-Region header"),
        )
}

fn sampling(text: &str, max_tokens: u32) -> Value {
    json!({
        "messages": [{"role": "user", "content": {"type": "text", "text": text}}],
        "maxTokens": max_tokens
    })
}

/// A tool without arguments whose handler is `run`.
fn asking<F, Fut>(name: &str, description: &str, run: F) -> Tool
where
    F: Fn(Context) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<ToolOutput, HandlerError>> + Send + 'static,
{
    Tool::typed(name, move |_: NoArguments, ctx: Context| run(ctx)).description(description)
}

fn input_required(registry: Registry) -> Result<Registry, RegisterError> {
    registry
        .tool(asking(
            "test_input_required_result_elicitation",
            "Asks the user's name (key user_name) and greets them",
            |ctx| async move {
                let answer = ctx
                    .input("user_name")
                    .elicit(form("What is your name?", "name"))
                    .await?;
                Ok(ToolOutput::text(format!(
                    "Hello, {}!",
                    field(&answer.content, "name")
                )))
            },
        ))?
        .tool(asking(
            "test_input_required_result_sampling",
            "Asks the client's model a question (key capital_question)",
            |ctx| async move {
                let result = ctx
                    .input("capital_question")
                    .sample(sampling("What is the capital of France?", 100))
                    .await?;
                Ok(ToolOutput::text(format!(
                    "Sampling result: {}",
                    sampled_text(&result)
                )))
            },
        ))?
        .tool(asking(
            "test_input_required_result_list_roots",
            "Asks the client for its roots (key client_roots)",
            |ctx| async move {
                let roots = ctx.input("client_roots").roots().await?;
                Ok(ToolOutput::text(format!("Found {} root(s)", roots.len())))
            },
        ))?
        .tool(asking(
            "test_input_required_result_request_state",
            "Asks for a confirmation; its answer travels in requestState to the next round",
            |ctx| async move {
                confirm(&ctx).await?;
                Ok(ToolOutput::text("state-ok: requestState validated"))
            },
        ))?
        .tool(asking(
            "test_input_required_result_multiple_inputs",
            "Asks three questions in one round: a name, a greeting and the roots",
            |ctx| async move {
                let name = ctx.input("user_name").elicit(form("What is your name?", "name"));
                let greeting = ctx.input("greeting").sample(sampling("Generate a greeting", 50));
                let roots = ctx.input("client_roots").roots();
                let (name, (greeting, roots)) = zip(name, zip(greeting, roots)).await;
                let (name, greeting, roots) = (name?, greeting?, roots?);
                Ok(ToolOutput::text(format!(
                    "{} from {}: {} root(s)",
                    sampled_text(&greeting),
                    field(&name.content, "name"),
                    roots.len()
                )))
            },
        ))?
        .tool(asking(
            "test_input_required_result_multi_round",
            "Asks two questions, one round each",
            |ctx| async move {
                let name = ctx
                    .input("step1")
                    .elicit(form("Step 1: What is your name?", "name"))
                    .await?;
                let color = ctx
                    .input("step2")
                    .elicit(form("Step 2: What is your favorite color?", "color"))
                    .await?;
                Ok(ToolOutput::text(format!(
                    "Multi-round complete for {} who likes {}",
                    field(&name.content, "name"),
                    field(&color.content, "color")
                )))
            },
        ))?
        .tool(asking(
            "test_input_required_result_tampered_state",
            "Asks for a confirmation; a tampered requestState is refused",
            |ctx| async move {
                confirm(&ctx).await?;
                Ok(ToolOutput::text("integrity-ok"))
            },
        ))?
        .tool(asking(
            "test_input_required_result_capabilities",
            "Asks only what the request's client capabilities allow",
            |ctx| async move {
                let elicited = ctx
                    .input("elicit_input")
                    .elicit(form("Elicitation input", "value"));
                let sampled = ctx.input("sample_input").sample(sampling("Sample request", 50));
                let roots = ctx.input("client_roots").roots();
                let (elicited, (sampled, roots)) = zip(elicited, zip(sampled, roots)).await;
                // What the client cannot do is skipped; what it must answer is passed on.
                for outcome in [elicited.map(drop), sampled.map(drop), roots.map(drop)] {
                    match outcome {
                        Ok(()) | Err(ClientError::NotSupported(_)) => {}
                        Err(error) => return Err(error.into()),
                    }
                }
                Ok(ToolOutput::text("capabilities-ok"))
            },
        ))
}

/// Asks for a yes/no confirmation under the key `confirm`.
async fn confirm(ctx: &Context) -> Result<(), ClientError> {
    let schema = json!({"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]});
    ctx.input("confirm")
        .elicit(Elicitation::form("Please confirm", schema))
        .await
        .map(drop)
}
