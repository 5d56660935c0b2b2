//! The hand-written JSON line of a log record is byte for byte what serde writes.

use std::borrow::Cow;

use super::{Level, LogRecord, Status};

fn record(text: &str) -> LogRecord {
    LogRecord {
        timestamp: crate::time::Timestamp::new(
            std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_795_913_323_456),
        ),
        level: Level::Warning,
        message: Cow::Owned(format!("E_ARGS: {text}")),
        request_id: "0123456789abcdef".into(),
        method: Some(text.into()),
        duration_ms: Some(1.25),
        status: Status::Error,
        code: Some(-32000),
        client: Some("127.0.0.1".into()),
        principal: Some(text.to_owned()),
        session: Some("s".into()),
        http_status: Some(400),
        http: Some("POST /mcp".into()),
        traceparent: Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into()),
        tracestate: Some(text.to_owned()),
    }
}

#[test]
fn the_line_is_what_serde_writes() {
    for text in [
        "plain",
        "quote \" and \\ back",
        "tab\tnew\nline\u{1}",
        "ünïcödé ✓",
        "del\u{7f}",
        "",
    ] {
        let record = record(text);
        let mut line = Vec::new();
        record.write_json_line(&mut line);
        let mut expected = serde_json::to_vec(&record).unwrap();
        expected.push(b'\n');
        assert_eq!(
            String::from_utf8(line).unwrap(),
            String::from_utf8(expected).unwrap(),
            "{text:?}"
        );
    }
    let sparse = LogRecord {
        method: None,
        duration_ms: Some(f64::NAN),
        code: None,
        client: None,
        principal: None,
        session: None,
        http_status: None,
        http: None,
        traceparent: None,
        tracestate: None,
        status: Status::Ok,
        level: Level::Info,
        ..record("x")
    };
    assert_eq!(sparse.to_json_line(), serde_json::to_string(&sparse).unwrap());
}
