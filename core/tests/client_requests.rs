//! Requests a running handler makes to its client (sampling, elicitation, roots): sent on
//! the request's own channel, answered only from the same session and principal, refused
//! when the client did not declare the capability, bounded by a deadline, and abandoned
//! when the call ends.

mod common;

use std::time::Duration;

use common::world::{World, feature_registry, post, request, sse_events};
use rampart_core::{Config, Framing};
use serde_json::{Value, json};

const CAPABLE: &str = r#"{"sampling": {}, "elicitation": {}, "roots": {}}"#;

fn capable() -> Value {
    serde_json::from_str(CAPABLE).unwrap()
}

fn answer(id: &Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

#[test]
fn sampling_over_stdio_reaches_the_handler_that_asked() {
    let mut world = World::new(Config::default(), feature_registry());
    let conn = world.stdio_session(capable());
    world.line(
        conn,
        request(
            1,
            "tools/call",
            json!({"name": "ask", "arguments": {"prompt": "hi"}}),
        ),
    );
    let asked = world.lines(conn).remove(0);
    assert_eq!(asked["method"], "sampling/createMessage");
    assert_eq!(asked["params"]["messages"][0]["content"]["text"], "hi");
    assert_eq!(asked["params"]["maxTokens"], 10);
    let reply = json!({"role": "assistant", "content": {"type": "text", "text": "hello"}, "model": "m"});
    world.line(conn, answer(&asked["id"], reply));
    let result = world.lines(conn).remove(0);
    assert_eq!(result["id"], 1);
    assert_eq!(result["result"]["content"][0]["text"], "hello");
    assert_eq!(world.server.stats().client_requests, 0);
}

#[test]
fn elicitation_and_roots_over_stdio() {
    let mut world = World::new(Config::default(), feature_registry());
    let conn = world.stdio_session(capable());
    world.line(conn, request(1, "tools/call", json!({"name": "form"})));
    let asked = world.lines(conn).remove(0);
    assert_eq!(asked["method"], "elicitation/create");
    assert_eq!(asked["params"]["mode"], "form");
    assert_eq!(asked["params"]["message"], "Name?");
    world.line(
        conn,
        answer(
            &asked["id"],
            json!({"action": "accept", "content": {"name": "Ada"}}),
        ),
    );
    let text = world.lines(conn)[0]["result"]["content"][0]["text"].clone();
    assert_eq!(text, r#"Accept Some({"name": String("Ada")})"#);

    world.line(conn, request(2, "tools/call", json!({"name": "roots"})));
    let asked = world.lines(conn).remove(0);
    assert_eq!(asked["method"], "roots/list");
    assert!(asked.get("params").is_none());
    world.line(
        conn,
        answer(
            &asked["id"],
            json!({"roots": [{"uri": "file:///a"}, {"uri": "file:///b", "name": "b"}]}),
        ),
    );
    assert_eq!(
        world.lines(conn)[0]["result"]["content"][0]["text"],
        "file:///a,file:///b"
    );
}

#[test]
fn a_client_without_the_capability_is_never_asked() {
    let mut world = World::new(Config::default(), feature_registry());
    let conn = world.stdio_session(json!({"elicitation": {"url": {}}}));
    for (id, tool, missing) in [
        (1, "ask", "sampling"),
        (2, "form", "elicitation"),
        (3, "roots", "roots"),
    ] {
        world.line(conn, request(id, "tools/call", json!({"name": tool})));
        let lines = world.lines(conn);
        assert_eq!(lines.len(), 1, "only the result: {lines:?}");
        assert_eq!(lines[0]["result"]["isError"], true);
        assert_eq!(
            lines[0]["result"]["content"][0]["text"],
            format!("the client does not support {missing}")
        );
    }
}

#[test]
fn errors_from_the_client_and_silence_reach_the_handler() {
    let mut world = World::new(Config::default(), feature_registry());
    let conn = world.stdio_session(capable());
    world.line(conn, request(1, "tools/call", json!({"name": "ask"})));
    let asked = world.lines(conn).remove(0);
    world.line(
        conn,
        json!({"jsonrpc": "2.0", "id": asked["id"], "error": {"code": -1, "message": "user said no"}}),
    );
    assert_eq!(
        world.lines(conn)[0]["result"]["content"][0]["text"],
        "the client refused (-1): user said no"
    );

    // A call whose client never answers: the request's deadline (short here) passes first.
    let mut world = World::new(
        Config {
            client_request_timeout: Duration::from_secs(5),
            ..Config::default()
        },
        feature_registry(),
    );
    let conn = world.stdio_session(capable());
    world.line(conn, request(1, "tools/call", json!({"name": "ask"})));
    assert_eq!(world.lines(conn).len(), 1);
    world.advance(Duration::from_secs(5));
    let lines = world.lines(conn);
    assert_eq!(
        lines[0]["method"], "notifications/cancelled",
        "the client is told to drop it"
    );
    assert_eq!(lines[0]["params"]["reason"], "no answer in time");
    assert_eq!(
        lines[1]["result"]["content"][0]["text"],
        "the client did not answer in time"
    );
    assert_eq!(world.server.stats().client_requests, 0);
}

#[test]
fn responses_nobody_waits_for_change_nothing() {
    let mut world = World::new(Config::default(), feature_registry());
    let conn = world.stdio_session(capable());
    world.line(conn, answer(&json!(999), json!({})));
    world.line(conn, answer(&json!("x"), json!({})));
    assert!(world.lines(conn).is_empty());
    world.line(conn, request(1, "ping", json!({})));
    assert_eq!(world.lines(conn)[0]["result"], json!({}));
}

#[test]
fn over_http_requests_ride_the_post_stream_and_answers_must_come_from_the_same_session() {
    let mut world = World::new(Config::default(), feature_registry());
    let session = world.http_session(capable());
    let intruder = world.http_session(capable());
    let call = world.connect(Framing::Http);
    let body = request(
        7,
        "tools/call",
        json!({"name": "ask", "arguments": {"prompt": "p"}}),
    );
    world.send(call, &post(&body.to_string(), Some(&session)));
    let stream = world.fresh(call);
    assert!(stream.starts_with("HTTP/1.1 200 OK\r\n"));
    assert!(stream.contains("Content-Type: text/event-stream\r\n"));
    assert!(stream.contains("X-Accel-Buffering: no\r\n"));
    let events = sse_events(&stream);
    assert_eq!(events.len(), 1);
    let (event_id, asked) = &events[0];
    assert!(event_id.is_some(), "events of a session's stream carry ids");
    assert_eq!(asked["method"], "sampling/createMessage");
    let reply = answer(
        &asked["id"],
        json!({"role": "assistant", "content": {"type": "text", "text": "ok"}, "model": "m"}),
    );

    // Another session answering is refused, and the call goes on waiting.
    let other = world.connect(Framing::Http);
    world.send(other, &post(&reply.to_string(), Some(&intruder)));
    assert_eq!(world.responses(other)[0].status, 400);
    assert_eq!(world.running(), 1);

    let own = world.connect(Framing::Http);
    world.send(own, &post(&reply.to_string(), Some(&session)));
    assert_eq!(world.responses(own)[0].status, 202);
    let events = sse_events(&world.fresh(call));
    assert_eq!(events[0].1["id"], 7);
    assert_eq!(events[0].1["result"]["content"][0]["text"], "ok");
}

#[test]
fn a_call_that_ends_abandons_its_requests() {
    let mut world = World::new(Config::default(), feature_registry());
    let session = world.http_session(capable());
    let call = world.connect(Framing::Http);
    world.send(
        call,
        &post(
            &request(1, "tools/call", json!({"name": "ask"})).to_string(),
            Some(&session),
        ),
    );
    assert_eq!(world.server.stats().client_requests, 1);
    // The call's deadline passes first on another connection: the client is told to drop
    // the request it was asked, before the call's answer.
    let slow = world.connect(Framing::Http);
    world.send(
        slow,
        &post(
            &request(2, "tools/call", json!({"name": "ask"})).to_string(),
            Some(&session),
        ),
    );
    let asked = sse_events(&world.fresh(slow)).remove(0).1;
    world.advance(Duration::from_secs(30));
    let events = sse_events(&world.fresh(slow));
    assert_eq!(events[0].1["method"], "notifications/cancelled");
    assert_eq!(events[0].1["params"]["requestId"], asked["id"]);
    assert_eq!(events[1].1["error"]["code"], -32004);
    // The client leaves: the call is cancelled, its request to the client forgotten.
    world.disconnect(call);
    assert_eq!(world.cancelled.len(), 2, "the timed-out call and this one");
    assert_eq!(world.server.stats().client_requests, 0);
    assert_eq!(world.running(), 0);
}

#[test]
fn stateless_requests_cannot_reach_the_client() {
    let mut world = World::new(
        Config {
            stateless: true,
            ..Config::default()
        },
        feature_registry(),
    );
    let conn = world.connect(Framing::Http);
    world.send(
        conn,
        &post(
            &request(1, "tools/call", json!({"name": "ask"})).to_string(),
            None,
        ),
    );
    let response = world.responses(conn).remove(0);
    assert_eq!(
        response.json()["result"]["content"][0]["text"],
        "the client cannot be asked: the request has no session to carry it"
    );
}

#[test]
fn a_url_elicitation_needs_the_url_capability_and_can_be_completed() {
    use rampart_core::{Elicitation, Registry, Tool, ToolOutput};
    let registry = Registry::new()
        .tool(Tool::new(
            "login",
            json!({"type": "object"}),
            |_, ctx| async move {
                let url = Elicitation::url("Sign in", "https://example.com/login", "e-1");
                match ctx.elicit(url).await {
                    Ok(answer) => {
                        ctx.elicitation_complete("e-1");
                        Ok(ToolOutput::text(format!("{:?}", answer.action)))
                    }
                    Err(err) => Ok(ToolOutput::error(err.to_string())),
                }
            },
        ))
        .unwrap();
    let mut world = World::new(Config::default(), registry);
    let form_only = world.stdio_session(json!({"elicitation": {}}));
    world.line(form_only, request(1, "tools/call", json!({"name": "login"})));
    assert_eq!(
        world.lines(form_only)[0]["result"]["content"][0]["text"],
        "the client does not support elicitation.url"
    );
    let conn = world.stdio_session(json!({"elicitation": {"url": {}}}));
    world.line(conn, request(1, "tools/call", json!({"name": "login"})));
    let asked = world.lines(conn).remove(0);
    assert_eq!(
        asked["params"],
        json!({"mode": "url", "message": "Sign in", "url": "https://example.com/login", "elicitationId": "e-1"})
    );
    world.line(conn, answer(&asked["id"], json!({"action": "accept"})));
    let lines = world.lines(conn);
    assert_eq!(lines[0]["method"], "notifications/elicitation/complete");
    assert_eq!(lines[0]["params"]["elicitationId"], "e-1");
    assert_eq!(lines[1]["result"]["content"][0]["text"], "Accept");
}

#[test]
fn at_the_call_cap_answers_still_reach_the_waiting_handlers() {
    let config = Config {
        max_calls_per_connection: 2,
        ..Config::default()
    };
    let mut world = World::new(config, feature_registry());
    let conn = world.stdio_session(capable());
    let roots = json!({"roots": [{"uri": "file:///r"}]});
    world.line(conn, request(1, "tools/call", json!({"name": "roots"})));
    world.line(conn, request(2, "tools/call", json!({"name": "roots"})));
    // A third request waits for a call to end; reading goes on, so that answers get through.
    world.line(conn, request(3, "ping", json!({})));
    let asked = world.lines(conn);
    assert_eq!(asked.len(), 2, "two requests to the client: {asked:?}");
    assert!(world.server.wants_input(conn));
    world.line(conn, answer(&asked[0]["id"], roots.clone()));
    let lines = world.lines(conn);
    assert_eq!(lines[0]["id"], 1);
    assert_eq!(lines[0]["result"]["content"][0]["text"], "file:///r");
    assert_eq!(
        lines[1]["id"], 3,
        "the held request is answered once a call ended"
    );
    world.line(conn, answer(&asked[1]["id"], roots));
    assert_eq!(world.lines(conn)[0]["id"], 2);

    // Held requests have a bound of their own: past it, reading pauses.
    for id in 10..14 {
        world.line(conn, request(id, "tools/call", json!({"name": "roots"})));
    }
    assert_eq!(world.lines(conn).len(), 2, "two calls run, two requests wait");
    assert!(!world.server.wants_input(conn));
}
