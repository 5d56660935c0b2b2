//! The fixtures of the official MCP conformance suite (`test_*` tools, `test://` resources
//! and template, `test_*` prompts), as its sources and reference server define them, so that
//! the suite can run against the demo.

use std::time::Duration;

use rampart_core::typed::Json;
use rampart_core::{
    Completion, Content, Context, Elicitation, HandlerError, Prompt, PromptResult, RegisterError, Registry,
    Resource, ResourceContents, ResourceTemplate, Tool, ToolOutput,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::NoArguments;

/// A 1x1 red PNG, base64.
pub const TEST_IMAGE_BASE64: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
/// A minimal WAV file, base64.
pub const TEST_AUDIO_BASE64: &str = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=";

/// Adds every fixture to `registry`.
pub fn register(registry: Registry) -> Result<Registry, RegisterError> {
    let registry = tools(registry)?;
    let registry = resources(registry)?;
    prompts(registry)
}

#[derive(Deserialize, JsonSchema)]
struct SamplingArgs {
    /// The prompt to send to the LLM
    prompt: String,
}

#[derive(Deserialize, JsonSchema)]
struct ElicitationArgs {
    /// The message to show the user
    message: String,
}

#[derive(Deserialize, JsonSchema)]
struct TemplateId {
    id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TemplateData {
    id: String,
    template_test: bool,
    data: String,
}

#[derive(Deserialize, JsonSchema)]
struct PromptArgs {
    /// First test argument
    arg1: String,
    /// Second test argument
    arg2: String,
}

#[derive(Deserialize, JsonSchema)]
struct EmbeddedResourceArgs {
    /// URI of the resource to embed
    #[serde(rename = "resourceUri")]
    resource_uri: String,
}

/// A fixture tool that answers at once with `output`.
fn fixed(name: &str, description: &str, output: ToolOutput) -> Tool {
    Tool::typed(name, move |_: NoArguments, _ctx: Context| {
        let output = output.clone();
        async move { Ok(output) }
    })
    .description(description)
}

fn pause() -> smol::Timer {
    smol::Timer::after(Duration::from_millis(50))
}

fn tools(registry: Registry) -> Result<Registry, RegisterError> {
    registry
        .tool(fixed(
            "test_simple_text",
            "Tests simple text content response",
            ToolOutput::text("This is a simple text response for testing."),
        ))?
        .tool(fixed(
            "test_image_content",
            "Tests image content response",
            ToolOutput::default().with_image(TEST_IMAGE_BASE64, "image/png"),
        ))?
        .tool(fixed(
            "test_audio_content",
            "Tests audio content response",
            ToolOutput::default().with_audio(TEST_AUDIO_BASE64, "audio/wav"),
        ))?
        .tool(fixed(
            "test_embedded_resource",
            "Tests embedded resource content response",
            ToolOutput::default().with_resource(
                ResourceContents::text("test://embedded-resource", "This is an embedded resource content.")
                    .mime_type("text/plain"),
            ),
        ))?
        .tool(fixed(
            "test_multiple_content_types",
            "Tests response with multiple content types (text, image, resource)",
            ToolOutput::text("Multiple content types test:")
                .with_image(TEST_IMAGE_BASE64, "image/png")
                .with_resource(
                    ResourceContents::text("test://mixed-content-resource", r#"{"test":"data","value":123}"#)
                        .mime_type("application/json"),
                ),
        ))?
        .tool(fixed(
            "test_error_handling",
            "Tests error response handling",
            ToolOutput::error("This tool intentionally returns an error for testing"),
        ))?
        .tool(
            Tool::typed("test_tool_with_logging", |_: NoArguments, ctx: Context| async move {
                use rampart_core::LoggingLevel::Info;
                ctx.log(Info, "Tool execution started");
                pause().await;
                ctx.log(Info, "Tool processing data");
                pause().await;
                ctx.log(Info, "Tool execution completed");
                Ok(ToolOutput::text("Tool with logging executed successfully"))
            })
            .description("Tests tool that emits log messages during execution"),
        )?
        .tool(
            Tool::typed("test_tool_with_progress", |_: NoArguments, ctx: Context| async move {
                for step in [0.0, 50.0, 100.0] {
                    ctx.progress(step, Some(100.0), Some(format!("Completed step {step} of 100")));
                    pause().await;
                }
                Ok(ToolOutput::text("Progress reported"))
            })
            .description("Tests tool that reports progress notifications"),
        )?
        .tool(
            Tool::typed("test_sampling", |SamplingArgs { prompt }: SamplingArgs, ctx: Context| async move {
                let request = json!({
                    "messages": [{"role": "user", "content": {"type": "text", "text": prompt}}],
                    "maxTokens": 100
                });
                let result = ctx.sample(request).await?;
                let text = result["content"]["text"].as_str().unwrap_or_default();
                Ok(format!("LLM response: {text}"))
            })
            .description("Tests server-initiated sampling (LLM completion request)"),
        )?
        .tool(
            Tool::typed("test_elicitation", |args: ElicitationArgs, ctx: Context| async move {
                let schema = json!({
                    "type": "object",
                    "properties": {
                        "username": {"type": "string", "description": "User's response"},
                        "email": {"type": "string", "description": "User's email address"}
                    },
                    "required": ["username", "email"]
                });
                elicit(&ctx, args.message, schema, "User response").await
            })
            .description("Tests server-initiated elicitation (user input request)"),
        )?
        .tool(
            Tool::typed("test_elicitation_sep1034_defaults", |_: NoArguments, ctx: Context| async move {
                let schema = json!({
                    "type": "object",
                    "properties": {
                        "name": {"type": "string", "description": "User name", "default": "John Doe"},
                        "age": {"type": "integer", "description": "User age", "default": 30},
                        "score": {"type": "number", "description": "User score", "default": 95.5},
                        "status": {"type": "string", "description": "User status", "enum": ["active", "inactive", "pending"], "default": "active"},
                        "verified": {"type": "boolean", "description": "Verification status", "default": true}
                    },
                    "required": []
                });
                let message = "Please review and update the form fields with defaults";
                elicit(&ctx, message.into(), schema, "Elicitation completed").await
            })
            .description("Tests elicitation with default values per SEP-1034"),
        )?
        .tool(
            Tool::typed("test_elicitation_sep1330_enums", |_: NoArguments, ctx: Context| async move {
                let titled = |values: [(&str, &str); 3]| -> Vec<Value> {
                    values.iter().map(|(value, title)| json!({"const": value, "title": title})).collect()
                };
                let schema = json!({
                    "type": "object",
                    "properties": {
                        "untitledSingle": {"type": "string", "description": "Select one option", "enum": ["option1", "option2", "option3"]},
                        "titledSingle": {"type": "string", "description": "Select one option with titles",
                            "oneOf": titled([("value1", "First Option"), ("value2", "Second Option"), ("value3", "Third Option")])},
                        "legacyEnum": {"type": "string", "description": "Select one option (legacy)", "enum": ["opt1", "opt2", "opt3"],
                            "enumNames": ["Option One", "Option Two", "Option Three"]},
                        "untitledMulti": {"type": "array", "description": "Select multiple options", "minItems": 1, "maxItems": 3,
                            "items": {"type": "string", "enum": ["option1", "option2", "option3"]}},
                        "titledMulti": {"type": "array", "description": "Select multiple options with titles", "minItems": 1, "maxItems": 3,
                            "items": {"anyOf": titled([("value1", "First Choice"), ("value2", "Second Choice"), ("value3", "Third Choice")])}}
                    },
                    "required": []
                });
                let message = "Please select options from the enum fields";
                elicit(&ctx, message.into(), schema, "Elicitation completed").await
            })
            .description("Tests elicitation with enum schema improvements per SEP-1330"),
        )?
        .tool(
            // Hand-written: $defs with $anchor, allOf/anyOf and if/then/else are what the suite checks.
            Tool::new("json_schema_2020_12_tool", json_schema_2020_12(), |args, _| async move {
                Ok(ToolOutput::text(format!("JSON Schema 2020-12 tool called with: {args}")))
            })
            .description("Tool with JSON Schema 2020-12 features for conformance testing (SEP-1613)"),
        )
}

/// Asks the user through `ctx` and reports what came back as `<label>: action=..., content=...`.
async fn elicit(
    ctx: &Context,
    message: String,
    schema: Value,
    label: &str,
) -> Result<ToolOutput, HandlerError> {
    let answer = ctx.elicit(Elicitation::form(message, schema)).await?;
    let action = format!("{:?}", answer.action).to_lowercase();
    let content = Value::Object(answer.content.unwrap_or_default());
    Ok(ToolOutput::text(format!(
        "{label}: action={action}, content={content}"
    )))
}

fn json_schema_2020_12() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "$defs": {"address": {"$anchor": "addressDef", "type": "object",
            "properties": {"street": {"type": "string"}, "city": {"type": "string"}}}},
        "properties": {
            "name": {"type": "string"},
            "address": {"$ref": "#/$defs/address"},
            "contactMethod": {"type": "string", "enum": ["phone", "email"]},
            "phone": {"type": "string"},
            "email": {"type": "string"}
        },
        "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
        "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
        "then": {"required": ["phone"]},
        "else": {"required": ["email"]},
        "additionalProperties": false
    })
}

