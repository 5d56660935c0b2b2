//! Resources over NDJSON on the virtual clock: lists, reads of fixed resources and
//! templates, not-found errors, subscriptions and the notifications they bring.

mod common;

use common::world::{World, feature_registry, request};
use rampart_core::{Config, Notice, Registry};
use serde_json::json;

fn world() -> (World, rampart_core::ConnectionId) {
    let mut world = World::new(Config::default(), feature_registry());
    let conn = world.stdio_session(json!({}));
    (world, conn)
}

#[test]
fn capabilities_follow_what_is_registered() {
    let (mut world, _) = world();
    let conn = world.connect(rampart_core::Framing::Ndjson);
    world.line(conn, common::world::initialize(1, json!({})));
    let capabilities = &world.lines(conn)[0]["result"]["capabilities"];
    assert_eq!(
        capabilities["resources"],
        json!({"subscribe": true, "listChanged": true})
    );
    assert_eq!(capabilities["prompts"], json!({"listChanged": true}));
    assert_eq!(capabilities["completions"], json!({}));
    assert_eq!(capabilities["logging"], json!({}));

    let mut bare = World::new(Config::default(), Registry::new());
    let conn = bare.stdio_session(json!({}));
    bare.line(conn, common::world::initialize(1, json!({})));
    bare.line(conn, request(2, "resources/list", json!({})));
    let lines = bare.lines(conn);
    let capabilities = &lines[0]["error"];
    assert_eq!(capabilities["code"], -32600, "initialize twice: {lines:?}");
    assert_eq!(
        lines[1]["error"]["code"], -32601,
        "no resources: the method is not served"
    );
}

#[test]
fn lists_read_and_templates() {
    let (mut world, conn) = world();
    world.line(conn, request(1, "resources/list", json!({})));
    world.line(conn, request(2, "resources/templates/list", json!({})));
    world.line(conn, request(3, "resources/read", json!({"uri": "test://a"})));
    world.line(conn, request(4, "resources/read", json!({"uri": "test://b"})));
    world.line(
        conn,
        request(5, "resources/read", json!({"uri": "test://items/42"})),
    );
    let lines = world.lines(conn);
    assert_eq!(
        lines[0]["result"]["resources"],
        json!([
            {"uri": "test://a", "name": "a", "mimeType": "text/plain", "size": 5},
            {"uri": "test://b", "name": "b", "mimeType": "application/octet-stream", "size": 3}
        ])
    );
    assert_eq!(
        lines[1]["result"]["resourceTemplates"],
        json!([{"uriTemplate": "test://items/{id}", "name": "item", "mimeType": "text/plain"}])
    );
    assert_eq!(
        lines[2]["result"],
        json!({"contents": [{"uri": "test://a", "mimeType": "text/plain", "text": "alpha"}]})
    );
    assert_eq!(
        lines[3]["result"],
        json!({"contents": [{"uri": "test://b", "mimeType": "application/octet-stream", "blob": "AQID"}]})
    );
    // The template's listed MIME type fills in what the handler left out.
    assert_eq!(
        lines[4]["result"],
        json!({"contents": [{"uri": "test://items/42", "mimeType": "text/plain", "text": "item 42"}]})
    );
}

#[test]
fn unknown_resources_are_32002_with_the_uri_only_in_debug_data() {
    let (mut world, conn) = world();
    for (id, uri) in [
        (1, "test://nope"),
        (2, "test://items/missing"),
        (3, "test://items/a/b"),
    ] {
        world.line(conn, request(id, "resources/read", json!({"uri": uri})));
        let response = world.lines(conn).remove(0);
        assert_eq!(response["error"]["code"], -32002, "{uri}");
        assert_eq!(response["error"]["message"], format!("Resource not found: {uri}"));
        assert!(response["error"].get("data").is_none());
    }
    world.line(conn, request(4, "resources/read", json!({})));
    assert_eq!(world.lines(conn)[0]["error"]["code"], -32602);

    let mut debug = World::new(
        Config {
            debug: true,
            ..Config::default()
        },
        feature_registry(),
    );
    let conn = debug.stdio_session(json!({}));
    debug.line(conn, request(1, "resources/read", json!({"uri": "test://nope"})));
    assert_eq!(
        debug.lines(conn)[0]["error"]["data"],
        json!({"uri": "test://nope"})
    );
}

#[test]
fn updates_reach_subscribers_only() {
    let mut world = World::new(Config::default(), feature_registry());
    let subscriber = world.stdio_session(json!({}));
    let other = world.stdio_session(json!({}));
    world.line(
        subscriber,
        request(1, "resources/subscribe", json!({"uri": "test://a"})),
    );
    assert_eq!(world.lines(subscriber)[0]["result"], json!({}));
    world.line(
        other,
        request(1, "resources/subscribe", json!({"uri": "test://unknown"})),
    );
    assert_eq!(world.lines(other)[0]["error"]["code"], -32002);

    // A handler's notice, and one from outside any handler.
    world.line(other, request(2, "tools/call", json!({"name": "touch"})));
    assert_eq!(world.lines(other).len(), 1, "the caller is not subscribed");
    let update =
        json!({"jsonrpc": "2.0", "method": "notifications/resources/updated", "params": {"uri": "test://a"}});
    assert_eq!(world.lines(subscriber), vec![update.clone()]);
    world.notify(Notice::ResourceUpdated("test://a".into()));
    assert_eq!(world.lines(subscriber), vec![update]);
    world.notify(Notice::ResourceUpdated("test://b".into()));
    assert!(world.lines(subscriber).is_empty());

    world.line(
        subscriber,
        request(3, "resources/unsubscribe", json!({"uri": "test://a"})),
    );
    assert_eq!(world.lines(subscriber)[0]["result"], json!({}));
    world.notify(Notice::ResourceUpdated("test://a".into()));
    assert!(world.lines(subscriber).is_empty());
}

#[test]
fn list_changes_reach_every_initialized_session() {
    let mut world = World::new(Config::default(), feature_registry());
    let a = world.stdio_session(json!({}));
    let fresh = world.connect(rampart_core::Framing::Ndjson);
    world.notify(Notice::ToolsChanged);
    world.notify(Notice::PromptsChanged);
    let methods: Vec<_> = world.lines(a).iter().map(|m| m["method"].clone()).collect();
    assert_eq!(
        methods,
        [
            json!("notifications/tools/list_changed"),
            json!("notifications/prompts/list_changed")
        ]
    );
    assert!(
        world.lines(fresh).is_empty(),
        "not initialized: nothing to tell it"
    );
}

#[test]
fn subscriptions_are_capped_per_session() {
    let mut world = World::new(
        Config {
            max_subscriptions: 1,
            ..Config::default()
        },
        feature_registry(),
    );
    let conn = world.stdio_session(json!({}));
    world.line(
        conn,
        request(1, "resources/subscribe", json!({"uri": "test://a"})),
    );
    world.line(
        conn,
        request(2, "resources/subscribe", json!({"uri": "test://b"})),
    );
    let lines = world.lines(conn);
    assert_eq!(lines[0]["result"], json!({}));
    assert_eq!(lines[1]["error"]["code"], -32602);
}
