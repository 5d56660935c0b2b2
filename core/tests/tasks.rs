//! The tasks extension of 2026-07-28 (`io.modelcontextprotocol/tasks`) on the virtual
//! clock: a call becomes a task where its handler says, the client polls it, answers its
//! questions, cancels it; tasks belong to their principal and outlive their connection,
//! and ended ones are forgotten after their time to live.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::world::{World, request};
use rampart_core::{Config, Elicitation, Framing, Registry, TaskSupport, Tool, ToolOutput};
use serde_json::{Value, json};

const EXT: &str = "io.modelcontextprotocol/tasks";

fn caps(tasks: bool) -> Value {
    if tasks {
        json!({"elicitation": {}, "extensions": {EXT: {}}})
    } else {
        json!({"elicitation": {}})
    }
}

fn modern(id: i64, method: &str, mut params: Value, capabilities: Value) -> Value {
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": capabilities
    });
    request(id, method, params)
}

fn post(body: &Value, extra: &str) -> Vec<u8> {
    let method = body["method"].as_str().unwrap_or_default();
    let params = &body["params"];
    let name = params["name"].as_str().or(params["taskId"].as_str());
    let mut head = format!(
        "POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2026-07-28\r\nMcp-Method: {method}\r\n"
    );
    if let Some(name) = name {
        head.push_str(&format!("Mcp-Name: {name}\r\n"));
    }
    let body = body.to_string();
    format!("{head}{extra}Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

/// A gate the test opens to let a task's handler finish.
#[derive(Clone, Default)]
struct Gate(Arc<std::sync::atomic::AtomicBool>);

impl Gate {
    fn open(&self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    async fn wait(&self) {
        std::future::poll_fn(|_| {
            if self.0.load(std::sync::atomic::Ordering::SeqCst) {
                std::task::Poll::Ready(())
            } else {
                std::task::Poll::Pending
            }
        })
        .await;
    }
}

fn registry(gate: &Gate) -> Registry {
    let none = || json!({"type": "object", "properties": {}});
    let gate = gate.clone();
    let confirm = || {
        Elicitation::form(
            "Sure?",
            json!({"type": "object", "properties": {"ok": {"type": "boolean"}}}),
        )
    };
    Registry::new()
        .tool(
            Tool::new("job", none(), move |_, ctx| {
                let gate = gate.clone();
                async move {
                    ctx.start_task();
                    gate.wait().await;
                    Ok(ToolOutput::text("job done"))
                }
            })
            .tasks(TaskSupport::Optional),
        )
        .unwrap()
        .tool(
            Tool::new("must", none(), |_, ctx| async move {
                ctx.start_task();
                Ok(ToolOutput::error("it failed"))
            })
            .tasks(TaskSupport::Required),
        )
        .unwrap()
        .tool(
            Tool::new("ask", none(), move |_, ctx| async move {
                ctx.start_task();
                let answer = ctx.input("sure").elicit(confirm()).await?;
                Ok(ToolOutput::text(format!("ok={}", answer.content.unwrap()["ok"])))
            })
            .tasks(TaskSupport::Optional),
        )
        .unwrap()
        .tool(Tool::new("plain", none(), |_, ctx| async move {
            ctx.start_task();
            Ok(ToolOutput::text("plain"))
        }))
        .unwrap()
}

fn world(gate: &Gate) -> World {
    World::new(Config::default(), registry(gate))
}

fn exchange(world: &mut World, body: &Value, extra: &str) -> (u16, Value) {
    let conn = world.connect(Framing::Http);
    world.send(conn, &post(body, extra));
    let response = world.responses(conn).remove(0);
    (response.status, response.json())
}

fn call(world: &mut World, tool: &str, tasks: bool) -> (u16, Value) {
    exchange(
        world,
        &modern(
            1,
            "tools/call",
            json!({"name": tool, "arguments": {}}),
            caps(tasks),
        ),
        "",
    )
}

fn task_request(world: &mut World, method: &str, id: &str, extra: Value) -> (u16, Value) {
    let mut params = json!({"taskId": id});
    params
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    exchange(world, &modern(2, method, params, caps(true)), "")
}

#[test]
fn a_task_is_polled_until_it_completes() {
    let gate = Gate::default();
    let mut world = world(&gate);
    let (status, created) = call(&mut world, "job", true);
    assert_eq!(status, 200);
    let task = &created["result"];
    assert_eq!(task["resultType"], "task");
    assert_eq!(task["status"], "working");
    assert!(
        task["createdAt"].as_str().unwrap().starts_with("2027-01-15T"),
        "{task}"
    );
    assert!(task["ttlMs"].as_u64().unwrap() > 0);
    for absent in ["result", "error", "inputRequests", "requestState", "task"] {
        assert!(task.get(absent).is_none(), "{absent}");
    }
    let id = task["taskId"].as_str().unwrap().to_owned();
    let (_, polled) = task_request(&mut world, "tasks/get", &id, json!({}));
    assert_eq!(polled["result"]["status"], "working");
    assert_eq!(polled["result"]["resultType"], "complete");
    gate.open();
    world.pump();
    let (_, done) = task_request(&mut world, "tasks/get", &id, json!({}));
    assert_eq!(done["result"]["status"], "completed");
    assert_eq!(done["result"]["result"]["content"][0]["text"], "job done");
    // Ended tasks are kept for their time to live, then forgotten.
    world.advance(Duration::from_secs(301));
    let (_, gone) = task_request(&mut world, "tasks/get", &id, json!({}));
    assert_eq!(gone["error"]["code"], -32602);
}

#[test]
fn a_tool_error_completes_and_a_tool_without_tasks_answers_directly() {
    let mut world = world(&Gate::default());
    let (_, created) = call(&mut world, "must", true);
    let id = created["result"]["taskId"].as_str().unwrap().to_owned();
    let (_, done) = task_request(&mut world, "tasks/get", &id, json!({}));
    assert_eq!(done["result"]["status"], "completed");
    assert_eq!(done["result"]["result"]["isError"], true);
    // Without the extension a task-only tool is refused, and an optional one runs directly.
    let (status, refused) = call(&mut world, "must", false);
    assert_eq!((status, refused["error"]["code"].clone()), (400, json!(-32021)));
    assert_eq!(
        refused["error"]["data"]["requiredCapabilities"]["extensions"][EXT],
        json!({})
    );
    let (_, plain) = call(&mut world, "plain", true);
    assert_eq!(
        plain["result"]["resultType"], "complete",
        "a tool without tasks never becomes one"
    );
}

#[test]
fn questions_wait_for_tasks_update() {
    let mut world = world(&Gate::default());
    let (_, created) = call(&mut world, "ask", true);
    let id = created["result"]["taskId"].as_str().unwrap().to_owned();
    let (_, waiting) = task_request(&mut world, "tasks/get", &id, json!({}));
    assert_eq!(waiting["result"]["status"], "input_required");
    assert_eq!(
        waiting["result"]["inputRequests"]["sure"]["method"],
        "elicitation/create"
    );
    let answer =
        json!({"inputResponses": {"sure": {"action": "accept", "content": {"ok": true}}, "other": {}}});
    let (_, ack) = task_request(&mut world, "tasks/update", &id, answer);
    assert_eq!(
        ack["result"],
        json!({"resultType": "complete", "_meta": ack["result"]["_meta"]})
    );
    let (_, done) = task_request(&mut world, "tasks/get", &id, json!({}));
    assert_eq!(done["result"]["status"], "completed");
    assert_eq!(done["result"]["result"]["content"][0]["text"], "ok=true");
}

#[test]
fn cancel_ends_a_running_task_and_is_idempotent() {
    let gate = Gate::default();
    let mut world = world(&gate);
    let (_, created) = call(&mut world, "job", true);
    let id = created["result"]["taskId"].as_str().unwrap().to_owned();
    let (_, ack) = task_request(&mut world, "tasks/cancel", &id, json!({}));
    assert_eq!(ack["result"]["resultType"], "complete");
    assert_eq!(world.cancelled.len(), 1, "the handler is dropped");
    let (_, after) = task_request(&mut world, "tasks/get", &id, json!({}));
    assert_eq!(after["result"]["status"], "cancelled");
    let (_, again) = task_request(&mut world, "tasks/cancel", &id, json!({}));
    assert_eq!(again["result"]["resultType"], "complete");
}

#[test]
fn task_methods_need_the_extension_a_known_id_and_their_name_header() {
    let gate = Gate::default();
    let mut world = world(&gate);
    let without = modern(3, "tasks/get", json!({"taskId": "nope"}), caps(false));
    let (status, refused) = exchange(&mut world, &without, "");
    assert_eq!((status, refused["error"]["code"].clone()), (400, json!(-32021)));
    let (_, unknown) = task_request(&mut world, "tasks/get", "nope", json!({}));
    assert_eq!(unknown["error"]["code"], -32602);
    for removed in ["tasks/result", "tasks/list"] {
        let (status, body) = exchange(&mut world, &modern(4, removed, json!({}), caps(true)), "");
        assert_eq!(
            (status, body["error"]["code"].clone()),
            (404, json!(-32601)),
            "{removed}"
        );
    }
    let (_, created) = call(&mut world, "job", true);
    let id = created["result"]["taskId"].as_str().unwrap().to_owned();
    let conn = world.connect(Framing::Http);
    let body = modern(5, "tasks/get", json!({"taskId": id}), caps(true));
    let bytes = String::from_utf8(post(&body, ""))
        .unwrap()
        .replace(&format!("Mcp-Name: {id}"), "Mcp-Name: other");
    world.send(conn, bytes.as_bytes());
    let response = world.responses(conn).remove(0);
    assert_eq!(
        (response.status, response.json()["error"]["code"].clone()),
        (400, json!(-32020))
    );
    gate.open();
    world.pump();
}

#[test]
fn tasks_belong_to_their_principal_and_outlive_their_connection() {
    let config = Config::default()
        .apply_env([("AUTH_TOKENS", "alice:alice-secret-token,bob:bob-secret-token")])
        .unwrap();
    let gate = Gate::default();
    let mut world = World::new(config, registry(&gate));
    let alice = "Authorization: Bearer alice-secret-token\r\n";
    let bob = "Authorization: Bearer bob-secret-token\r\n";
    let body = modern(
        1,
        "tools/call",
        json!({"name": "job", "arguments": {}}),
        caps(true),
    );
    let conn = world.connect(Framing::Http);
    world.send(conn, &post(&body, alice));
    let created = world.responses(conn).remove(0).json();
    let id = created["result"]["taskId"].as_str().unwrap().to_owned();
    world.disconnect(conn);
    assert!(
        world.cancelled.is_empty(),
        "the task runs on without its connection"
    );
    let get = modern(2, "tasks/get", json!({"taskId": id}), caps(true));
    let (_, foreign) = exchange(&mut world, &get, bob);
    assert_eq!(foreign["error"]["code"], -32602, "bob cannot see alice's task");
    gate.open();
    world.pump();
    let (_, own) = exchange(&mut world, &get, alice);
    assert_eq!(own["result"]["status"], "completed");
}

#[test]
fn discover_names_the_extension_and_stdio_tasks_work_too() {
    let gate = Gate::default();
    let mut world = world(&gate);
    let conn = world.connect(Framing::Ndjson);
    world.line(conn, modern(1, "server/discover", json!({}), json!({})));
    let discovered = world.lines(conn).remove(0);
    assert_eq!(discovered["result"]["capabilities"]["extensions"][EXT], json!({}));
    world.line(conn, modern(2, "tools/call", json!({"name": "job"}), caps(true)));
    let created = world.lines(conn).remove(0);
    assert_eq!(created["id"], 2);
    let id = created["result"]["taskId"].as_str().unwrap().to_owned();
    gate.open();
    world.pump();
    assert!(world.lines(conn).is_empty(), "a task sends nothing when it ends");
    world.line(conn, modern(3, "tasks/get", json!({"taskId": id}), caps(true)));
    assert_eq!(world.lines(conn)[0]["result"]["status"], "completed");
}
