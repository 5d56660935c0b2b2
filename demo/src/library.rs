//! The demo's own resources and prompts: a guide, the counter that `counter.increment`
//! changes, the user directory as a resource template (with completion of user ids), and a
//! prompt that welcomes a user.

use std::sync::Arc;

use rampart_core::{
    Completion, Content, HandlerError, Prompt, PromptArgument, PromptResult, ReadRequest, RegisterError,
    Registry, Resource, ResourceContents, ResourceTemplate,
};

use crate::{COUNTER_URI, Demo};

const GUIDE: &str = "rampart-demo serves a small user directory (user.create@v1, user.get@v1), \
a counter (counter.increment, resource demo://counter), users as resources (users://{id}), \
a welcome prompt (user.welcome@v1), and the fixtures of the MCP conformance suite (test_*).";

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
            ResourceTemplate::new("users://{id}", "user", move |request: ReadRequest, _| {
                let users = Arc::clone(&users);
                async move {
                    let id = request.variables.get("id").cloned().unwrap_or_default();
                    let user = users
                        .lock()
                        .map_err(|_| HandlerError::failed("directory poisoned"))?
                        .get(&id);
                    // No contents: the resource does not exist (-32002).
                    Ok(user
                        .map(|user| {
                            ResourceContents::text(request.uri, user.to_string())
                                .mime_type("application/json")
                        })
                        .into_iter()
                        .collect())
                }
            })
            .title("A user")
            .description("A user of the directory, by the id user.create@v1 returned.")
            .mime_type("application/json")
            .complete(move |request, _| {
                let users = Arc::clone(&completing);
                async move {
                    let ids = users
                        .lock()
                        .map_err(|_| HandlerError::failed("directory poisoned"))?
                        .ids();
                    Ok(Completion::matching(
                        ids.iter().map(String::as_str),
                        &request.value,
                    ))
                }
            }),
        )?
        .prompt(
            Prompt::new("user.welcome@v1", move |args, _| {
                let users = Arc::clone(&welcoming);
                async move {
                    let id = args.get("id").cloned().unwrap_or_default();
                    let tone = args.get("tone").map_or("friendly", String::as_str).to_owned();
                    let user = users
                        .lock()
                        .map_err(|_| HandlerError::failed("directory poisoned"))?
                        .get(&id);
                    let Some(user) = user else {
                        return Err(HandlerError::invalid_params(format!("No user with id {id}")));
                    };
                    let profile = ResourceContents::text(format!("users://{id}"), user.to_string())
                        .mime_type("application/json");
                    Ok(PromptResult::new()
                        .description(format!("A {tone} welcome for {id}"))
                        .user(Content::resource(profile))
                        .user(Content::text(format!(
                            "Write a {tone} welcome message for the user above."
                        ))))
                }
            })
            .title("Welcome a user")
            .description("Drafts a welcome message for a user of the directory.")
            .argument(PromptArgument::required("id").description("The user's id"))
            .argument(PromptArgument::new("tone").description("friendly (the default) or formal"))
            .complete(move |request, _| {
                let users = Arc::clone(&completing_prompt);
                async move {
                    if request.argument == "tone" {
                        return Ok(Completion::matching(["formal", "friendly"], &request.value));
                    }
                    let ids = users
                        .lock()
                        .map_err(|_| HandlerError::failed("directory poisoned"))?
                        .ids();
                    Ok(Completion::matching(
                        ids.iter().map(String::as_str),
                        &request.value,
                    ))
                }
            }),
        )
}
