//! Traces from the demo to a real OTLP/HTTP collector, on both runtimes: the Python receiver
//! `clients/py/otlp_receiver.py` (decoding with the `opentelemetry-proto` package, which nobody
//! here wrote) prints every span it gets, and each request must show up as one span of kind
//! SERVER named and attributed by the OpenTelemetry semantic conventions for MCP, in the
//! caller's trace when it sent a `traceparent` (in `params._meta` on 2026-07-28, as an HTTP
//! header in a 2025-era session), with status ERROR when it failed. Spans still queued when
//! the server ends (stdin closed on stdio, SIGTERM over HTTP) must be sent before it exits.
//!
//! The receiver needs `opentelemetry-proto` in `clients/.venv` (`bash scripts/test.sh`
//! installs it); a missing install fails this test, it is never a reason to skip it.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::cluster::{HttpConnection, HttpResponse};
use support::{
    DemoServer, RUNTIMES, SETUP_HINT, STARTUP_DEADLINE, client_python, free_port, raw_get,
    read_in_background, wait_or_kill, workspace_root,
};

/// How long spans may take to reach the receiver (the demo batches for 100 ms).
const SPAN_DEADLINE: Duration = Duration::from_secs(15);

/// How long to keep listening, once the expected spans are in, for spans that should not come.
const QUIET: Duration = Duration::from_millis(600);

const MODERN: &str = "2026-07-28";
const LEGACY: &str = "2025-11-25";

/// The caller of the 2026-07-28 request: a trace and a span, as `params._meta.traceparent`.
const MODERN_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const MODERN_PARENT: &str = "00f067aa0ba902b7";
const MODERN_STATE: &str = "rojo=00f067aa0ba902b7";

/// The caller of the 2025-era `tools/call`, as the HTTP `traceparent` header.
const LEGACY_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const LEGACY_PARENT: &str = "b7ad6b7169203331";

/// `SPAN_KIND_SERVER`, `STATUS_CODE_UNSET` and `STATUS_CODE_ERROR` in OTLP.
const KIND_SERVER: i64 = 2;
const STATUS_UNSET: i64 = 0;
const STATUS_ERROR: i64 = 2;

#[test]
fn every_request_is_one_span_in_its_callers_trace_on_every_runtime() {
    for runtime in RUNTIMES {
        check(runtime);
    }
}

