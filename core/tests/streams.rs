//! SSE streams on the virtual clock: the session's standalone stream carries announcements
//! with event ids, a bounded replay serves `Last-Event-ID` to the owning session only, and a
//! call's stream carries its progress (with heartbeats) before its result.

mod common;

use std::time::Duration;

use common::world::{World, feature_registry, get_stream, post, request, sse_events};
use rampart_core::{Config, Framing, Notice};
use serde_json::json;

fn subscribed(world: &mut World) -> String {
    let session = world.http_session(json!({}));
    let conn = world.connect(Framing::Http);
    let subscribe = request(1, "resources/subscribe", json!({"uri": "test://a"}));
    world.send(conn, &post(&subscribe.to_string(), Some(&session)));
    assert_eq!(world.responses(conn)[0].json()["result"], json!({}));
    session
}

#[test]
fn the_standalone_stream_carries_announcements_with_ids() {
    let mut world = World::new(Config::default(), feature_registry());
    let session = subscribed(&mut world);
    let stream = world.connect(Framing::Http);
    world.send(stream, &get_stream(&session, None));
    let head = world.fresh(stream);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.contains("X-Accel-Buffering: no\r\n"));
    world.notify(Notice::ResourceUpdated("test://a".into()));
    world.notify(Notice::ResourcesChanged);
    let events = sse_events(&world.fresh(stream));
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].1["method"], "notifications/resources/updated");
    assert_eq!(events[0].1["params"]["uri"], "test://a");
    assert_eq!(events[1].1["method"], "notifications/resources/list_changed");
    assert_ne!(events[0].0, events[1].0, "each event has its own id");

    // A second stream for the session is refused while the first is open.
    let second = world.connect(Framing::Http);
    world.send(second, &get_stream(&session, None));
    assert_eq!(world.responses(second)[0].status, 409);
}

#[test]
fn a_reconnecting_client_gets_what_it_missed_and_only_that() {
    let mut world = World::new(Config::default(), feature_registry());
    let session = subscribed(&mut world);
    let stream = world.connect(Framing::Http);
    world.send(stream, &get_stream(&session, None));
    world.fresh(stream);
    world.notify(Notice::ResourceUpdated("test://a".into()));
    let seen = sse_events(&world.fresh(stream)).remove(0).0.expect("an id");
    world.disconnect(stream);
    // Sent while no stream is open: kept for the next one.
    world.notify(Notice::ToolsChanged);
    world.notify(Notice::PromptsChanged);

    let again = world.connect(Framing::Http);
    world.send(again, &get_stream(&session, Some(&seen)));
    let events = sse_events(&world.fresh(again));
    let methods: Vec<_> = events
        .iter()
        .map(|(_, message)| message["method"].clone())
        .collect();
    assert_eq!(
        methods,
        [
            json!("notifications/tools/list_changed"),
            json!("notifications/prompts/list_changed")
        ]
    );

    // Another session replaying with the same id sees nothing of this one.
    let stranger = world.http_session(json!({}));
    let other = world.connect(Framing::Http);
    world.send(other, &get_stream(&stranger, Some(&seen)));
    assert!(sse_events(&world.fresh(other)).is_empty());
    // And a session id it does not own is not found.
    let unknown = world.connect(Framing::Http);
    world.send(
        unknown,
        &get_stream("0123456789abcdef0123456789abcdef", Some(&seen)),
    );
    assert_eq!(world.responses(unknown)[0].status, 404);
}

#[test]
fn resuming_the_standalone_stream_takes_it_over() {
    let mut world = World::new(Config::default(), feature_registry());
    let session = subscribed(&mut world);
    let old = world.connect(Framing::Http);
    world.send(old, &get_stream(&session, None));
    world.notify(Notice::ResourceUpdated("test://a".into()));
    let seen = sse_events(&world.fresh(old)).remove(0).0.expect("an id");
    let new = world.connect(Framing::Http);
    world.send(new, &get_stream(&session, Some(&seen)));
    assert!(
        world.closed.contains(&old),
        "the connection left behind is closed"
    );
    world.notify(Notice::ResourceUpdated("test://a".into()));
    assert_eq!(sse_events(&world.fresh(new)).len(), 1);
}

