//! A harness that drives one server connection on a virtual clock: no sockets, no sleeping.

#![allow(dead_code)]

pub mod http;
pub mod jwt;
pub mod store;
pub mod world;

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant, SystemTime};

use rampart_core::{
    Call, CallId, Config, ConnectionId, Event, Framing, HandlerError, LogRecord, Now, Outbox, Outcome,
    Server, Tool, ToolOutput, ToolRegistry,
};
use serde_json::{Value, json};

/// One server, one NDJSON connection, a virtual clock, and everything that came out.
pub struct Harness {
    pub server: Server,
    pub conn: ConnectionId,
    pub now: Now,
    /// Raw output bytes, in order.
    pub wire: Vec<u8>,
    /// Calls the server asked to run and the harness has not run yet.
    pub calls: Vec<Call>,
    pub cancelled: Vec<CallId>,
    pub logs: Vec<LogRecord>,
    pub closed: bool,
    read: usize,
}

impl Harness {
    pub fn new(config: Config, tools: ToolRegistry) -> Self {
        let now = Now::new(
            Instant::now(),
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        );
        let mut server = Server::new(config, tools, [42; 32], now);
        let conn = server.accept("test", Framing::Ndjson, now);
        Self {
            server,
            conn,
            now,
            wire: Vec::new(),
            calls: Vec::new(),
            cancelled: Vec::new(),
            logs: Vec::new(),
            closed: false,
            read: 0,
        }
    }

    /// A harness with the test tools, already initialized at `version`.
    pub fn initialized(config: Config) -> Self {
        let mut h = Self::new(config, test_tools());
        h.send(&initialize(1, "2025-11-25"));
        h.responses();
        h
    }

    pub fn input(&mut self, bytes: &[u8]) {
        self.server
            .handle_input(self.conn, bytes, self.now)
            .expect("input accepted");
        self.drain();
    }

    /// Sends one line (a newline is added).
    pub fn send(&mut self, line: &str) {
        let mut bytes = line.as_bytes().to_vec();
        bytes.push(b'\n');
        self.input(&bytes);
    }

    pub fn eof(&mut self) {
        self.server.handle_eof(self.conn, self.now).expect("eof accepted");
        self.drain();
    }

    pub fn advance(&mut self, by: Duration) {
        self.now = self.now.advanced(by);
        self.server.handle_timeout(self.now);
        self.drain();
    }

    pub fn complete(&mut self, call: CallId, outcome: Outcome) -> Result<(), rampart_core::CallError> {
        let result = self.server.complete(call, outcome, self.now);
        self.drain();
        result
    }

    /// Runs every pending call that completes without waiting, and reports it.
    pub fn run_calls(&mut self) {
        for call in std::mem::take(&mut self.calls) {
            let id = call.id;
            let outcome = poll_once(call.run(Outbox::discard())).expect("test tools complete at once");
            self.complete(id, outcome).expect("call still running");
        }
    }

    pub fn drain(&mut self) {
        while let Some(t) = self.server.poll_transmit() {
            assert_eq!(t.connection, self.conn);
            self.wire.extend_from_slice(&t.data);
        }
        while let Some(event) = self.server.poll_event() {
            match event {
                Event::Call(call) => self.calls.push(call),
                Event::Cancel(call) => self.cancelled.push(call),
                Event::Log(record) => self.logs.push(record),
                Event::Closed(conn) => {
                    assert_eq!(conn, self.conn);
                    self.closed = true;
                }
                Event::Resume(_) => {}
                other => panic!("unexpected event {other:?}"),
            }
        }
    }

    /// Returns the messages written since the last call, each parsed from its own line.
    pub fn responses(&mut self) -> Vec<Value> {
        let fresh = &self.wire[self.read..];
        self.read = self.wire.len();
        let text = std::str::from_utf8(fresh).expect("output is UTF-8");
        assert!(
            text.is_empty() || text.ends_with('\n'),
            "output ends with a newline"
        );
        text.lines()
            .map(|line| serde_json::from_str(line).expect("each line is JSON"))
            .collect()
    }

    /// Sends a request and returns its single response.
    pub fn request(&mut self, line: &str) -> Value {
        self.send(line);
        let mut responses = self.responses();
        assert_eq!(responses.len(), 1, "one response to {line}: {responses:?}");
        responses.remove(0)
    }

    /// Sends a `tools/call` and returns its response after running the tool.
    pub fn call(&mut self, id: i64, name: &str, arguments: Value) -> Value {
        self.send(&tools_call(id, name, arguments));
        self.run_calls();
        let mut responses = self.responses();
        assert_eq!(responses.len(), 1, "one response: {responses:?}");
        responses.remove(0)
    }
}

pub fn poll_once<F: Future>(future: F) -> Option<F::Output> {
    let mut future = pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}

pub fn initialize(id: i64, version: &str) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": "initialize", "params": {
        "protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}
    }})
    .to_string()
}

pub fn tools_call(id: i64, name: &str, arguments: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": name, "arguments": arguments}})
        .to_string()
}

pub fn error_code(response: &Value) -> i64 {
    response["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("not an error: {response}"))
}

/// A future that never completes, for timeout tests.
struct Never;

impl Future for Never {
    type Output = Result<ToolOutput, HandlerError>;
    fn poll(self: std::pin::Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Self::Output> {
        Poll::Pending
    }
}

/// The tools the core tests use.
pub fn test_tools() -> ToolRegistry {
    ToolRegistry::new()
        .with(
            Tool::new(
                "user.create@v1",
                json!({
                    "type": "object",
                    "properties": {"email": {"type": "string", "format": "email"}, "name": {"type": "string"}},
                    "required": ["email", "name"]
                }),
                |args, _| async move { Ok(ToolOutput::structured(args)) },
            )
            .title("Create user"),
        )
        .unwrap()
        .with(Tool::new("user.get@v1", json!({"type": "object"}), |_, _| async { Ok(ToolOutput::text("user")) }))
        .unwrap()
        .with(
            Tool::new(
                "echo",
                json!({"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}),
                |args, _| async move {
                    let text = args["text"].as_str().unwrap_or_default();
                    Ok(ToolOutput::text(text).with_structured(json!({ "text": text })))
                },
            )
            .output_schema(json!({"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}))
            .annotations(json!({"readOnlyHint": true})),
        )
        .unwrap()
        .with(Tool::new("fail", json!({"type": "object"}), |_, _| async { Err(HandlerError::failed("secret detail")) }))
        .unwrap()
        .with(Tool::new("soft_fail", json!({"type": "object"}), |_, _| async { Ok(ToolOutput::error("bad input, try again")) }))
        .unwrap()
        .with(Tool::new("panic", json!({"type": "object"}), |_, _| async {
            if true {
                panic!("boom");
            }
            Ok(ToolOutput::text(""))
        }))
        .unwrap()
        .with(Tool::new("never", json!({"type": "object"}), |_, _| Never))
        .unwrap()
        .with(Tool::new("slow", json!({"type": "object"}), |_, _| Never).timeout(Duration::from_secs(2)))
        .unwrap()
}