fn check(runtime: &str) {
    let receiver = OtlpReceiver::start();
    let endpoint = format!("http://127.0.0.1:{}", receiver.port);
    let server = DemoServer::start(
        runtime,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    );
    let sent = send_requests(&server);
    let spans = receiver.spans(sent.expected, SPAN_DEADLINE);
    let context = || {
        let lines: Vec<String> = spans.iter().map(Value::to_string).collect();
        format!(
            "[{runtime}] spans received:\n{}\n{}\n{}",
            lines.join("\n"),
            receiver.stderr(),
            server.logs_tail(30)
        )
    };
    // Notifications are no requests; whether they get a span is not this test's business.
    let requests: Vec<&Value> = spans
        .iter()
        .filter(|span| !attr(span, "mcp.method.name").starts_with("notifications/"))
        .collect();
    assert_eq!(
        requests.len(),
        sent.expected,
        "one span per request\n{}",
        context()
    );
    let by_id = |id: &str| -> &Value {
        let found: Vec<&&Value> = requests
            .iter()
            .filter(|span| attr(span, "jsonrpc.request.id") == id)
            .collect();
        assert_eq!(found.len(), 1, "one span for request id {id}\n{}", context());
        found[0]
    };

    for span in &requests {
        assert_eq!(span["kind"], KIND_SERVER, "{span}\n{}", context());
        assert_eq!(span["resource"]["service.name"], "rampart-demo", "{span}");
        assert_eq!(span["resource"]["telemetry.sdk.name"], "rampart", "{span}");
        assert_eq!(span["scope"]["name"], "rampart", "{span}");
        assert_eq!(attr(span, "network.transport"), "tcp", "{span}");
        assert_eq!(attr(span, "network.protocol.name"), "http", "{span}");
        assert_eq!(attr(span, "client.address"), "127.0.0.1", "{span}");
        assert_eq!(span["span_id"].as_str().unwrap().len(), 16, "{span}");
        assert!(
            span["start_time_unix_nano"].as_u64() <= span["end_time_unix_nano"].as_u64(),
            "{span}"
        );
    }
    let mut span_ids: Vec<&str> = requests
        .iter()
        .map(|span| span["span_id"].as_str().unwrap())
        .collect();
    span_ids.sort_unstable();
    span_ids.dedup();
    assert_eq!(
        span_ids.len(),
        requests.len(),
        "span ids are unique\n{}",
        context()
    );

    let modern = by_id("11");
    assert_eq!(modern["name"], "tools/call echo", "{modern}");
    assert_eq!(attr(modern, "mcp.method.name"), "tools/call", "{modern}");
    assert_eq!(attr(modern, "gen_ai.tool.name"), "echo", "{modern}");
    assert_eq!(attr(modern, "gen_ai.operation.name"), "execute_tool", "{modern}");
    assert_eq!(attr(modern, "mcp.protocol.version"), MODERN, "{modern}");
    assert_eq!(
        modern["attributes"].get("mcp.session.id"),
        None,
        "stateless: {modern}"
    );
    assert_eq!(modern["trace_id"], MODERN_TRACE, "the caller's trace: {modern}");
    assert_eq!(
        modern["parent_span_id"], MODERN_PARENT,
        "the caller's span: {modern}"
    );
    assert_eq!(modern["trace_state"], MODERN_STATE, "{modern}");
    assert_eq!(modern["status"]["code"], STATUS_UNSET, "{modern}");
    assert_eq!(modern["attributes"].get("error.type"), None, "{modern}");

    let initialize = by_id("1");
    assert_eq!(initialize["name"], "initialize", "{initialize}");
    assert_eq!(attr(initialize, "mcp.method.name"), "initialize", "{initialize}");
    assert_eq!(initialize["parent_span_id"], "", "no caller: {initialize}");

    let list = by_id("2");
    assert_eq!(list["name"], "tools/list", "{list}");
    assert_eq!(attr(list, "mcp.method.name"), "tools/list", "{list}");
    assert_eq!(attr(list, "mcp.session.id"), sent.session, "{list}");
    assert_eq!(attr(list, "mcp.protocol.version"), LEGACY, "{list}");
    assert_eq!(list["parent_span_id"], "", "no caller: {list}");
    assert_ne!(list["trace_id"], LEGACY_TRACE, "a trace of its own: {list}");
    assert_ne!(
        list["trace_id"], initialize["trace_id"],
        "a trace of its own: {list}"
    );

    let call = by_id("3");
    assert_eq!(call["name"], "tools/call echo", "{call}");
    assert_eq!(attr(call, "gen_ai.tool.name"), "echo", "{call}");
    assert_eq!(attr(call, "gen_ai.operation.name"), "execute_tool", "{call}");
    assert_eq!(attr(call, "mcp.session.id"), sent.session, "{call}");
    assert_eq!(attr(call, "mcp.protocol.version"), LEGACY, "{call}");
    assert_eq!(call["trace_id"], LEGACY_TRACE, "the header's trace: {call}");
    assert_eq!(call["parent_span_id"], LEGACY_PARENT, "the header's span: {call}");
    assert_eq!(call["status"]["code"], STATUS_UNSET, "{call}");

    let failed = by_id("4");
    let code = sent.failed_code.to_string();
    assert_eq!(failed["name"], "tools/call no_such_tool", "{failed}");
    assert_eq!(attr(failed, "gen_ai.tool.name"), "no_such_tool", "{failed}");
    assert_eq!(attr(failed, "error.type"), code, "the JSON-RPC code: {failed}");
    let status_code = &failed["attributes"]["rpc.response.status_code"];
    assert!(
        *status_code == json!(code) || *status_code == json!(sent.failed_code),
        "rpc.response.status_code is {code}: {failed}"
    );
    assert_eq!(failed["status"]["code"], STATUS_ERROR, "{failed}");
    assert!(
        !failed["status"]["message"]
            .as_str()
            .unwrap_or_default()
            .is_empty(),
        "{failed}"
    );
}

