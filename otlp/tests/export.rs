//! The exporter against a real OTLP/HTTP receiver on 127.0.0.1: what arrives, how it is
//! batched, and that neither a full queue nor a dead or silent collector holds anyone up.

mod receiver;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use rampart_core::trace::{AttributeValue, SpanExporter, SpanRecord, TraceConfig};
use rampart_otlp::Exporter;
use receiver::{Answer, OtlpReceiver, attribute, text};

const WAIT: Duration = Duration::from_secs(10);

fn config(endpoint: &str) -> TraceConfig {
    let mut config = TraceConfig::default();
    config.endpoint = Some(endpoint.to_owned());
    config.schedule_delay = Duration::from_millis(20);
    config.export_timeout = Duration::from_secs(5);
    config
}

fn start(config: &TraceConfig) -> Arc<Exporter> {
    Exporter::start(config, "demo-server", "1.2.3").expect("tracing is on")
}

fn span(n: u8) -> SpanRecord {
    let start = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    SpanRecord {
        trace_id: [n; 16],
        span_id: [n; 8],
        parent_span_id: None,
        trace_state: None,
        flags: 1,
        name: format!("tools/call tool-{n}"),
        start,
        end: start + Duration::from_millis(3),
        attributes: vec![("mcp.method.name", AttributeValue::Str("tools/call".into()))],
        error: None,
    }
}