fn resources(registry: Registry) -> Result<Registry, RegisterError> {
    registry
        .resource(
            Resource::text(
                "test://static-text",
                "static-text",
                "This is the content of the static text resource.",
            )
            .title("Static Text Resource")
            .description("A static text resource for testing"),
        )?
        .resource(
            Resource::blob(
                "test://static-binary",
                "static-binary",
                TEST_IMAGE_BASE64,
                "image/png",
            )
            .title("Static Binary Resource")
            .description("A static binary resource (image) for testing"),
        )?
        .resource(
            Resource::text(
                "test://watched-resource",
                "watched-resource",
                "Watched resource content",
            )
            .title("Watched Resource")
            .description("A resource clients may subscribe to"),
        )?
        .resource_template(
            ResourceTemplate::typed(
                "test://template/{id}/data",
                "template",
                |TemplateId { id }: TemplateId, _ctx: Context| async move {
                    let data = format!("Data for ID: {id}");
                    Ok(Json(TemplateData {
                        id,
                        template_test: true,
                        data,
                    }))
                },
            )
            .title("Resource Template")
            .description("A resource template with parameter substitution")
            .mime_type("application/json")
            .complete(|request, _| async move {
                Ok(Completion::matching(["1", "2", "3", "123"], &request.value))
            }),
        )
}

