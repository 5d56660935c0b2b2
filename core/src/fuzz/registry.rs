//! What the fuzz targets serve: every kind of handler the core runs (tools, resource reads
//! from a fixed URI and from a template, prompts, completions), handlers that finish at once,
//! fail or never end, and handlers that ask the client (sampling, elicitation, roots, also
//! under keys of their own for 2026-07-28 rounds), talk while they run (log, progress,
//! heartbeats) or announce changes, and a tool whose arguments 2026-07-28 requests repeat in
//! headers.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use serde_json::{Value, json};

use crate::{
    ClientError, Completion, Content, Context, Elicitation, HandlerError, Json, LoggingLevel, Notice, Prompt,
    PromptArgument, PromptResult, ReadRequest, Registry, Resource, ResourceContents, ResourceTemplate, Tool,
    ToolOutput,
};

/// The arguments and result of `echo`.
#[derive(serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
struct Echo {
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
}

/// The URIs the registry serves, and one it does not.
pub(super) const URIS: [&str; 8] = [
    "fuzz://a",
    "fuzz://b",
    "fuzz://ask",
    "fuzz://items/1",
    "fuzz://items/missing",
    "fuzz://items/fail",
    "fuzz://items/slow",
    "fuzz://nowhere",
];

/// Returns the registry every target serves.
pub(super) fn fuzz_registry() -> Registry {
    let mut registry = Registry::new();
    for tool in tools() {
        registry.tools.register(tool).expect("a new tool");
    }
    let resources = [
        Resource::text("fuzz://a", "a", "alpha"),
        Resource::blob("fuzz://b", "b", "AQID", "application/octet-stream"),
        // A read that asks the client for its roots first.
        Resource::new(
            "fuzz://ask",
            "ask",
            |request: ReadRequest, ctx: Context| async move {
                let roots = ctx.roots().await.map_err(HandlerError::from)?;
                let uris: Vec<String> = roots.into_iter().map(|root| root.uri).collect();
                Ok(vec![ResourceContents::text(request.uri, uris.join(","))])
            },
        ),
    ];
    for resource in resources {
        registry.resources.register(resource).expect("a new resource");
    }
    registry
        .resources
        .register_template(items())
        .expect("a new template");
    for prompt in prompts() {
        registry.prompts.register(prompt).expect("a new prompt");
    }
    registry
}

fn tools() -> Vec<Tool> {
    let object = || json!({"type": "object"});
    let email = json!({"type": "object", "properties": {"email": {"type": "string", "format": "email"}},
                       "required": ["email"]});
    let route = json!({"type": "object", "properties": {
        "region": {"type": "string", "x-mcp-header": "Region"},
        "priority": {"type": "integer", "x-mcp-header": "Priority"},
        "urgent": {"type": "boolean", "x-mcp-header": "Urgent"}}});
    vec![
        Tool::new("user.create@v1", email, |args, _| async move {
            Ok(ToolOutput::structured(args))
        }),
        // Typed, so that every echo the targets send passes the typed layer: the derived
        // schema, the arguments read into a struct, and a `Json` result.
        Tool::typed("echo", |args: Echo, _: Context| async move { Ok(Json(args)) }),
        Tool::new("fail", object(), |_, _| async {
            Err(HandlerError::failed("fails"))
        }),
        Tool::new("never", object(), |_, _| std::future::pending()),
        // Asks for `times` samplings at once (at most 3), so that the cap on a call's
        // requests to the client is reachable.
        Tool::new("ask", object(), |args, ctx| async move {
            let times = args["times"].as_u64().unwrap_or(1).clamp(1, 3);
            let asks = (0..times).map(|_| {
                let ctx = ctx.clone();
                Box::pin(async move { ctx.sample(sampling()).await }) as Asking<Value>
            });
            let answers = join(asks.collect()).await;
            Ok(summary(answers.into_iter().map(|answer| answer.map(|_| ()))))
        }),
        Tool::new("form", object(), |_, ctx| async move {
            let schema = json!({"type": "object", "properties": {"name": {"type": "string"}}});
            let answer = ctx.elicit(Elicitation::form("Name?", schema)).await;
            Ok(summary([answer.map(|_| ())]))
        }),
        Tool::new("link", object(), |_, ctx| async move {
            let elicitation = Elicitation::url("Sign in", "https://example.invalid/login", "e1");
            Ok(summary([ctx.elicit(elicitation).await.map(|_| ())]))
        }),
        Tool::new("roots", object(), |_, ctx| async move {
            Ok(summary([ctx.roots().await.map(|_| ())]))
        }),
        Tool::new("touch", object(), |args, ctx| async move {
            let notice = match args["what"].as_str().unwrap_or_default() {
                "resources" => Notice::ResourcesChanged,
                "tools" => Notice::ToolsChanged,
                "prompts" => Notice::PromptsChanged,
                _ => Notice::ResourceUpdated(args["uri"].as_str().unwrap_or("fuzz://a").to_owned()),
            };
            ctx.notify(notice);
            Ok(ToolOutput::text("touched"))
        }),
        // Asks up to four questions under keys of its own, one after the other: a 2026-07-28
        // client answers them over as many rounds.
        Tool::new("rounds", object(), |args, ctx| async move {
            let steps = args["steps"].as_u64().unwrap_or(1).clamp(1, 4);
            let schema = json!({"type": "object", "properties": {"name": {"type": "string"}}});
            let name = ctx
                .input("name")
                .elicit(Elicitation::form("Name?", schema))
                .await?;
            let mut done = vec![format!("{:?}", name.action)];
            if steps >= 2 {
                ctx.input("model").sample(sampling()).await?;
                done.push("sampled".to_owned());
            }
            if steps >= 3 {
                let roots = ctx.input("roots").roots().await?;
                done.push(format!("{} roots", roots.len()));
            }
            if steps >= 4 {
                let url = Elicitation::url("Sign in", "https://example.invalid/login", "e3");
                ctx.input("site").elicit(url).await?;
                done.push("signed in".to_owned());
            }
            Ok(ToolOutput::text(done.join(", ")))
        }),
        // Its arguments travel in `Mcp-Param-Region` and `Mcp-Param-Priority` too.
        Tool::new("route", route, |args, _| async move {
            Ok(ToolOutput::structured(args))
        }),
        // Talks, asks for heartbeats every `every` ms, and never ends.
        Tool::new("beat", object(), |args, ctx| async move {
            let every = args["every"].as_u64().unwrap_or(500);
            ctx.log(LoggingLevel::Info, json!({"beat": every}));
            ctx.progress(1.0, Some(4.0), Some("started".to_owned()));
            ctx.heartbeat(Duration::from_millis(every));
            std::future::pending::<()>().await;
            Ok(ToolOutput::text("never"))
        }),
    ]
}

