//! Typed tools, prompts and resource templates served end to end: the derived schemas as
//! listed, arguments validated then deserialized, structured results per revision, and the
//! errors a client sees when the type refuses what the schema let through.

mod common;

use common::world::{World, request};
use rampart_core::{
    Completion, Config, Content, Context, HandlerError, Prompt, PromptResult, Registry, ResourceTemplate,
    Tool, ValidationErrors, typed::Json,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A user to create.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CreateUser {
    /// The user's email address.
    #[schemars(email)]
    email: String,
    /// The display name.
    #[schemars(length(min = 1, max = 200))]
    name: String,
    /// A short handle: lowercase letters only, which the type checks.
    #[serde(default)]
    handle: Option<Handle>,
}

/// A handle whose rule only the type knows.
#[derive(Deserialize, JsonSchema)]
#[serde(try_from = "String")]
#[schemars(with = "String")]
struct Handle(String);

impl TryFrom<String> for Handle {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        if text.bytes().all(|b| b.is_ascii_lowercase()) {
            Ok(Self(text))
        } else {
            Err(format!("{text:?} is not all lowercase letters"))
        }
    }
}

#[derive(Serialize, JsonSchema)]
struct User {
    id: String,
    email: String,
    name: String,
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Language {
    English,
    French,
    German,
}

/// Welcomes someone in their language.
#[derive(Deserialize, JsonSchema)]
struct Welcome {
    /// Whom to welcome.
    name: String,
    /// The language of the message.
    language: Option<Language>,
    /// How many exclamation marks.
    excitement: Option<u8>,
}

#[derive(Deserialize, JsonSchema)]
struct UserRef {
    /// The user's number.
    id: u32,
}

#[derive(Deserialize, JsonSchema)]
struct Empty {}

fn registry() -> Registry {
    Registry::new()
        .tool(Tool::typed(
            "user.create@v1",
            |args: CreateUser, _ctx: Context| async move {
                if args.name == "root" {
                    return Err(HandlerError::tool_error("that name is reserved"));
                }
                let handle = args.handle.map(|handle| handle.0).unwrap_or_default();
                Ok(Json(User {
                    id: format!("usr_{handle}"),
                    email: args.email,
                    name: args.name,
                }))
            },
        ))
        .unwrap()
        .tool(Tool::typed("numbers", |_: Empty, _ctx: Context| async move {
            Ok(Json(vec![1, 2, 3]))
        }))
        .unwrap()
        .tool(Tool::typed("shout", |args: Welcome, _ctx: Context| async move {
            Ok(args.name.to_uppercase())
        }))
        .unwrap()
        .prompt(
            Prompt::typed("welcome", |args: Welcome, _ctx: Context| async move {
                let word = match args.language {
                    Some(Language::French) => "Bienvenue",
                    Some(Language::German) => "Willkommen",
                    _ => "Welcome",
                };
                let marks = "!".repeat(usize::from(args.excitement.unwrap_or(1)));
                Ok(PromptResult::new().user(Content::text(format!("{word} {}{marks}", args.name))))
            })
            .complete(|request, _ctx| async move {
                Ok(Completion::matching(["Ada", "Alan"], &request.value))
            }),
        )
        .unwrap()
        .resource_template(
            ResourceTemplate::typed(
                "users://{id}",
                "user",
                |user: UserRef, _ctx: Context| async move {
                    Ok((user.id == 1).then(|| Json(json!({"id": 1, "name": "Ada"}))))
                },
            )
            .complete(|request, _ctx| async move {
                let chosen: Option<u32> = request.context_as::<Option<u32>>().ok().flatten();
                Ok(Completion::new(chosen.map(|id| id.to_string())))
            }),
        )
        .unwrap()
}

fn legacy() -> (World, rampart_core::ConnectionId) {
    let mut world = World::new(Config::default(), registry());
    let conn = world.stdio_session(json!({}));
    (world, conn)
}

fn ask(world: &mut World, conn: rampart_core::ConnectionId, method: &str, params: Value) -> Value {
    world.line(conn, request(7, method, params));
    world.lines(conn).remove(0)
}

#[test]
fn typed_tools_list_their_derived_schemas() {
    let (mut world, conn) = legacy();
    let tools = ask(&mut world, conn, "tools/list", json!({}))["result"]["tools"].clone();
    let create = &tools[0];
    assert_eq!(create["name"], "user.create@v1");
    assert_eq!(
        create["description"], "A user to create.",
        "the type's doc comment"
    );
    let input = &create["inputSchema"];
    assert_eq!(input["$schema"], "https://json-schema.org/draft/2020-12/schema");
    assert_eq!(input["required"], json!(["email", "name"]));
    assert_eq!(input["additionalProperties"], false);
    assert_eq!(input["properties"]["email"]["format"], "email");
    assert_eq!(
        input["properties"]["email"]["description"],
        "The user's email address."
    );
    assert_eq!(create["outputSchema"]["required"], json!(["id", "email", "name"]));
    // A list is not an object: a 2025-11-25 client is given it wrapped.
    assert_eq!(
        tools[1]["outputSchema"],
        json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
               "properties": {"result": {"title": "Array_of_int32", "type": "array",
                                          "items": {"type": "integer", "format": "int32"}}},
               "required": ["result"]})
    );
    assert!(
        tools[2].get("outputSchema").is_none(),
        "text has no output schema"
    );
}