fn prompts(registry: Registry) -> Result<Registry, RegisterError> {
    registry
        .prompt(
            Prompt::new("test_simple_prompt", |_, _| async {
                Ok(PromptResult::new().user(Content::text("This is a simple prompt for testing.")))
            })
            .title("Simple Test Prompt")
            .description("A simple prompt without arguments"),
        )?
        .prompt(
            Prompt::typed(
                "test_prompt_with_arguments",
                |PromptArgs { arg1, arg2 }: PromptArgs, _ctx: Context| async move {
                    let text = format!("Prompt with arguments: arg1='{arg1}', arg2='{arg2}'");
                    Ok(PromptResult::new().user(Content::text(text)))
                },
            )
            .title("Prompt With Arguments")
            .description("A prompt with required arguments")
            .complete(|request, _| async move {
                let candidates = ["paris", "park", "party", "test", "testing"];
                Ok(Completion::matching(candidates, &request.value))
            }),
        )?
        .prompt(
            Prompt::typed(
                "test_prompt_with_embedded_resource",
                |args: EmbeddedResourceArgs, _ctx: Context| async move {
                    let resource =
                        ResourceContents::text(args.resource_uri, "Embedded resource content for testing.")
                            .mime_type("text/plain");
                    Ok(PromptResult::new()
                        .user(Content::resource(resource))
                        .user(Content::text("Please process the embedded resource above.")))
                },
            )
            .title("Prompt With Embedded Resource")
            .description("A prompt that includes an embedded resource"),
        )?
        .prompt(
            Prompt::new("test_prompt_with_image", |_, _| async {
                Ok(PromptResult::new()
                    .user(Content::image(TEST_IMAGE_BASE64, "image/png"))
                    .user(Content::text("Please analyze the image above.")))
            })
            .title("Prompt With Image")
            .description("A prompt that includes image content"),
        )
}
