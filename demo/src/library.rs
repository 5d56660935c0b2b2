//! The demo's own resources and prompts: a guide, the counter that `counter.increment`
//! changes, the user directory as a resource template (with completion of user ids), and a
//! prompt that welcomes a user.

use std::sync::Arc;

use rampart_core::typed::Json;
use rampart_core::{
    Completion, Content, Context, HandlerError, Prompt, PromptResult, ReadRequest, RegisterError, Registry,
    Resource, ResourceContents, ResourceTemplate,
};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::tools::{UserId, directory};
use crate::{COUNTER_URI, Demo};

const GUIDE: &str = "rampart-demo serves a small user directory (user.create@v1, user.get@v1), \
a counter (counter.increment, resource demo://counter), users as resources (users://{id}), \
a welcome prompt (user.welcome@v1), and the fixtures of the MCP conformance suite (test_*).";

#[derive(Deserialize, JsonSchema)]
struct Welcome {
    /// The user's id
    id: String,
    /// friendly (the default) or formal
    tone: Option<Tone>,
}

#[derive(Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Tone {
    Formal,
    Friendly,
}

impl Tone {
    fn as_str(self) -> &'static str {
        match self {
            Tone::Formal => "formal",
            Tone::Friendly => "friendly",
        }
    }
}

/// Adds the demo's resources and prompts.
pub fn register(registry: Registry, demo: &Demo) -> Result<Registry, RegisterError> {
    let counter = Arc::clone(&demo.counter);
    let users = Arc::clone(&demo.users);
    let completing = Arc::clone(&demo.users);
    let welcoming = Arc::clone(&demo.users);
    let completing_prompt = Arc::clone(&demo.users);
    registry
        .resource(
            Resource::text("demo://guide", "guide", GUIDE)
                .title("What the demo serves")
                .description("A short guide to the demo's tools, resources and prompts."),
        )?
        .resource(
            Resource::new(COUNTER_URI, "counter", move |request: ReadRequest, _| {
                let counter = Arc::clone(&counter);
                async move {
                    let value = *counter
                        .lock()
                        .map_err(|_| HandlerError::failed("counter poisoned"))?;
                    Ok(vec![
                        ResourceContents::text(request.uri, value.to_string()).mime_type("text/plain"),
                    ])
                }
            })
            .title("Counter")
            .description("A number that counter.increment raises; subscribe to hear of each change.")
            .mime_type("text/plain"),
        )?
        .resource_template(
            ResourceTemplate::typed(
                "users://{id}",
                "user",
                move |UserId { id }: UserId, _ctx: Context| {
                    let users = Arc::clone(&users);
                    // No user: the resource does not exist (-32002).
                    async move { Ok(directory(&users)?.get(&id).map(Json)) }
                },
            )
            .title("A user")
            .description("A user of the directory, by the id user.create@v1 returned.")
            .mime_type("application/json")
            .complete(move |request, _| {
                let users = Arc::clone(&completing);
                async move {
                    let ids = directory(&users)?.ids();
                    Ok(Completion::matching(
                        ids.iter().map(String::as_str),
                        &request.value,
                    ))
                }
            }),
        )?
        .prompt(
            Prompt::typed(
                "user.welcome@v1",
                move |Welcome { id, tone }: Welcome, _ctx: Context| {
                    let users = Arc::clone(&welcoming);
                    async move {
                        let tone = tone.unwrap_or(Tone::Friendly).as_str();
                        let Some(user) = directory(&users)?.get(&id) else {
                            return Err(HandlerError::invalid_params(format!("No user with id {id}")));
                        };
                        let user = serde_json::to_string(&user).map_err(|err| {
                            HandlerError::failed(format!("the user did not serialize: {err}"))
                        })?;
                        let profile = ResourceContents::text(format!("users://{id}"), user)
                            .mime_type("application/json");
                        Ok(PromptResult::new()
                            .description(format!("A {tone} welcome for {id}"))
                            .user(Content::resource(profile))
                            .user(Content::text(format!(
                                "Write a {tone} welcome message for the user above."
                            ))))
                    }
                },
            )
            .title("Welcome a user")
            .description("Drafts a welcome message for a user of the directory.")
            // `tone` completes by itself, being an enum; ids come from the directory.
            .complete(move |request, _| {
                let users = Arc::clone(&completing_prompt);
                async move {
                    let ids = directory(&users)?.ids();
                    Ok(Completion::matching(
                        ids.iter().map(String::as_str),
                        &request.value,
                    ))
                }
            }),
        )
}