#[test]
fn the_dialect_can_be_left_unnamed() {
    let config = Config {
        declare_schema_dialect: false,
        ..Config::default()
    };
    let mut world = World::new(config, registry());
    let conn = world.stdio_session(json!({}));
    let tools = ask(&mut world, conn, "tools/list", json!({}))["result"]["tools"].clone();
    for tool in tools.as_array().unwrap() {
        assert!(tool["inputSchema"].get("$schema").is_none(), "{tool}");
        if let Some(output) = tool.get("outputSchema") {
            assert!(output.get("$schema").is_none(), "{tool}");
        }
    }
}

#[test]
fn arguments_are_validated_by_the_schema_then_read_by_the_type() {
    let (mut world, conn) = legacy();
    let call = |world: &mut World, arguments: Value| {
        ask(
            world,
            conn,
            "tools/call",
            json!({"name": "user.create@v1", "arguments": arguments}),
        )
    };
    let missing = call(&mut world, json!({"name": "Ada"}));
    assert_eq!(missing["error"]["code"], -32000);
    assert_eq!(missing["error"]["message"], "Missing required parameter: email");
    let bad_email = call(&mut world, json!({"email": "x", "name": "Ada"}));
    assert_eq!(bad_email["error"]["code"], -32007);
    assert_eq!(
        bad_email["error"]["message"],
        "Invalid parameters: email: \"x\" is not a valid email"
    );
    let unknown = call(
        &mut world,
        json!({"email": "a@b.co", "name": "Ada", "role": "admin"}),
    );
    assert_eq!(unknown["error"]["code"], -32007, "{unknown}");
    // The schema says string; only the type knows the rule: E_VALIDATION with serde's path.
    let handle = call(
        &mut world,
        json!({"email": "a@b.co", "name": "Ada", "handle": "Ada1"}),
    );
    assert_eq!(handle["error"]["code"], -32007, "{handle}");
    assert_eq!(
        handle["error"]["message"],
        "Invalid parameters: handle: \"Ada1\" is not all lowercase letters"
    );
    let created = call(
        &mut world,
        json!({"email": "a@b.co", "name": "Ada", "handle": "ada"}),
    );
    let user = json!({"id": "usr_ada", "email": "a@b.co", "name": "Ada"});
    assert_eq!(created["result"]["structuredContent"], user);
    assert_eq!(created["result"]["content"][0]["text"], user.to_string());
    let reserved = call(&mut world, json!({"email": "a@b.co", "name": "root"}));
    assert_eq!(
        reserved["result"],
        json!({"content": [{"type": "text", "text": "that name is reserved"}], "isError": true})
    );
}

#[test]
fn a_type_refusal_is_a_tool_result_when_validation_errors_are() {
    let config = Config {
        validation_errors: ValidationErrors::ToolResult,
        ..Config::default()
    };
    let mut world = World::new(config, registry());
    let conn = world.stdio_session(json!({}));
    let response = ask(
        &mut world,
        conn,
        "tools/call",
        json!({"name": "user.create@v1", "arguments": {"email": "a@b.co", "name": "Ada", "handle": "A"}}),
    );
    assert_eq!(response["result"]["isError"], true, "{response}");
    assert_eq!(
        response["result"]["content"][0]["text"],
        "Invalid parameters: handle: \"A\" is not all lowercase letters"
    );
}

#[test]
fn results_that_are_not_objects_are_wrapped_only_before_2026_07_28() {
    let (mut world, conn) = legacy();
    let legacy = ask(&mut world, conn, "tools/call", json!({"name": "numbers"}));
    assert_eq!(
        legacy["result"]["structuredContent"],
        json!({"result": [1, 2, 3]})
    );
    assert_eq!(legacy["result"]["content"][0]["text"], "[1,2,3]");

    let modern = world.connect(rampart_core::Framing::Ndjson);
    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                      "io.modelcontextprotocol/clientCapabilities": {}});
    let listed = ask(&mut world, modern, "tools/list", json!({"_meta": meta}));
    assert_eq!(
        listed["result"]["tools"][1]["outputSchema"]["type"], "array",
        "{listed}"
    );
    let called = ask(
        &mut world,
        modern,
        "tools/call",
        json!({"name": "numbers", "_meta": meta}),
    );
    assert_eq!(
        called["result"]["structuredContent"],
        json!([1, 2, 3]),
        "{called}"
    );
}

