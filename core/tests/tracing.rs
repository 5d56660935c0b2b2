//! With the `tracing` feature: log records reach a `tracing` subscriber as events with the
//! JSON line's fields, and a handler's own events carry its request's id through the
//! `mcp.handler` span it runs in.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use rampart_core::{Config, Now, Server, SharedServer, Tool, ToolOutput, ToolRegistry};
use serde_json::json;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// One event as the subscriber saw it: its fields, and the fields of its spans.
#[derive(Debug, Clone, Default)]
struct Seen {
    target: String,
    fields: BTreeMap<String, String>,
    spans: Vec<(String, BTreeMap<String, String>)>,
}

#[derive(Default)]
struct Fields(BTreeMap<String, String>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

/// Keeps every event with its spans' fields.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<Seen>>>);

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(fields.0);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let spans = ctx
            .event_scope(event)
            .map(|scope| {
                scope
                    .map(|span| {
                        let fields = span.extensions().get::<BTreeMap<String, String>>().cloned();
                        (span.name().to_owned(), fields.unwrap_or_default())
                    })
                    .collect()
            })
            .unwrap_or_default();
        self.0.lock().unwrap().push(Seen {
            target: event.metadata().target().to_owned(),
            fields: fields.0,
            spans,
        });
    }
}

fn shared(output: &str) -> Arc<SharedServer> {
    let tools = ToolRegistry::new()
        .with(Tool::new("hello", json!({"type": "object"}), |_, _| async {
            tracing::info!(greeting = "hi", "inside the handler");
            Ok(ToolOutput::text("hello"))
        }))
        .unwrap();
    let config = Config::default().apply_env([("LOG_OUTPUT", output)]).unwrap();
    let now = || Now::new(Instant::now(), SystemTime::now());
    SharedServer::new(Server::new(config, tools, [1; 32], now()), now, |_| {
        panic!("the handler finishes when first polled")
    })
}

fn call(shared: &Arc<SharedServer>) -> Vec<u8> {
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"hello","arguments":{}}}"#;
    let request = format!(
        "POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nX-Request-Id: req-42\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let connection = shared.accept("127.0.0.1");
    let mut out = Vec::new();
    let _ = shared.input(connection, request.as_bytes(), &mut out);
    out
}

#[test]
fn records_and_handler_events_reach_the_subscriber_with_the_request_id() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    let shared = shared("tracing");
    let out = tracing::subscriber::with_default(subscriber, || call(&shared));
    assert!(
        String::from_utf8_lossy(&out).contains("hello"),
        "{}",
        String::from_utf8_lossy(&out)
    );
    let seen = capture.0.lock().unwrap().clone();
    let inside = seen
        .iter()
        .find(|event| {
            event
                .fields
                .get("message")
                .is_some_and(|m| m == "inside the handler")
        })
        .expect("the handler's event");
    let (name, fields) = &inside.spans[0];
    assert_eq!(name, "mcp.handler");
    assert_eq!(fields["request_id"], "req-42");
    assert_eq!(fields["method"], "tools/call");
    assert_eq!(fields["name"], "hello");
    let record = seen
        .iter()
        .find(|event| event.target == "rampart")
        .expect("the request's record");
    assert_eq!(record.fields["request_id"], "req-42");
    assert_eq!(record.fields["method"], "hello");
    assert_eq!(record.fields["status"], "ok");
    assert_eq!(record.fields["http_status"], "200");
    assert!(record.fields.contains_key("duration_ms"));
    // `tracing` alone: no JSON line is kept for the log writer.
    assert!(shared.take_logs().is_empty());
}

#[test]
fn both_keeps_the_json_lines_too() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    let shared = shared("both");
    tracing::subscriber::with_default(subscriber, || call(&shared));
    let lines = String::from_utf8(shared.take_logs()).unwrap();
    assert!(lines.contains("\"request_id\":\"req-42\""));
    assert!(
        capture
            .0
            .lock()
            .unwrap()
            .iter()
            .any(|event| event.target == "rampart")
    );
}