/// Over stdio the spans leave when the process ends: with a schedule delay far longer than
/// the test, the spans of the whole session must still reach the receiver, sent by the flush
/// once stdin has closed.
#[test]
fn spans_of_a_stdio_session_are_flushed_when_it_ends() {
    let receiver = OtlpReceiver::start();
    let endpoint = format!("http://127.0.0.1:{}", receiver.port);
    let mut demo = Command::new(env!("CARGO_BIN_EXE_rampart-demo"))
        .args(["--transport", "stdio"])
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
        .env("OTEL_BSP_SCHEDULE_DELAY", "600000")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start rampart-demo --transport stdio");
    let stdout = read_in_background(demo.stdout.take().expect("piped stdout"));
    let stderr = read_in_background(demo.stderr.take().expect("piped stderr"));
    let traceparent = format!("00-{LEGACY_TRACE}-{LEGACY_PARENT}-01");
    let lines = [
        json!({
            "jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {
                "protocolVersion": LEGACY, "capabilities": {},
                "clientInfo": {"name": "traces-test", "version": "1.0.0"}
            }
        }),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({
            "jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {
                "name": "echo", "arguments": {"text": "traced"},
                "_meta": {"traceparent": traceparent}
            }
        }),
    ];
    let mut stdin = demo.stdin.take().expect("piped stdin");
    for line in &lines {
        writeln!(stdin, "{line}").expect("write to the demo");
    }
    // The demo answers both requests, then ends with its input and flushes its spans.
    drop(stdin);
    let status = wait_or_kill(&mut demo, Instant::now() + SPAN_DEADLINE);
    let spans = receiver.spans(2, SPAN_DEADLINE);
    let stdout = String::from_utf8_lossy(&stdout.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&stderr.join().unwrap_or_default()).into_owned();
    let context = || {
        let lines: Vec<String> = spans.iter().map(Value::to_string).collect();
        format!(
            "spans received:\n{}\n--- demo stdout ---\n{stdout}--- demo stderr ---\n{stderr}{}",
            lines.join("\n"),
            receiver.stderr()
        )
    };
    assert!(
        status.is_some_and(|status| status.success()),
        "the demo exits 0 when stdin closes ({status:?})\n{}",
        context()
    );
    let requests: Vec<&Value> = spans
        .iter()
        .filter(|span| !attr(span, "mcp.method.name").starts_with("notifications/"))
        .collect();
    assert_eq!(requests.len(), 2, "one span per request\n{}", context());
    let call = requests
        .iter()
        .find(|span| attr(span, "jsonrpc.request.id") == "2")
        .unwrap_or_else(|| panic!("the tools/call span\n{}", context()));
    assert_eq!(call["name"], "tools/call echo", "{call}");
    assert_eq!(call["kind"], KIND_SERVER, "{call}");
    assert_eq!(attr(call, "network.transport"), "pipe", "{call}");
    assert_eq!(call["attributes"].get("network.protocol.name"), None, "{call}");
    assert_eq!(call["trace_id"], LEGACY_TRACE, "the caller's trace: {call}");
    assert_eq!(call["parent_span_id"], LEGACY_PARENT, "the caller's span: {call}");
}