/// A template whose reads find an item, nothing, a failure, or never end; its variable
/// completes.
fn items() -> ResourceTemplate {
    ResourceTemplate::new(
        "fuzz://items/{id}",
        "item",
        |request: ReadRequest, _| async move {
            let id = request.variables.get("id").cloned().unwrap_or_default();
            match id.as_str() {
                "missing" => Ok(vec![]),
                "fail" => Err(HandlerError::failed("no such item")),
                "slow" => std::future::pending().await,
                _ => Ok(vec![ResourceContents::text(request.uri, format!("item {id}"))]),
            }
        },
    )
    .mime_type("text/plain")
    .complete(|request, _| async move { Ok(Completion::matching(["1", "12", "2"], &request.value)) })
}

fn prompts() -> [Prompt; 2] {
    let greet = Prompt::new("greet", |args, _| async move {
        let name = args.get("name").cloned().unwrap_or_default();
        Ok(PromptResult::new()
            .description("a greeting")
            .user(Content::text(format!("Hello {name}"))))
    })
    .argument(PromptArgument::required("name"))
    .argument(PromptArgument::new("mood"))
    // More values than one answer carries.
    .complete(|request, _| async move {
        Ok(Completion::new((0..150).map(|n| format!("{}{n}", request.value))))
    });
    // A prompt that asks the user before it answers.
    let confirm = Prompt::new("confirm", |_, ctx: Context| async move {
        let schema = json!({"type": "object", "properties": {"ok": {"type": "boolean"}}});
        let answer = ctx
            .elicit(Elicitation::form("Sure?", schema))
            .await
            .map_err(HandlerError::from)?;
        Ok(PromptResult::new().user(Content::text(format!("{:?}", answer.action))))
    });
    [greet, confirm]
}

/// The params of a sampling request.
fn sampling() -> Value {
    json!({"messages": [{"role": "user", "content": {"type": "text", "text": "hi"}}], "maxTokens": 10})
}

/// A tool result that tells how each request to the client went.
fn summary(answers: impl IntoIterator<Item = Result<(), ClientError>>) -> ToolOutput {
    let text: Vec<String> = answers
        .into_iter()
        .map(|answer| answer.map_or_else(|err| err.to_string(), |()| "ok".to_owned()))
        .collect();
    ToolOutput::text(text.join("; "))
}

type Asking<T> = Pin<Box<dyn Future<Output = Result<T, ClientError>> + Send>>;

/// Waits for every future, polling each until it is done; returns their outputs in order.
async fn join<T>(mut futures: Vec<Asking<T>>) -> Vec<Result<T, ClientError>> {
    let mut done: Vec<Option<Result<T, ClientError>>> = futures.iter().map(|_| None).collect();
    poll_fn(|cx| {
        for (future, slot) in futures.iter_mut().zip(done.iter_mut()) {
            if slot.is_none()
                && let Poll::Ready(output) = future.as_mut().poll(cx)
            {
                *slot = Some(output);
            }
        }
        if done.iter().all(Option::is_some) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    done.into_iter().flatten().collect()
}