#[test]
fn typed_prompts_derive_their_arguments_and_read_strings_as_types() {
    let (mut world, conn) = legacy();
    let listed = ask(&mut world, conn, "prompts/list", json!({}));
    assert_eq!(
        listed["result"]["prompts"][0]["description"],
        "Welcomes someone in their language."
    );
    assert_eq!(
        listed["result"]["prompts"][0]["arguments"],
        json!([
            {"name": "name", "description": "Whom to welcome.", "required": true},
            {"name": "language", "description": "The language of the message.", "required": false},
            {"name": "excitement", "description": "How many exclamation marks.", "required": false}
        ])
    );
    let got = ask(
        &mut world,
        conn,
        "prompts/get",
        json!({"name": "welcome", "arguments": {"name": "Ada", "language": "french", "excitement": "3"}}),
    );
    assert_eq!(
        got["result"]["messages"][0]["content"]["text"],
        "Bienvenue Ada!!!"
    );
    for (arguments, message) in [
        (json!({"language": "french"}), "Missing required argument: name"),
        (
            json!({"name": "Ada", "excitement": "300"}),
            "Invalid parameters: excitement: 300 is greater than the maximum of 255",
        ),
        (
            json!({"name": "Ada", "language": "latin"}),
            "Invalid parameters: language: \"latin\" is not one of \"english\", \"french\" or 2 other candidates",
        ),
    ] {
        let refused = ask(
            &mut world,
            conn,
            "prompts/get",
            json!({"name": "welcome", "arguments": arguments}),
        );
        assert_eq!(refused["error"]["code"], -32602, "{refused}");
        assert_eq!(refused["error"]["message"], message);
    }
}

#[test]
fn enum_arguments_complete_their_values() {
    let (mut world, conn) = legacy();
    let completed = ask(
        &mut world,
        conn,
        "completion/complete",
        json!({"ref": {"type": "ref/prompt", "name": "welcome"}, "argument": {"name": "language", "value": "e"}}),
    );
    assert_eq!(
        completed["result"]["completion"]["values"],
        json!(["english"]),
        "{completed}"
    );
    // The prompt's own handler answers for the other arguments.
    let names = ask(
        &mut world,
        conn,
        "completion/complete",
        json!({"ref": {"type": "ref/prompt", "name": "welcome"}, "argument": {"name": "name", "value": "A"}}),
    );
    assert_eq!(
        names["result"]["completion"]["values"],
        json!(["Ada", "Alan"]),
        "{names}"
    );
}

#[test]
fn typed_templates_read_variables_as_types() {
    let (mut world, conn) = legacy();
    let listed = ask(&mut world, conn, "resources/templates/list", json!({}));
    assert_eq!(
        listed["result"]["resourceTemplates"][0]["mimeType"], "application/json",
        "the handler's result type sets it: {listed}"
    );
    let found = ask(&mut world, conn, "resources/read", json!({"uri": "users://1"}));
    assert_eq!(
        found["result"]["contents"],
        json!([{"uri": "users://1", "mimeType": "application/json", "text": "{\"id\":1,\"name\":\"Ada\"}"}])
    );
    let missing = ask(&mut world, conn, "resources/read", json!({"uri": "users://2"}));
    assert_eq!(missing["error"]["code"], -32002, "{missing}");
    let refused = ask(&mut world, conn, "resources/read", json!({"uri": "users://ada"}));
    assert_eq!(refused["error"]["code"], -32602, "{refused}");
    assert_eq!(
        refused["error"]["message"],
        "Invalid parameters: id: \"ada\" is not of type \"integer\""
    );
}

#[test]
fn typed_registrations_check_their_types() {
    #[derive(Deserialize, JsonSchema)]
    struct Other {
        _name: String,
    }
    let template = ResourceTemplate::typed("users://{id}", "user", |_: Other, _ctx: Context| async move {
        Ok(None::<String>)
    });
    let refused = Registry::new().resource_template(template).unwrap_err();
    assert!(refused.to_string().contains("{id}"), "{refused}");
    let prompt = Prompt::typed("list", |_: Vec<String>, _ctx: Context| async move {
        Ok(PromptResult::new())
    });
    let refused = Registry::new().prompt(prompt).unwrap_err();
    assert!(refused.to_string().contains("named fields"), "{refused}");
    let tool = Tool::typed("list", |_: Vec<String>, _ctx: Context| async move { Ok("") });
    let refused = Registry::new().tool(tool).unwrap_err();
    assert!(refused.to_string().contains("type"), "{refused}");
}

#[test]
fn the_reexported_schemars_derives_too() {
    #[derive(Deserialize, rampart_core::schemars::JsonSchema)]
    #[schemars(crate = "rampart_core::schemars")]
    struct Ping {
        _count: u8,
    }
    let schema = rampart_core::typed::input_schema::<Ping>();
    assert_eq!(schema["properties"]["_count"]["maximum"], 255);
}