/// At SIGTERM the HTTP server drains, then sends the spans still queued: with a schedule
/// delay far longer than the test, the span must arrive by the flush, on every runtime.
#[test]
fn spans_still_queued_at_sigterm_are_flushed_on_every_runtime() {
    for runtime in RUNTIMES {
        let receiver = OtlpReceiver::start();
        let endpoint = format!("http://127.0.0.1:{}", receiver.port);
        let port = free_port();
        let mut demo = Command::new(env!("CARGO_BIN_EXE_rampart-demo"))
            .args(["--transport", "http", "--runtime", runtime])
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
            .env("OTEL_BSP_SCHEDULE_DELAY", "600000")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start rampart-demo");
        let stderr = read_in_background(demo.stderr.take().expect("piped stderr"));
        let started = Instant::now();
        while !raw_get(port, "/health").is_ok_and(|response| response.status == 200) {
            assert!(
                started.elapsed() < STARTUP_DEADLINE,
                "[{runtime}] the demo never got healthy"
            );
            thread::sleep(Duration::from_millis(50));
        }
        let mut http = HttpConnection::open(port).expect("connect to the demo");
        let body = json!({
            "jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {
                "protocolVersion": LEGACY, "capabilities": {},
                "clientInfo": {"name": "traces-test", "version": "1.0.0"}
            }
        });
        let headers = [
            ("Content-Type", "application/json"),
            ("Accept", "application/json, text/event-stream"),
        ];
        let answer = http
            .request("POST", "/mcp", &headers, &body.to_string())
            .expect("initialize");
        assert_eq!(answer.status, 200, "{}", answer.dump());
        drop(http);
        assert!(
            receiver.spans(1, Duration::from_millis(300)).is_empty(),
            "[{runtime}] the span waits for its batch"
        );
        let _ = Command::new("kill")
            .args(["-TERM", &demo.id().to_string()])
            .status();
        let status = wait_or_kill(&mut demo, Instant::now() + SPAN_DEADLINE);
        let spans = receiver.spans(1, SPAN_DEADLINE);
        let stderr = String::from_utf8_lossy(&stderr.join().unwrap_or_default()).into_owned();
        assert!(
            status.is_some_and(|status| status.success()),
            "[{runtime}] the demo exits 0 at SIGTERM ({status:?})\n{stderr}"
        );
        assert_eq!(
            spans.len(),
            1,
            "[{runtime}] {spans:?}\n{stderr}\n{}",
            receiver.stderr()
        );
        assert_eq!(spans[0]["name"], "initialize", "{}", spans[0]);
    }
}

/// What [`send_requests`] sent, for the checks.
struct Sent {
    /// Requests sent, each of which must make a span.
    expected: usize,
    session: String,
    /// The JSON-RPC error code the unknown tool got.
    failed_code: i64,
}

/// Sends, in order: a 2026-07-28 `tools/call` (id 11) with a `traceparent` in `_meta`; a
/// 2025-11-25 session's `initialize` (1), `notifications/initialized`, `tools/list` (2), a
/// `tools/call` (3) with an HTTP `traceparent`, and a `tools/call` of a tool that does not
/// exist (4).
fn send_requests(server: &DemoServer) -> Sent {
    let mut http = HttpConnection::open(server.port).expect("connect to the demo");
    let mut post = |headers: &[(&str, &str)], body: Value| -> HttpResponse {
        let mut all = vec![
            ("Content-Type", "application/json"),
            ("Accept", "application/json, text/event-stream"),
        ];
        all.extend_from_slice(headers);
        http.request("POST", "/mcp", &all, &body.to_string())
            .unwrap_or_else(|err| panic!("POST {body}: {err}\n{}", server.logs_tail(20)))
    };

    let traceparent = format!("00-{MODERN_TRACE}-{MODERN_PARENT}-01");
    let modern = post(
        &[
            ("MCP-Protocol-Version", MODERN),
            ("Mcp-Method", "tools/call"),
            ("Mcp-Name", "echo"),
        ],
        json!({
            "jsonrpc": "2.0", "id": 11, "method": "tools/call",
            "params": {
                "name": "echo", "arguments": {"text": "traced"},
                "_meta": {
                    "io.modelcontextprotocol/protocolVersion": MODERN,
                    "io.modelcontextprotocol/clientCapabilities": {},
                    "traceparent": traceparent,
                    "tracestate": MODERN_STATE,
                }
            }
        }),
    );
    assert_eq!(modern.status, 200, "{}", modern.dump());
    assert!(modern.message()["result"].is_object(), "{}", modern.dump());

    let initialize = post(
        &[],
        json!({
            "jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {
                "protocolVersion": LEGACY, "capabilities": {},
                "clientInfo": {"name": "traces-test", "version": "1.0.0"}
            }
        }),
    );
    assert_eq!(initialize.status, 200, "{}", initialize.dump());
    let session = initialize
        .header("mcp-session-id")
        .unwrap_or_else(|| panic!("a session id\n{}", initialize.dump()))
        .to_owned();
    let in_session = [
        ("Mcp-Session-Id", session.as_str()),
        ("MCP-Protocol-Version", LEGACY),
    ];
    let initialized = post(
        &in_session,
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    );
    assert_eq!(initialized.status, 202, "{}", initialized.dump());

    let list = post(
        &in_session,
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
    );
    assert!(list.message()["result"]["tools"].is_array(), "{}", list.dump());

    let traceparent = format!("00-{LEGACY_TRACE}-{LEGACY_PARENT}-01");
    let mut traced = in_session.to_vec();
    traced.push(("traceparent", &traceparent));
    let call = post(
        &traced,
        json!({
            "jsonrpc": "2.0", "id": 3, "method": "tools/call",
            "params": {"name": "echo", "arguments": {"text": "traced"}}
        }),
    );
    assert!(call.message()["result"].is_object(), "{}", call.dump());

    let failed = post(
        &in_session,
        json!({
            "jsonrpc": "2.0", "id": 4, "method": "tools/call",
            "params": {"name": "no_such_tool", "arguments": {}}
        }),
    );
    let failed_code = failed.message()["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("an unknown tool is a JSON-RPC error\n{}", failed.dump()));
    Sent {
        expected: 5,
        session,
        failed_code,
    }
}