/// Waits until `done` holds, for `WAIT` at most.
fn eventually(mut done: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + WAIT;
    while Instant::now() < until {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    done()
}

#[test]
fn tracing_is_off_without_an_endpoint_or_when_disabled() {
    assert!(Exporter::start(&TraceConfig::default(), "demo", "1").is_none());
    let mut disabled = config("http://127.0.0.1:9");
    disabled.disabled = true;
    assert!(Exporter::start(&disabled, "demo", "1").is_none());
}

#[test]
fn spans_arrive_with_ids_parent_attributes_and_status_intact() {
    let receiver = OtlpReceiver::start(Answer::Statuses(Vec::new()));
    let mut config = config(&receiver.endpoint());
    config.headers = vec![("x-api-key".into(), "secret".into())];
    config.resource_attributes = vec![("deployment.environment".into(), "test".into())];
    let exporter = start(&config);
    let mut failed = span(7);
    failed.parent_span_id = Some([0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x31]);
    failed.trace_state = Some("vendor=abc".into());
    failed.attributes.extend([
        ("gen_ai.tool.name", AttributeValue::Str("user.create@v1".into())),
        ("jsonrpc.request.id", AttributeValue::Str("1".into())),
        ("rpc.response.status_code", AttributeValue::Int(-32001)),
        ("mcp.capture", AttributeValue::Bool(false)),
    ]);
    failed.error = Some("Tool not found".into());
    exporter.export(failed.clone());
    exporter.export(span(8));

    let mut spans = Vec::new();
    let mut first = None;
    while spans.len() < 2 {
        let post = receiver.next(WAIT).expect("an export");
        spans.extend(post.spans());
        first.get_or_insert(post);
    }
    let post = first.unwrap();
    assert_eq!(post.path, "/v1/traces");
    assert_eq!(post.header("content-type"), Some("application/x-protobuf"));
    assert_eq!(post.header("x-api-key"), Some("secret"));
    let resource_spans = &post.request.resource_spans[0];
    let resource = &resource_spans.resource.as_ref().unwrap().attributes;
    assert_eq!(text(resource, "service.name"), Some("demo-server"));
    assert_eq!(text(resource, "service.version"), Some("1.2.3"));
    assert_eq!(text(resource, "telemetry.sdk.name"), Some("rampart"));
    assert_eq!(text(resource, "deployment.environment"), Some("test"));
    assert_eq!(
        resource_spans.scope_spans[0].scope.as_ref().unwrap().name,
        "rampart"
    );

    let got = &spans[0];
    assert_eq!(got.trace_id, failed.trace_id);
    assert_eq!(got.span_id, failed.span_id);
    assert_eq!(got.parent_span_id, failed.parent_span_id.unwrap());
    assert_eq!(got.trace_state, "vendor=abc");
    assert_eq!(got.flags & 0xff, 1, "the W3C flags");
    assert_eq!(got.flags & 0x300, 0x300, "a remote parent");
    assert_eq!(got.name, "tools/call tool-7");
    assert_eq!(got.kind, SpanKind::Server as i32);
    let nanos = |time: SystemTime| time.duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64;
    assert_eq!(got.start_time_unix_nano, nanos(failed.start));
    assert_eq!(got.end_time_unix_nano, nanos(failed.end));
    assert_eq!(text(&got.attributes, "gen_ai.tool.name"), Some("user.create@v1"));
    assert_eq!(
        attribute(&got.attributes, "rpc.response.status_code"),
        Some(&Value::IntValue(-32001))
    );
    assert_eq!(
        attribute(&got.attributes, "mcp.capture"),
        Some(&Value::BoolValue(false))
    );
    assert_eq!(
        got.attributes[0].key, "mcp.method.name",
        "attributes keep their order"
    );
    let status = got.status.as_ref().unwrap();
    assert_eq!(
        (status.code, status.message.as_str()),
        (StatusCode::Error as i32, "Tool not found")
    );

    let plain = &spans[1];
    assert!(plain.parent_span_id.is_empty());
    assert_eq!(plain.flags & 0x300, 0x100, "no remote parent");
    assert_eq!(plain.status, None, "status unset");

    exporter.flush(WAIT);
    assert_eq!(
        (exporter.exported(), exporter.dropped(), exporter.failed_exports()),
        (2, 0, 0)
    );
}

#[test]
fn batches_hold_at_most_max_batch_spans_and_flush_sends_the_rest() {
    let receiver = OtlpReceiver::start(Answer::Statuses(Vec::new()));
    let mut config = config(&receiver.endpoint());
    config.max_batch = 3;
    config.schedule_delay = Duration::from_secs(60);
    let exporter = start(&config);
    for n in 0..7 {
        exporter.export(span(n));
    }
    // Full batches go at once, long before the schedule delay.
    let sizes: Vec<usize> = (0..2)
        .map(|_| receiver.next(WAIT).expect("a full batch").spans().len())
        .collect();
    assert_eq!(sizes, [3, 3]);
    assert!(
        receiver.next(Duration::from_millis(200)).is_none(),
        "the seventh span waits"
    );
    exporter.flush(WAIT);
    let last = receiver.next(WAIT).expect("the flush's batch").spans();
    assert_eq!(last.len(), 1);
    assert_eq!(last[0].span_id, [6; 8]);
    assert_eq!(exporter.exported(), 7);
}

#[test]
fn a_full_queue_drops_and_counts_without_blocking() {
    let receiver = OtlpReceiver::start(Answer::Statuses(Vec::new()));
    let mut config = config(&receiver.endpoint());
    config.max_queue = 4;
    config.schedule_delay = Duration::from_secs(60);
    let exporter = start(&config);
    let began = Instant::now();
    for n in 0..10 {
        exporter.export(span(n));
    }
    assert!(
        began.elapsed() < Duration::from_millis(500),
        "{:?}",
        began.elapsed()
    );
    assert_eq!(exporter.dropped(), 6);
    exporter.flush(WAIT);
    let spans = receiver.next(WAIT).expect("the queued spans").spans();
    let ids: Vec<u8> = spans.iter().map(|span| span.span_id[0]).collect();
    assert_eq!(ids, [0, 1, 2, 3], "the first spans are kept");
    assert_eq!(exporter.exported(), 4);
    exporter.export(span(11));
    assert_eq!(exporter.dropped(), 7, "a span after the flush is dropped");
}

#[test]
fn an_overloaded_collector_gets_one_retry() {
    let receiver = OtlpReceiver::start(Answer::Statuses(vec![503]));
    let exporter = start(&config(&receiver.endpoint()));
    exporter.export(span(1));
    let first = receiver.next(WAIT).expect("the first attempt");
    let began = Instant::now();
    let retry = receiver.next(WAIT).expect("the retry");
    assert!(
        began.elapsed() >= Duration::from_millis(300),
        "a backoff: {:?}",
        began.elapsed()
    );
    assert_eq!(first.spans(), retry.spans());
    exporter.flush(WAIT);
    assert_eq!((exporter.exported(), exporter.failed_exports()), (1, 0));
}

#[test]
fn a_refused_batch_is_not_retried_and_counts_as_failed() {
    let receiver = OtlpReceiver::start(Answer::Statuses(vec![400, 503, 503]));
    let exporter = start(&config(&receiver.endpoint()));
    exporter.export(span(1));
    receiver.next(WAIT).expect("the export");
    assert!(eventually(|| exporter.failed_exports() == 1));
    assert!(
        receiver.next(Duration::from_millis(700)).is_none(),
        "no retry after a 400"
    );
    // Two 503s in a row: the retry fails too, and no third attempt is made.
    exporter.export(span(2));
    receiver.next(WAIT).expect("the export");
    receiver.next(WAIT).expect("its retry");
    assert!(eventually(|| exporter.failed_exports() == 2));
    assert!(
        receiver.next(Duration::from_millis(700)).is_none(),
        "one retry only"
    );
    exporter.flush(WAIT);
    assert_eq!(exporter.exported(), 0);
}

#[test]
fn an_unreachable_collector_counts_failures_and_flush_keeps_its_deadline() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config = config(&format!("http://127.0.0.1:{port}"));
    config.export_timeout = Duration::from_secs(2);
    let exporter = start(&config);
    exporter.export(span(1));
    assert!(eventually(|| exporter.failed_exports() >= 1));
    for n in 0..100 {
        exporter.export(span(n));
    }
    let began = Instant::now();
    exporter.flush(Duration::from_millis(500));
    assert!(
        began.elapsed() < Duration::from_millis(1500),
        "{:?}",
        began.elapsed()
    );
    assert_eq!(exporter.exported(), 0);
}

#[test]
fn a_silent_collector_blocks_neither_export_nor_flush() {
    let receiver = OtlpReceiver::start(Answer::Never);
    let mut config = config(&receiver.endpoint());
    config.export_timeout = Duration::from_secs(30);
    config.max_queue = 100;
    let exporter = start(&config);
    exporter.export(span(0));
    receiver.next(WAIT).expect("the export, which is never answered");
    // The thread now waits for an answer; the server's side goes on.
    let began = Instant::now();
    for n in 0..1000 {
        exporter.export(span(n as u8));
    }
    assert!(
        began.elapsed() < Duration::from_millis(500),
        "{:?}",
        began.elapsed()
    );
    assert_eq!(exporter.dropped(), 900);
    let began = Instant::now();
    exporter.flush(Duration::from_millis(300));
    let took = began.elapsed();
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_millis(1300),
        "{took:?}"
    );
    assert_eq!(exporter.exported(), 0);
}
