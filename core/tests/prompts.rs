//! Prompts and completion over NDJSON on the virtual clock.

mod common;

use common::world::{World, feature_registry, request};
use rampart_core::Config;
use serde_json::json;

fn world() -> (World, rampart_core::ConnectionId) {
    let mut world = World::new(Config::default(), feature_registry());
    let conn = world.stdio_session(json!({}));
    (world, conn)
}

#[test]
fn prompts_are_listed_and_got_with_their_arguments() {
    let (mut world, conn) = world();
    world.line(conn, request(1, "prompts/list", json!({})));
    world.line(
        conn,
        request(
            2,
            "prompts/get",
            json!({"name": "greet", "arguments": {"name": "Ada"}}),
        ),
    );
    let lines = world.lines(conn);
    assert_eq!(
        lines[0]["result"]["prompts"],
        json!([{"name": "greet", "description": "Greets", "arguments": [
            {"name": "name", "description": "Who", "required": true},
            {"name": "mood", "required": false}
        ]}])
    );
    assert_eq!(
        lines[1]["result"],
        json!({"description": "a greeting", "messages": [{"role": "user", "content": {"type": "text", "text": "Hello Ada"}}]})
    );
}

#[test]
fn prompt_arguments_are_checked_before_the_handler_runs() {
    let (mut world, conn) = world();
    for (id, params, message) in [
        (1, json!({"name": "greet"}), "Missing required argument: name"),
        (
            2,
            json!({"name": "greet", "arguments": {"name": 7}}),
            "arguments.name must be a string",
        ),
        (3, json!({"name": "nope"}), "Prompt not found: nope"),
        (4, json!({}), "prompts/get needs a string name"),
    ] {
        world.line(conn, request(id, "prompts/get", params));
        let response = world.lines(conn).remove(0);
        assert_eq!(response["error"]["code"], -32602, "{response}");
        assert_eq!(response["error"]["message"], message);
    }
    assert_eq!(world.running(), 0);
}

#[test]
fn completions_pass_context_and_are_capped_at_one_hundred() {
    let (mut world, conn) = world();
    world.line(
        conn,
        request(
            1,
            "completion/complete",
            json!({
                "ref": {"type": "ref/prompt", "name": "greet"},
                "argument": {"name": "name", "value": "A"},
                "context": {"arguments": {"mood": "happy"}}
            }),
        ),
    );
    let completion = &world.lines(conn)[0]["result"]["completion"];
    assert_eq!(completion["values"].as_array().unwrap().len(), 100);
    assert_eq!(completion["values"][0], "A0");
    assert_eq!(completion["hasMore"], true);
    assert_eq!(completion["total"], 150);

    world.line(
        conn,
        request(
            2,
            "completion/complete",
            json!({
                "ref": {"type": "ref/resource", "uri": "test://items/{id}"},
                "argument": {"name": "id", "value": "1"}
            }),
        ),
    );
    assert_eq!(
        world.lines(conn)[0]["result"],
        json!({"completion": {"values": ["1", "12"]}})
    );
}

#[test]
fn completion_refs_must_name_what_exists() {
    let (mut world, conn) = world();
    for (id, reference, argument) in [
        (1, json!({"type": "ref/prompt", "name": "nope"}), "name"),
        (2, json!({"type": "ref/prompt", "name": "greet"}), "nope"),
        (
            3,
            json!({"type": "ref/resource", "uri": "test://items/{id}"}),
            "nope",
        ),
        (
            4,
            json!({"type": "ref/resource", "uri": "test://nope/{id}"}),
            "id",
        ),
        (5, json!({"type": "ref/other"}), "id"),
    ] {
        world.line(
            conn,
            request(
                id,
                "completion/complete",
                json!({"ref": reference, "argument": {"name": argument, "value": ""}}),
            ),
        );
        assert_eq!(
            world.lines(conn)[0]["error"]["code"],
            -32602,
            "{reference} {argument}"
        );
    }
}
