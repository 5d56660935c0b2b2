//! `tools/list` and `tools/call` on a virtual clock: lookup, validation, outcomes, deadlines,
//! duplicate ids, cancellation and the log record of every request.

mod common;

use std::time::Duration;

use common::{Harness, error_code, initialize, tools_call};
use rampart_core::{
    CallError, Config, ErrorCode, Level, Outbox, Status, Tool, ToolOutput, ToolRegistry, Type,
    ValidationErrors, validate_params,
};
use serde_json::json;

#[test]
fn list_paginates_with_opaque_cursors() {
    let mut tools = ToolRegistry::new();
    for i in 0..7 {
        tools
            .register(Tool::new(
                format!("t{i}"),
                json!({"type": "object"}),
                |_, _| async { Ok(ToolOutput::text("")) },
            ))
            .unwrap();
    }
    let mut h = Harness::new(
        Config {
            page_size: 3,
            ..Config::default()
        },
        tools,
    );
    h.request(&initialize(1, "2025-11-25"));
    let mut names = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let params = cursor.as_ref().map_or(json!({}), |c| json!({ "cursor": c }));
        let request = json!({"jsonrpc": "2.0", "id": 2 + pages, "method": "tools/list", "params": params});
        let result = h.request(&request.to_string())["result"].clone();
        pages += 1;
        names.extend(
            result["tools"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["name"].as_str().unwrap().to_owned()),
        );
        match result.get("nextCursor") {
            Some(next) => cursor = Some(next.as_str().unwrap().to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(names, ["t0", "t1", "t2", "t3", "t4", "t5", "t6"]);
    for bad in ["\"x\"", "\"tools:0\"", "\"tools:7\"", "\"tools:-1\"", "5"] {
        let request =
            format!(r#"{{"jsonrpc":"2.0","id":9,"method":"tools/list","params":{{"cursor":{bad}}}}}"#);
        assert_eq!(error_code(&h.request(&request)), -32602, "cursor {bad}");
    }
}

#[test]
fn unknown_tools_and_verbs_get_their_own_codes() {
    let mut h = Harness::initialized(Config::default());
    let unknown = h.call(1, "nope", json!({}));
    assert_eq!(error_code(&unknown), -32001);
    let other_namespace = h.call(2, "billing.create@v1", json!({}));
    assert_eq!(error_code(&other_namespace), -32001);
    let verb = h.call(3, "user.delete@v1", json!({}));
    assert_eq!(error_code(&verb), -32002);
    let version = h.call(4, "user.create@v2", json!({}));
    assert_eq!(error_code(&version), -32002);
    assert!(h.calls.is_empty(), "no handler ran");
}

#[test]
fn missing_arguments_and_schema_violations_are_refused_before_the_handler() {
    let mut h = Harness::initialized(Config::default());
    let missing = h.call(1, "user.create@v1", json!({}));
    assert_eq!(error_code(&missing), -32000);
    assert_eq!(missing["error"]["message"], "Missing required parameter: email");
    let missing_name = h.call(2, "user.create@v1", json!({"email": "a@b.co"}));
    assert_eq!(
        missing_name["error"]["message"],
        "Missing required parameter: name"
    );
    let bad_email = h.call(
        3,
        "user.create@v1",
        json!({"email": "not-an-email", "name": "Ada"}),
    );
    assert_eq!(error_code(&bad_email), -32007);
    let message = bad_email["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("Invalid parameters: email: "), "{message}");
    let bad_type = h.call(4, "user.create@v1", json!({"email": 5, "name": "Ada"}));
    assert_eq!(error_code(&bad_type), -32007);
    assert!(
        bad_type["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Invalid parameters: email: ")
    );
    // An absent `arguments` is an empty object, so the required check still applies.
    h.send(r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo"}}"#);
    assert_eq!(error_code(&h.responses()[0]), -32000);
    assert!(h.calls.is_empty(), "no handler ran");
    let ok = h.call(
        6,
        "user.create@v1",
        json!({"email": "ada@example.com", "name": "Ada"}),
    );
    assert_eq!(ok["result"]["structuredContent"]["email"], "ada@example.com");
}

#[test]
fn validation_failures_can_be_tool_results() {
    let config = Config {
        validation_errors: ValidationErrors::ToolResult,
        ..Config::default()
    };
    let mut h = Harness::initialized(config);
    let response = h.call(1, "user.create@v1", json!({"email": "nope", "name": "Ada"}));
    assert_eq!(response["result"]["isError"], true);
    let text = response["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.starts_with("Invalid parameters: email: "), "{text}");
    // Unknown tools stay protocol errors.
    assert_eq!(error_code(&h.call(2, "nope", json!({}))), -32001);
}

#[test]
fn validate_params_helper_reports_like_the_table() {
    let params = json!({"email": 5});
    let err = validate_params(&params, &["email", "name"], &[("email", Type::String)]).unwrap_err();
    assert_eq!(
        (err.code, err.message.as_str()),
        (ErrorCode::Args, "Missing required parameter: name")
    );
    let params = json!({"email": 5, "name": "Ada"});
    let err = validate_params(&params, &["email", "name"], &[("email", Type::String)]).unwrap_err();
    assert_eq!(err.code, ErrorCode::Validation);
    assert_eq!(
        err.message,
        "Invalid parameters: email: expected string, got number"
    );
    let params = json!({"email": "a@b.co", "name": "Ada"});
    assert!(validate_params(&params, &["email", "name"], &[("email", Type::String)]).is_ok());
}

#[test]
fn handler_errors_and_panics_are_e_runtime_and_never_leak_without_debug() {
    let mut h = Harness::initialized(Config::default());
    let failed = h.call(1, "fail", json!({}));
    assert_eq!(error_code(&failed), -32003);
    assert!(!failed.to_string().contains("secret detail"));
    let panicked = h.call(2, "panic", json!({}));
    assert_eq!(error_code(&panicked), -32003);
    assert!(!panicked.to_string().contains("boom"));
    // The server goes on.
    let ok = h.call(3, "echo", json!({"text": "still here"}));
    assert_eq!(ok["result"]["content"][0]["text"], "still here");

    let mut debug = Harness::initialized(Config {
        debug: true,
        ..Config::default()
    });
    let failed = debug.call(1, "fail", json!({}));
    assert_eq!(failed["error"]["data"], "secret detail");
    let panicked = debug.call(2, "panic", json!({}));
    assert!(panicked["error"]["data"].as_str().unwrap().contains("boom"));
}

#[test]
fn a_tool_reported_failure_is_an_is_error_result() {
    let mut h = Harness::initialized(Config::default());
    let response = h.call(1, "soft_fail", json!({}));
    assert_eq!(
        response["result"],
        json!({"content": [{"type": "text", "text": "bad input, try again"}], "isError": true})
    );
}

#[test]
fn structured_content_is_kept_from_2025_06_18_only() {
    for (version, kept) in [("2025-03-26", false), ("2025-06-18", true)] {
        let mut h = Harness::new(Config::default(), common::test_tools());
        h.request(&initialize(1, version));
        let response = h.call(2, "user.create@v1", json!({"email": "a@b.co", "name": "A"}));
        assert_eq!(
            response["result"].get("structuredContent").is_some(),
            kept,
            "{version}"
        );
    }
}

#[test]
fn a_call_past_its_deadline_times_out_is_cancelled_and_its_late_result_refused() {
    let mut h = Harness::initialized(Config {
        tool_timeout: Duration::from_secs(5),
        ..Config::default()
    });
    h.send(&tools_call(1, "never", json!({})));
    let call = h.calls.pop().unwrap();
    let timeout = h.server.poll_timeout().unwrap();
    assert_eq!(timeout.at, h.now.instant + Duration::from_secs(5));
    assert_eq!(call.deadline, timeout.at);

    h.advance(Duration::from_millis(4999));
    assert!(h.responses().is_empty(), "not yet");
    h.advance(Duration::from_millis(1));
    let response = h.responses().remove(0);
    assert_eq!(error_code(&response), -32004);
    assert_eq!(response["id"], 1);
    assert_eq!(h.cancelled, vec![call.id]);
    assert!(h.server.poll_timeout().is_none());

    let late = h.complete(call.id, Ok(ToolOutput::text("too late").into()));
    assert_eq!(late, Err(CallError::NotRunning(call.id)));
    assert!(h.responses().is_empty(), "a late completion is never sent");
    // Spurious timeouts are harmless.
    h.advance(Duration::from_secs(100));
    assert!(h.responses().is_empty());
}

#[test]
fn a_tool_can_set_its_own_deadline() {
    let mut h = Harness::initialized(Config::default());
    h.send(&tools_call(1, "slow", json!({})));
    h.advance(Duration::from_secs(2));
    assert_eq!(error_code(&h.responses()[0]), -32004);
    assert_eq!(h.cancelled.len(), 1);
}

#[test]
fn a_duplicate_in_flight_id_is_refused_without_disturbing_the_first() {
    let mut h = Harness::initialized(Config::default());
    h.send(&tools_call(7, "never", json!({})));
    let first = h.calls.pop().unwrap();
    h.send(&tools_call(7, "echo", json!({"text": "dup"})));
    let dup = h.responses().remove(0);
    assert_eq!(error_code(&dup), -32600);
    assert_eq!(dup["id"], 7);
    assert!(h.calls.is_empty() && h.cancelled.is_empty());
    // The same id as a string is a different id.
    let other = h.call(0, "echo", json!({"text": "x"}));
    assert_eq!(other["id"], 0);
    h.send(r#"{"jsonrpc":"2.0","id":"7","method":"ping"}"#);
    assert_eq!(h.responses()[0]["id"], "7");
    // The first call still completes normally, after which the id is free again.
    h.complete(first.id, Ok(ToolOutput::text("first").into()))
        .unwrap();
    let done = h.responses().remove(0);
    assert_eq!(
        (done["id"].clone(), done["result"]["content"][0]["text"].clone()),
        (json!(7), json!("first"))
    );
    let again = h.call(7, "echo", json!({"text": "again"}));
    assert_eq!(again["result"]["content"][0]["text"], "again");
    drop(first.run(Outbox::discard()));
}

#[test]
fn a_cancelled_call_gets_no_response() {
    let mut h = Harness::initialized(Config::default());
    h.send(&tools_call(3, "never", json!({})));
    let call = h.calls.pop().unwrap();
    h.send(
        r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3,"reason":"user"}}"#,
    );
    assert_eq!(h.cancelled, vec![call.id]);
    assert!(h.responses().is_empty());
    assert_eq!(
        h.complete(call.id, Ok(ToolOutput::text("x").into())),
        Err(CallError::NotRunning(call.id))
    );
    assert!(h.responses().is_empty());
    assert!(
        h.logs
            .iter()
            .any(|r| r.status == Status::Cancelled && r.method.as_deref() == Some("never"))
    );
}

#[test]
fn every_request_yields_one_log_record() {
    let mut h = Harness::initialized(Config::default());
    h.logs.clear();
    h.send(&tools_call(1, "never", json!({})));
    let call = h.calls.pop().unwrap();
    assert!(h.logs.is_empty(), "no record before the call finishes");
    h.advance(Duration::from_millis(250));
    h.complete(call.id, Ok(ToolOutput::text("done").into())).unwrap();
    h.send(r#"{"jsonrpc":"2.0","id":2,"method":"nope"}"#);
    h.send("garbage");
    assert_eq!(h.logs.len(), 3, "{:?}", h.logs);

    let ok = &h.logs[0];
    assert_eq!(ok.method.as_deref(), Some("never"));
    assert_eq!(ok.status, Status::Ok);
    assert_eq!(ok.level, Level::Info);
    assert_eq!(ok.duration_ms, Some(250.0));
    assert_eq!(ok.timestamp, "2027-01-15T08:00:00.250Z");
    assert_eq!(ok.request_id.len(), 16);
    assert_eq!(ok.client.as_deref(), Some("test"));

    let unknown = &h.logs[1];
    assert_eq!(
        (unknown.status, unknown.code, unknown.level),
        (Status::Error, Some(-32601), Level::Warning)
    );
    let garbage = &h.logs[2];
    assert_eq!((garbage.code, garbage.method.as_deref()), (Some(-32700), None));
    assert_ne!(h.logs[1].request_id, h.logs[2].request_id);

    let line: serde_json::Value = serde_json::from_str(&ok.to_json_line()).unwrap();
    for key in [
        "timestamp",
        "level",
        "message",
        "request_id",
        "method",
        "duration_ms",
        "status",
    ] {
        assert!(line.get(key).is_some(), "{key} in {line}");
    }
    assert_eq!(line["level"], "INFO");
}
