//! The MCP lifecycle: initialize and version negotiation, requests before initialize,
//! ping, logging/setLevel and its filtering of tool log notifications.

mod common;

use common::{Harness, error_code, initialize, test_tools};
use rampart_core::{Config, LoggingLevel, Message, Outbox};
use serde_json::json;

#[test]
fn initialize_negotiates_each_supported_version_and_falls_back_to_latest() {
    for (requested, expected) in [
        ("2024-11-05", "2024-11-05"),
        ("2025-03-26", "2025-03-26"),
        ("2025-06-18", "2025-06-18"),
        ("2025-11-25", "2025-11-25"),
        ("2099-01-01", "2025-11-25"),
        ("garbage", "2025-11-25"),
    ] {
        let mut h = Harness::new(Config::default(), test_tools());
        let response = h.request(&initialize(1, requested));
        let result = &response["result"];
        assert_eq!(result["protocolVersion"], expected, "{requested}");
        assert_eq!(result["serverInfo"]["name"], "unnamed-server");
        assert!(result["capabilities"]["tools"].is_object());
        assert!(result["capabilities"]["logging"].is_object());
    }
}

#[test]
fn initialize_needs_a_protocol_version_and_happens_once() {
    let mut h = Harness::new(Config::default(), test_tools());
    let response = h.request(r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#);
    assert_eq!(error_code(&response), -32602);
    let response = h.request(r#"{"jsonrpc":"2.0","id":2,"method":"initialize"}"#);
    assert_eq!(error_code(&response), -32602);
    h.request(&initialize(3, "2025-06-18"));
    let response = h.request(&initialize(4, "2025-06-18"));
    assert_eq!(error_code(&response), -32600);
}

#[test]
fn only_ping_and_initialize_work_before_initialize() {
    let mut h = Harness::new(Config::default(), test_tools());
    let ping = h.request(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#);
    assert_eq!(ping["result"], json!({}));
    for method in ["tools/list", "tools/call", "logging/setLevel"] {
        let response = h.request(&format!(
            r#"{{"jsonrpc":"2.0","id":2,"method":"{method}","params":{{}}}}"#
        ));
        assert_eq!(error_code(&response), -32600, "{method}");
        assert!(
            response["error"]["message"]
                .as_str()
                .unwrap()
                .contains("not initialized")
        );
    }
    // A probe without 2026 metadata is a legacy request: the method is not one of theirs.
    let discover = h.request(r#"{"jsonrpc":"2.0","id":3,"method":"server/discover","params":{}}"#);
    assert_eq!(error_code(&discover), -32601);
    let unknown = h.request(r#"{"jsonrpc":"2.0","id":4,"method":"resources/list"}"#);
    assert_eq!(error_code(&unknown), -32601);
    // The connection is still usable afterwards.
    let response = h.request(&initialize(5, "2025-11-25"));
    assert_eq!(response["result"]["protocolVersion"], "2025-11-25");
}

#[test]
fn tool_definitions_follow_the_negotiated_version() {
    let list = |version: &str| {
        let mut h = Harness::new(Config::default(), test_tools());
        h.request(&initialize(1, version));
        h.request(r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#)["result"]["tools"].clone()
    };
    let old = list("2024-11-05");
    let echo = old
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "echo")
        .unwrap();
    assert!(echo.get("annotations").is_none() && echo.get("outputSchema").is_none());
    let create = old
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "user.create@v1")
        .unwrap();
    assert!(create.get("title").is_none());

    let new = list("2025-11-25");
    let echo = new
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "echo")
        .unwrap();
    assert_eq!(echo["annotations"], json!({"readOnlyHint": true}));
    assert_eq!(echo["outputSchema"]["type"], "object");
    assert_eq!(echo["inputSchema"]["required"], json!(["text"]));
    let create = new
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "user.create@v1")
        .unwrap();
    assert_eq!(create["title"], "Create user");
}

#[test]
fn set_level_filters_tool_log_notifications() {
    let mut h = Harness::initialized(Config::default());
    h.send(&common::tools_call(10, "never", json!({})));
    let call = h.calls.pop().unwrap();
    let log = |level| Message::Log {
        level,
        logger: None,
        data: json!("hello"),
    };
    // The default level is info: debug is held back, info passes.
    h.server
        .call_message(call.id, log(LoggingLevel::Debug), h.now)
        .unwrap();
    h.server
        .call_message(call.id, log(LoggingLevel::Info), h.now)
        .unwrap();
    h.drain();
    let sent = h.responses();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["method"], "notifications/message");
    assert_eq!(sent[0]["params"], json!({"level": "info", "data": "hello"}));

    let set =
        h.request(r#"{"jsonrpc":"2.0","id":11,"method":"logging/setLevel","params":{"level":"error"}}"#);
    assert_eq!(set["result"], json!({}));
    h.server
        .call_message(call.id, log(LoggingLevel::Warning), h.now)
        .unwrap();
    h.server
        .call_message(call.id, log(LoggingLevel::Critical), h.now)
        .unwrap();
    h.drain();
    let sent = h.responses();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["params"]["level"], "critical");

    // Progress goes out only when the client asked with a progress token.
    h.server
        .call_message(
            call.id,
            Message::Progress {
                progress: 1.0,
                total: None,
                message: None,
            },
            h.now,
        )
        .unwrap();
    h.drain();
    assert!(h.responses().is_empty());
    drop(call.run(Outbox::discard()));
}

#[test]
fn progress_reaches_a_client_that_asked() {
    let mut h = Harness::initialized(Config::default());
    h.send(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"never","arguments":{},"_meta":{"progressToken":"tok"}}}"#);
    let call = h.calls.pop().unwrap();
    h.server
        .call_message(
            call.id,
            Message::Progress {
                progress: 2.0,
                total: Some(4.0),
                message: Some("half".into()),
            },
            h.now,
        )
        .unwrap();
    h.drain();
    let sent = h.responses();
    assert_eq!(sent[0]["method"], "notifications/progress");
    assert_eq!(
        sent[0]["params"],
        json!({"progressToken": "tok", "progress": 2.0, "total": 4.0, "message": "half"})
    );
}