/// The string value of attribute `key` of a span line, or "" when it is absent.
fn attr<'a>(span: &'a Value, key: &str) -> &'a str {
    span["attributes"][key].as_str().unwrap_or_default()
}

/// `clients/py/otlp_receiver.py`, killed on drop: the spans it prints, line by line.
struct OtlpReceiver {
    child: Child,
    /// Held open: the receiver ends when its stdin closes.
    _stdin: ChildStdin,
    port: u16,
    lines: Receiver<Value>,
    stderr: Arc<Mutex<Vec<u8>>>,
}

impl OtlpReceiver {
    fn start() -> Self {
        let root = workspace_root();
        let python = client_python(&root);
        let mut child = Command::new(python)
            .arg(root.join("clients/py/otlp_receiver.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start clients/py/otlp_receiver.py");
        let stdin = child.stdin.take().expect("piped stdin");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let mut pipe = child.stderr.take().expect("piped stderr");
        let sink = Arc::clone(&stderr);
        thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n @ 1..) = pipe.read(&mut buf) {
                sink.lock().expect("stderr buffer").extend_from_slice(&buf[..n]);
            }
        });
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut first = String::new();
        let _ = stdout.read_line(&mut first);
        let Ok(port) = first.trim().parse() else {
            let _ = child.kill();
            let _ = child.wait();
            thread::sleep(Duration::from_millis(100));
            let stderr = String::from_utf8_lossy(&stderr.lock().expect("stderr buffer")).into_owned();
            panic!(
                "FAIL: the OTLP receiver printed no port (first line {first:?}); is \
                 `opentelemetry-proto` installed in clients/.venv? {SETUP_HINT}\n{stderr}"
            );
        };
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in stdout.lines() {
                let Ok(line) = line else { return };
                let span = serde_json::from_str(&line)
                    .unwrap_or_else(|err| json!({"unparsed": line, "error": err.to_string()}));
                if tx.send(span).is_err() {
                    return;
                }
            }
        });
        Self {
            child,
            _stdin: stdin,
            port,
            lines,
            stderr,
        }
    }

    /// The spans received once at least `count` are in and no more came for [`QUIET`], or
    /// at `deadline`.
    fn spans(&self, count: usize, deadline: Duration) -> Vec<Value> {
        let until = Instant::now() + deadline;
        let mut spans = Vec::new();
        loop {
            let wait = if spans.len() >= count {
                QUIET
            } else {
                until.saturating_duration_since(Instant::now())
            };
            match self.lines.recv_timeout(wait) {
                Ok(span) => spans.push(span),
                Err(_) => return spans,
            }
        }
    }

    /// What the receiver wrote to stderr so far, framed for a failure message.
    fn stderr(&self) -> String {
        let text = String::from_utf8_lossy(&self.stderr.lock().expect("stderr buffer")).into_owned();
        format!("--- otlp receiver stderr ---\n{text}--- end receiver stderr ---")
    }
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
