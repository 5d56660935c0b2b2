//! MCP 2026-07-28 beside the session revisions, on the virtual clock: stateless requests
//! over HTTP and stdio, multi round-trip input with sealed state, per-request capabilities
//! and logging, `subscriptions/listen`, and trace context in the log.

mod common;

use std::time::Duration;

use common::world::{World, initialize, request};
use rampart_core::{
    ClientError, Config, Elicitation, Framing, LoggingLevel, Notice, Registry, Tool, ToolOutput,
};
use serde_json::{Value, json};

fn meta(capabilities: Value) -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": capabilities
    })
}

fn elicit_caps() -> Value {
    json!({"elicitation": {}})
}

/// A 2026-07-28 request: `params._meta` names the revision and `capabilities`.
fn modern(id: i64, method: &str, mut params: Value, capabilities: Value) -> Value {
    let mut meta = meta(capabilities);
    if let Some(extra) = params.get("_meta").cloned() {
        meta.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
    }
    params["_meta"] = meta;
    request(id, method, params)
}

/// A `POST` of a 2026-07-28 request with the headers a client sends (and `extra` ones).
fn post(body: &Value, extra: &str) -> Vec<u8> {
    let method = body["method"].as_str().unwrap_or_default();
    let mut head = format!(
        "POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2026-07-28\r\nMcp-Method: {method}\r\n"
    );
    let name = body["params"]["name"].as_str().or(body["params"]["uri"].as_str());
    if let Some(name) = name {
        head.push_str(&format!("Mcp-Name: {name}\r\n"));
    }
    let body = body.to_string();
    format!("{head}{extra}Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

fn form(field: &str) -> Elicitation {
    Elicitation::form(
        format!("Your {field}?"),
        json!({"type": "object", "properties": {field: {"type": "string"}}, "required": [field]}),
    )
}

fn answer(content: Value) -> Value {
    json!({"action": "accept", "content": content})
}

fn registry() -> Registry {
    let none = || json!({"type": "object", "properties": {}});
    Registry::new()
        .tool(Tool::new("greet", none(), |_, ctx| async move {
            let name = ctx.input("user_name").elicit(form("name")).await?;
            Ok(ToolOutput::text(format!(
                "Hello, {}!",
                name.content.unwrap()["name"]
            )))
        }))
        .unwrap()
        .tool(Tool::new("two", none(), |_, ctx| async move {
            let name = ctx.input("step1").elicit(form("name")).await?;
            let color = ctx.input("step2").elicit(form("color")).await?;
            let (name, color) = (name.content.unwrap(), color.content.unwrap());
            Ok(ToolOutput::text(format!(
                "{} likes {}",
                name["name"], color["color"]
            )))
        }))
        .unwrap()
        .tool(Tool::new("sample", none(), |_, ctx| async move {
            let params = json!({"messages": [], "maxTokens": 5});
            let result = ctx.sample(params).await?;
            Ok(ToolOutput::text(
                result["content"]["text"].as_str().unwrap_or_default(),
            ))
        }))
        .unwrap()
        .tool(Tool::new("polite", none(), |_, ctx| async move {
            // A handler may catch what the client cannot do and carry on.
            match ctx.roots().await {
                Err(ClientError::NotSupported(_)) => Ok(ToolOutput::text("no roots")),
                other => other
                    .map(|roots| ToolOutput::text(format!("{} roots", roots.len())))
                    .map_err(Into::into),
            }
        }))
        .unwrap()
        .tool(Tool::new("chatty", none(), |_, ctx| async move {
            ctx.log(LoggingLevel::Info, "working");
            Ok(ToolOutput::text("done"))
        }))
        .unwrap()
        .tool(Tool::new("announce", none(), |_, ctx| async move {
            ctx.notify(Notice::ToolsChanged);
            Ok(ToolOutput::text("announced"))
        }))
        .unwrap()
}

fn world() -> World {
    let config = Config {
        request_state_ttl: Duration::from_secs(60),
        ..Config::default()
    };
    World::new(config, registry())
}

/// Sends one 2026-07-28 request on a fresh connection; returns (status, body).
fn exchange(world: &mut World, body: &Value, extra: &str) -> (u16, Value) {
    let conn = world.connect(Framing::Http);
    world.send(conn, &post(body, extra));
    let response = world.responses(conn).remove(0);
    assert_eq!(
        response.header("mcp-session-id"),
        None,
        "no session for 2026-07-28"
    );
    (response.status, response.json())
}

fn call(id: i64, tool: &str, extra: Value) -> Value {
    let mut params = json!({"name": tool, "arguments": {}});
    params
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    modern(id, "tools/call", params, elicit_caps())
}

#[test]
fn a_question_becomes_input_required_and_the_retry_completes() {
    let mut world = world();
    let (status, first) = exchange(&mut world, &call(1, "greet", json!({})), "");
    assert_eq!(status, 200);
    let result = &first["result"];
    assert_eq!(result["resultType"], "input_required");
    assert_eq!(
        result["inputRequests"]["user_name"]["method"],
        "elicitation/create"
    );
    assert_eq!(
        result["inputRequests"]["user_name"]["params"]["message"],
        "Your name?"
    );
    assert!(result["requestState"].is_string());
    assert_eq!(world.running(), 0, "nothing waits between rounds");
    // The answer alone is enough; keys the handler did not ask for are ignored.
    let responses =
        json!({"inputResponses": {"user_name": answer(json!({"name": "Ada"})), "extra": answer(json!({}))}});
    let (_, done) = exchange(&mut world, &call(2, "greet", responses), "");
    assert_eq!(done["result"]["resultType"], "complete");
    assert_eq!(done["result"]["content"][0]["text"], r#"Hello, "Ada"!"#);
    // A wrong key is asked again; a malformed answer map is -32602.
    let wrong = json!({"inputResponses": {"name": answer(json!({"name": "Ada"}))}});
    let (_, again) = exchange(&mut world, &call(3, "greet", wrong), "");
    assert_eq!(again["result"]["resultType"], "input_required");
    for bad in [
        json!({"inputResponses": {"user_name": 12345}}),
        json!({"inputResponses": null}),
    ] {
        let (_, refused) = exchange(&mut world, &call(4, "greet", bad), "");
        assert_eq!(refused["error"]["code"], -32602, "{refused}");
    }
}

#[test]
fn rounds_carry_earlier_answers_in_sealed_state() {
    let mut world = world();
    let (_, round1) = exchange(&mut world, &call(1, "two", json!({})), "");
    let state1 = round1["result"]["requestState"].clone();
    assert!(round1["result"]["inputRequests"]["step1"].is_object());
    let retry = json!({"requestState": state1, "inputResponses": {"step1": answer(json!({"name": "Ada"}))}});
    let (_, round2) = exchange(&mut world, &call(2, "two", retry), "");
    let state2 = round2["result"]["requestState"].clone();
    assert!(round2["result"]["inputRequests"]["step2"].is_object());
    assert!(round2["result"]["inputRequests"].get("step1").is_none());
    assert_ne!(state1, state2, "each round has its own state");
    let retry =
        json!({"requestState": state2, "inputResponses": {"step2": answer(json!({"color": "blue"}))}});
    let (_, round3) = exchange(&mut world, &call(3, "two", retry.clone()), "");
    assert_eq!(round3["result"]["content"][0]["text"], r#""Ada" likes "blue""#);
    // Tampered, moved to another request, or late: refused with -32602.
    let mut tampered = retry.clone();
    tampered["requestState"] = json!(format!("{}-TAMPERED", state2.as_str().unwrap()));
    let (status, refused) = exchange(&mut world, &call(4, "two", tampered), "");
    assert_eq!((status, refused["error"]["code"].clone()), (200, json!(-32602)));
    assert_eq!(refused["id"], 4);
    let mut moved = call(5, "two", retry.clone());
    moved["params"]["arguments"] = json!({"other": true});
    let (_, refused) = exchange(&mut world, &moved, "");
    assert_eq!(refused["error"]["code"], -32602);
    world.advance(Duration::from_secs(61));
    let (_, late) = exchange(&mut world, &call(6, "two", retry), "");
    assert_eq!(late["error"]["code"], -32602);
}

#[test]
fn state_belongs_to_the_principal_it_was_sealed_for() {
    let config = Config::default()
        .apply_env([("AUTH_TOKENS", "alice:alice-secret-token,bob:bob-secret-token")])
        .unwrap();
    let mut world = World::new(config, registry());
    let as_alice = "Authorization: Bearer alice-secret-token\r\n";
    let as_bob = "Authorization: Bearer bob-secret-token\r\n";
    let (_, round1) = exchange(&mut world, &call(1, "two", json!({})), as_alice);
    let retry = json!({
        "requestState": round1["result"]["requestState"],
        "inputResponses": {"step1": answer(json!({"name": "Ada"}))}
    });
    let (_, stolen) = exchange(&mut world, &call(2, "two", retry.clone()), as_bob);
    assert_eq!(stolen["error"]["code"], -32602);
    let (_, own) = exchange(&mut world, &call(3, "two", retry), as_alice);
    assert_eq!(own["result"]["resultType"], "input_required");
}

#[test]
fn capabilities_are_those_of_each_request() {
    let mut world = world();
    let without = modern(1, "tools/call", json!({"name": "sample"}), json!({}));
    let (status, refused) = exchange(&mut world, &without, "");
    assert_eq!(status, 400);
    assert_eq!(refused["id"], 1);
    assert_eq!(refused["error"]["code"], -32021);
    assert_eq!(
        refused["error"]["data"],
        json!({"requiredCapabilities": {"sampling": {}}})
    );
    // The same tool for a request that declares sampling asks instead.
    let with = modern(
        2,
        "tools/call",
        json!({"name": "sample"}),
        json!({"sampling": {}}),
    );
    let (_, asked) = exchange(&mut world, &with, "");
    assert_eq!(
        asked["result"]["inputRequests"]["sampling-1"]["method"],
        "sampling/createMessage"
    );
    // A handler that copes without the capability is answered as it says.
    let polite = modern(3, "tools/call", json!({"name": "polite"}), json!({}));
    let (status, done) = exchange(&mut world, &polite, "");
    assert_eq!(
        (status, done["result"]["content"][0]["text"].clone()),
        (200, json!("no roots"))
    );
}

#[test]
fn logs_reach_only_requests_that_ask_for_a_level() {
    let mut world = world();
    let (_, quiet) = exchange(&mut world, &call(1, "chatty", json!({})), "");
    assert_eq!(quiet["result"]["content"][0]["text"], "done");
    for (level, expected) in [("debug", 1), ("error", 0)] {
        let body = modern(
            2,
            "tools/call",
            json!({"name": "chatty", "_meta": {"io.modelcontextprotocol/logLevel": level}}),
            json!({}),
        );
        let conn = world.connect(Framing::Http);
        world.send(conn, &post(&body, ""));
        let text = world.fresh(conn);
        assert_eq!(
            text.matches("notifications/message").count(),
            expected,
            "{level}: {text}"
        );
        assert!(text.contains(r#""resultType":"complete""#), "{text}");
    }
}

#[test]
fn removed_methods_get_404_and_stream_methods_405() {
    let mut world = world();
    for method in [
        "initialize",
        "ping",
        "logging/setLevel",
        "resources/subscribe",
        "unknown/method",
    ] {
        let (status, body) = exchange(&mut world, &modern(9, method, json!({}), json!({})), "");
        assert_eq!(
            (status, body["error"]["code"].clone(), body["id"].clone()),
            (404, json!(-32601), json!(9)),
            "{method}"
        );
    }
    for method in ["GET", "DELETE"] {
        let conn = world.connect(Framing::Http);
        let head = format!(
            "{method} /mcp HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\nMCP-Protocol-Version: 2026-07-28\r\n\r\n"
        );
        world.send(conn, head.as_bytes());
        let response = world.responses(conn).remove(0);
        assert_eq!(response.status, 405, "{method}");
        assert_eq!(response.header("allow"), Some("POST, OPTIONS"));
    }
}

#[test]
fn the_checks_run_in_order_and_echo_the_id() {
    let mut world = world();
    let discover = |meta: Value| json!({"jsonrpc": "2.0", "id": 7, "method": "server/discover", "params": {"_meta": meta}});
    // `_meta` incomplete: -32602, before the header is compared.
    let (status, body) = exchange(&mut world, &discover(json!({})), "");
    assert_eq!(
        (status, body["error"]["code"].clone(), body["id"].clone()),
        (400, json!(-32602), json!(7))
    );
    // The header disagrees with `_meta`: -32020 before the version is judged.
    let mut odd = meta(json!({}));
    odd["io.modelcontextprotocol/protocolVersion"] = json!("v999");
    let (status, body) = exchange(&mut world, &discover(odd.clone()), "");
    assert_eq!((status, body["error"]["code"].clone()), (400, json!(-32020)));
    // Both name an unknown revision: -32022 naming those served.
    let conn = world.connect(Framing::Http);
    let bytes = String::from_utf8(post(&discover(odd), ""))
        .unwrap()
        .replace("MCP-Protocol-Version: 2026-07-28", "MCP-Protocol-Version: v999");
    world.send(conn, bytes.as_bytes());
    let response = world.responses(conn).remove(0);
    assert_eq!(response.status, 400);
    assert_eq!(response.json()["error"]["code"], -32022);
    assert_eq!(
        response.json()["error"]["data"],
        json!({"supported": ["2026-07-28"], "requested": "v999"})
    );
    // Without the name header: -32020.
    let conn = world.connect(Framing::Http);
    let bytes = String::from_utf8(post(&call(8, "greet", json!({})), ""))
        .unwrap()
        .replace("Mcp-Name: greet\r\n", "");
    world.send(conn, bytes.as_bytes());
    let response = world.responses(conn).remove(0);
    assert_eq!(
        (response.status, response.json()["error"]["code"].clone()),
        (400, json!(-32020))
    );
}

#[test]
fn a_listen_stream_carries_what_it_asked_for_until_shutdown() {
    let mut world = world();
    let listen = modern(
        41,
        "subscriptions/listen",
        json!({"notifications": {"toolsListChanged": true, "promptsListChanged": true}}),
        json!({}),
    );
    let conn = world.connect(Framing::Http);
    world.send(conn, &post(&listen, ""));
    let opened = world.fresh(conn);
    assert!(opened.starts_with("HTTP/1.1 200"), "{opened}");
    let events = common::world::sse_events(&opened);
    assert_eq!(events.len(), 1);
    let ack = &events[0].1;
    assert_eq!(ack["method"], "notifications/subscriptions/acknowledged");
    assert_eq!(
        ack["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        41
    );
    // The registry has no prompts: only tools are honoured.
    assert_eq!(ack["params"]["notifications"], json!({"toolsListChanged": true}));
    // A tool's announcement reaches the stream, tagged; other kinds do not.
    let (_, done) = exchange(&mut world, &call(1, "announce", json!({})), "");
    assert_eq!(done["result"]["content"][0]["text"], "announced");
    world.notify(Notice::ResourcesChanged);
    let events = common::world::sse_events(&world.fresh(conn));
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].1["method"], "notifications/tools/list_changed");
    assert_eq!(
        events[0].1["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        41
    );
    // Shutdown ends it with its result.
    world.server.shutdown(world.now);
    world.pump();
    let rest = world.fresh(conn);
    let events = common::world::sse_events(&rest);
    assert_eq!(events[0].1["id"], 41);
    assert_eq!(events[0].1["result"]["resultType"], "complete");
    assert_eq!(
        events[0].1["result"]["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
        "unnamed-server"
    );
    assert!(rest.ends_with("0\r\n\r\n"), "the stream ends cleanly: {rest:?}");
    assert!(world.closed.contains(&conn));
}

#[test]
fn on_stdio_the_first_request_decides_the_era() {
    let mut world = world();
    // A discover probe is answered without deciding; initialize then makes a session.
    let conn = world.connect(Framing::Ndjson);
    world.line(conn, modern(1, "server/discover", json!({}), json!({})));
    assert_eq!(
        world.lines(conn)[0]["result"]["supportedVersions"][4],
        "2026-07-28"
    );
    world.line(conn, initialize(2, json!({})));
    assert_eq!(world.lines(conn)[0]["result"]["protocolVersion"], "2025-11-25");
    // From then on `_meta` changes nothing: the pipe speaks its session's revision.
    world.line(conn, modern(3, "ping", json!({}), json!({})));
    assert_eq!(world.lines(conn)[0]["result"], json!({}));
    // A pipe whose first request is 2026-07-28 has no initialize.
    let conn = world.connect(Framing::Ndjson);
    world.line(
        conn,
        modern(1, "tools/call", json!({"name": "greet"}), elicit_caps()),
    );
    let first = world.lines(conn).remove(0);
    assert_eq!(first["result"]["resultType"], "input_required");
    world.line(conn, modern(2, "initialize", json!({}), json!({})));
    assert_eq!(world.lines(conn)[0]["error"]["code"], -32601);
    // Every request carries its own metadata: a bare initialize lacks it.
    world.line(conn, initialize(3, json!({})));
    assert_eq!(world.lines(conn)[0]["error"]["code"], -32602);
}

#[test]
fn a_listen_on_stdio_ends_when_cancelled() {
    let mut world = world();
    let conn = world.connect(Framing::Ndjson);
    world.line(
        conn,
        modern(
            5,
            "subscriptions/listen",
            json!({"notifications": {"toolsListChanged": true}}),
            json!({}),
        ),
    );
    assert_eq!(
        world.lines(conn)[0]["method"],
        "notifications/subscriptions/acknowledged"
    );
    world.notify(Notice::ToolsChanged);
    let tagged = world.lines(conn).remove(0);
    assert_eq!(
        tagged["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        5
    );
    world.line(
        conn,
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 5}}),
    );
    world.notify(Notice::ToolsChanged);
    assert!(world.lines(conn).is_empty(), "nothing after the cancel");
}

#[test]
fn trace_context_reaches_the_log_record() {
    let mut world = world();
    let parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let body = modern(
        1,
        "tools/call",
        json!({"name": "chatty", "_meta": {"traceparent": parent, "tracestate": "congo=t61"}}),
        json!({}),
    );
    exchange(&mut world, &body, "");
    let record = world
        .logs
        .iter()
        .find(|record| record.method.as_deref() == Some("chatty"))
        .expect("a record of the call");
    assert_eq!(record.traceparent.as_deref(), Some(parent));
    assert_eq!(record.tracestate.as_deref(), Some("congo=t61"));
    assert!(record.to_json_line().contains(parent));
}

#[test]
fn any_replica_with_the_same_key_continues_the_exchange() {
    let replica = |key: &str| {
        let config = Config::default().apply_env([("REQUEST_STATE_KEY", key)]).unwrap();
        World::new(config, registry())
    };
    let shared = "a-replica-key-of-at-least-32-bytes!";
    let (mut first, mut second) = (replica(shared), replica(shared));
    let (_, round1) = exchange(&mut first, &call(1, "two", json!({})), "");
    let retry = json!({
        "requestState": round1["result"]["requestState"],
        "inputResponses": {"step1": answer(json!({"name": "Ada"}))}
    });
    let (_, round2) = exchange(&mut second, &call(2, "two", retry.clone()), "");
    assert!(round2["result"]["inputRequests"]["step2"].is_object(), "{round2}");
    let mut stranger = replica("another-key-of-at-least-32-bytes-long");
    let (_, refused) = exchange(&mut stranger, &call(3, "two", retry), "");
    assert_eq!(refused["error"]["code"], -32602);
    assert!(
        Config::default()
            .apply_env([("REQUEST_STATE_KEY", "short")])
            .is_err(),
        "a short key is refused"
    );
}
