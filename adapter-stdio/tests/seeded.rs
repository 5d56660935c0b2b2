//! A server from `seeded_server` answers through `serve_with` on in-memory streams.

use std::io::Cursor;

use rampart_core::{Config, Registry, Tool, ToolOutput};
use serde_json::{Value, json};

#[test]
fn a_seeded_server_answers_a_ping_and_a_tool_call() {
    let registry = Registry::new()
        .tool(Tool::new(
            "echo",
            json!({"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}),
            |args, _ctx| async move { Ok(ToolOutput::text(args["text"].as_str().unwrap_or_default())) },
        ))
        .unwrap();
    let server = rampart_stdio::seeded_server(Config::default(), registry).unwrap();
    let input = concat!(
        r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","#,
        r#""capabilities":{},"clientInfo":{"name":"test","version":"1"}}}"#,
        "\n",
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        "\n",
        r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
        "\n",
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}"#,
        "\n",
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let handle = runtime.handle().clone();
    let mut output = Vec::new();
    let mut log = Vec::new();
    rampart_stdio::serve_with(server, Cursor::new(input), &mut output, &mut log, move |task| {
        handle.spawn(task);
    })
    .unwrap();

    let answers: Vec<Value> = String::from_utf8(output)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(answers.len(), 3, "{answers:?}");
    let by_id = |id: u64| answers.iter().find(|answer| answer["id"] == id).unwrap();
    assert_eq!(by_id(0)["result"]["protocolVersion"], "2025-11-25", "{answers:?}");
    assert_eq!(by_id(1)["result"], json!({}));
    assert_eq!(by_id(2)["result"]["content"][0]["text"], "hi", "{answers:?}");
}