#[test]
fn the_replay_buffer_is_bounded() {
    let config = Config {
        max_stream_queue: 3,
        ..Config::default()
    };
    let mut world = World::new(config, feature_registry());
    let session = world.http_session(json!({}));
    for _ in 0..10 {
        world.notify(Notice::ToolsChanged);
    }
    let stream = world.connect(Framing::Http);
    world.send(stream, &get_stream(&session, None));
    assert_eq!(
        sse_events(&world.fresh(stream)).len(),
        3,
        "only the newest are kept"
    );
}

#[test]
fn a_call_stream_primes_resumption_and_carries_progress_before_its_result() {
    let mut world = World::new(Config::default(), feature_registry());
    let session = world.http_session(json!({}));
    let call = world.connect(Framing::Http);
    let body = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
        "params": {"name": "wait", "_meta": {"progressToken": "tok"}}});
    world.send(call, &post(&body.to_string(), Some(&session)));
    let text = world.fresh(call);
    assert!(text.contains("retry: "), "a priming event first: {text}");
    let events = sse_events(&text);
    assert_eq!(
        events[0].1["params"],
        json!({"progressToken": "tok", "progress": 1.0, "message": "started"})
    );
    // Heartbeats keep the client's timer alive, each a little above the last.
    world.advance(Duration::from_secs(10));
    world.advance(Duration::from_secs(10));
    let beats: Vec<f64> = sse_events(&world.fresh(call))
        .iter()
        .map(|(_, message)| message["params"]["progress"].as_f64().unwrap())
        .collect();
    assert_eq!(beats.len(), 2);
    assert!(
        1.0 < beats[0] && beats[0] < beats[1] && beats[1] < 1.001,
        "{beats:?}"
    );
    // Without a progress token there is no progress at all.
    let quiet = world.connect(Framing::Http);
    world.send(
        quiet,
        &post(
            &request(4, "tools/call", json!({"name": "wait"})).to_string(),
            Some(&session),
        ),
    );
    world.advance(Duration::from_secs(25));
    assert_eq!(world.fresh(quiet), "");
}

#[test]
fn cors_exposes_the_session_header_and_preflight_allows_the_mcp_headers() {
    let mut world = World::new(Config::default(), feature_registry());
    let conn = world.connect(Framing::Http);
    let preflight = "OPTIONS /mcp HTTP/1.1\r\nHost: localhost\r\nOrigin: http://localhost:3000\r\n\
        Access-Control-Request-Method: POST\r\n\r\n";
    world.send(conn, preflight.as_bytes());
    let response = world.responses(conn).remove(0);
    let allowed = response.header("access-control-allow-headers").unwrap();
    assert!(
        allowed.contains("MCP-Protocol-Version") && allowed.contains("Last-Event-ID"),
        "{allowed}"
    );
    let init = common::world::initialize(1, json!({})).to_string();
    let mut bytes = post(&init, None);
    let at = bytes.windows(2).position(|w| w == b"\r\n").unwrap() + 2;
    bytes.splice(at..at, b"Origin: http://localhost:3000\r\n".iter().copied());
    world.send(conn, &bytes);
    let response = world.responses(conn).remove(0);
    assert!(
        response
            .header("access-control-expose-headers")
            .unwrap()
            .contains("Mcp-Session-Id")
    );
}

#[test]
fn a_call_in_flight_at_shutdown_closes_its_connection_after_its_answer() {
    let mut world = World::new(Config::default(), feature_registry());
    let session = world.http_session(json!({"sampling": {}}));
    let call = world.connect(Framing::Http);
    world.send(
        call,
        &post(
            &request(1, "tools/call", json!({"name": "ask"})).to_string(),
            Some(&session),
        ),
    );
    let asked = sse_events(&world.fresh(call)).remove(0).1;
    world.server.shutdown(world.now);
    world.pump();
    assert!(!world.closed.contains(&call), "the call still runs");
    let reply = json!({"jsonrpc": "2.0", "id": asked["id"],
        "result": {"role": "assistant", "content": {"type": "text", "text": "late"}, "model": "m"}});
    let answer = world.connect(Framing::Http);
    world.send(answer, &post(&reply.to_string(), Some(&session)));
    assert_eq!(
        sse_events(&world.fresh(call))[0].1["result"]["content"][0]["text"],
        "late"
    );
    assert!(
        world.closed.contains(&call),
        "closed after its answer, not at the keep-alive timeout"
    );
    assert!(world.server.is_drained());
}
