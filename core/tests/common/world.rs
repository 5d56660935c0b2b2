//! A harness for whole MCP conversations on a virtual clock: one server, any number of
//! NDJSON and HTTP connections, handlers run as real futures (polled until they wait on
//! something), and their messages fed back to the server as an adapter would.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant, SystemTime};

use rampart_core::store::StoreRequest;
use rampart_core::{
    CallFuture, CallId, Completion, Config, ConnectionId, Content, Elicitation, Event, Framing, LogRecord,
    Message, Notice, Now, Outbox, Prompt, PromptArgument, PromptResult, ReadRequest, Registry, Resource,
    ResourceContents, ResourceTemplate, Server, Tool, ToolOutput,
};
use serde_json::{Value, json};

use super::http::{Response, parse_responses};

type Queue = Arc<Mutex<Vec<(CallId, Message)>>>;

/// One server and the connections of its clients.
pub struct World {
    pub server: Server,
    pub now: Now,
    wires: BTreeMap<ConnectionId, Vec<u8>>,
    read: BTreeMap<ConnectionId, usize>,
    pub closed: Vec<ConnectionId>,
    pub cancelled: Vec<CallId>,
    pub logs: Vec<LogRecord>,
    running: Vec<(CallId, Pin<Box<CallFuture>>)>,
    outbox: Queue,
    /// Requests to the shared store, not answered yet.
    pub stores: Vec<StoreRequest>,
}

impl World {
    pub fn new(config: Config, registry: Registry) -> Self {
        Self::seeded(config, registry, [5; 32])
    }

    /// A world whose server has its own seed (replicas need different ones).
    pub fn seeded(config: Config, registry: Registry, seed: [u8; 32]) -> Self {
        let now = Now::new(
            Instant::now(),
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        );
        Self {
            server: Server::new(config, registry, seed, now),
            now,
            wires: BTreeMap::new(),
            read: BTreeMap::new(),
            closed: Vec::new(),
            cancelled: Vec::new(),
            logs: Vec::new(),
            running: Vec::new(),
            outbox: Arc::new(Mutex::new(Vec::new())),
            stores: Vec::new(),
        }
    }

    pub fn connect(&mut self, framing: Framing) -> ConnectionId {
        let conn = self.server.accept("127.0.0.1", framing, self.now);
        self.wires.insert(conn, Vec::new());
        conn
    }

    pub fn send(&mut self, conn: ConnectionId, bytes: &[u8]) {
        self.server
            .handle_input(conn, bytes, self.now)
            .expect("input accepted");
        self.pump();
    }

    pub fn eof(&mut self, conn: ConnectionId) {
        self.server.handle_eof(conn, self.now).expect("eof accepted");
        self.pump();
    }

    pub fn disconnect(&mut self, conn: ConnectionId) {
        self.server.handle_disconnect(conn, self.now);
        self.pump();
    }

    pub fn advance(&mut self, by: Duration) {
        self.now = self.now.advanced(by);
        self.server.handle_timeout(self.now);
        self.pump();
    }

    pub fn notify(&mut self, notice: Notice) {
        self.server.notify(notice, self.now);
        self.pump();
    }

    /// Returns how many handlers are running (started and not finished).
    pub fn running(&self) -> usize {
        self.running.len()
    }

    /// Drains the server and runs handlers until nothing moves.
    pub fn pump(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(transmit) = self.server.poll_transmit() {
                progressed = true;
                self.wires
                    .entry(transmit.connection)
                    .or_default()
                    .extend_from_slice(&transmit.data);
            }
            while let Some(event) = self.server.poll_event() {
                progressed = true;
                match event {
                    Event::Call(call) => {
                        let id = call.id;
                        let outbox = Arc::clone(&self.outbox);
                        let sink =
                            Outbox::new(move |call, message| outbox.lock().unwrap().push((call, message)));
                        self.running.push((id, Box::pin(call.run(sink))));
                    }
                    Event::Cancel(call) => {
                        self.running.retain(|(id, _)| *id != call);
                        self.cancelled.push(call);
                    }
                    Event::Log(record) => self.logs.push(record),
                    Event::Closed(conn) => self.closed.push(conn),
                    Event::Resume(_) => {}
                    Event::Store(request) => self.stores.push(request),
                    other => panic!("unexpected event {other:?}"),
                }
            }
            let mut cx = Context::from_waker(Waker::noop());
            let mut finished = Vec::new();
            self.running
                .retain_mut(|(id, future)| match future.as_mut().poll(&mut cx) {
                    Poll::Ready(outcome) => {
                        finished.push((*id, outcome));
                        false
                    }
                    Poll::Pending => true,
                });
            let messages: Vec<_> = std::mem::take(&mut *self.outbox.lock().unwrap());
            progressed |= !finished.is_empty() || !messages.is_empty();
            for (id, message) in messages {
                let _ = self.server.call_message(id, message, self.now);
            }
            for (id, outcome) in finished {
                let _ = self.server.complete(id, outcome, self.now);
            }
            if !progressed {
                return;
            }
        }
    }

    /// HTTP responses completed on `conn` since the last call.
    pub fn responses(&mut self, conn: ConnectionId) -> Vec<Response> {
        let closed = self.closed.contains(&conn);
        let wire = &self.wires[&conn];
        let read = self.read.entry(conn).or_default();
        let (responses, used) = parse_responses(&wire[*read..], closed);
        *read += used;
        responses
    }

    /// Raw bytes written to `conn` since the last call (for streams still open).
    pub fn fresh(&mut self, conn: ConnectionId) -> String {
        let wire = &self.wires[&conn];
        let read = self.read.entry(conn).or_default();
        let fresh = String::from_utf8_lossy(&wire[*read..]).into_owned();
        *read = wire.len();
        fresh
    }

    /// NDJSON messages written to `conn` since the last call.
    pub fn lines(&mut self, conn: ConnectionId) -> Vec<Value> {
        self.fresh(conn)
            .lines()
            .map(|line| serde_json::from_str(line).expect("each line is JSON"))
            .collect()
    }

    /// Sends one NDJSON message.
    pub fn line(&mut self, conn: ConnectionId, message: Value) {
        let mut bytes = message.to_string().into_bytes();
        bytes.push(b'\n');
        self.send(conn, &bytes);
    }

    /// Opens an initialized NDJSON session whose client declares `capabilities`.
    pub fn stdio_session(&mut self, capabilities: Value) -> ConnectionId {
        let conn = self.connect(Framing::Ndjson);
        self.line(conn, initialize(0, capabilities));
        assert!(self.lines(conn)[0]["result"].is_object());
        self.line(
            conn,
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        );
        conn
    }

    /// Opens an HTTP session whose client declares `capabilities`; returns its id.
    pub fn http_session(&mut self, capabilities: Value) -> String {
        let conn = self.connect(Framing::Http);
        self.send(conn, &post(&initialize(0, capabilities).to_string(), None));
        let response = self.responses(conn).remove(0);
        assert_eq!(response.status, 200);
        response
            .header("mcp-session-id")
            .expect("a session id")
            .to_owned()
    }
}

pub fn initialize(id: i64, capabilities: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": capabilities,
        "clientInfo": {"name": "test", "version": "1"}}})
}

pub fn request(id: i64, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

/// A `POST /mcp` with the headers MCP clients send, in the session `session`.
pub fn post(body: &str, session: Option<&str>) -> Vec<u8> {
    let mut head = format!(
        "POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(session) = session {
        head.push_str(&format!(
            "Mcp-Session-Id: {session}\r\nMCP-Protocol-Version: 2025-11-25\r\n"
        ));
    }
    format!("{head}\r\n{body}").into_bytes()
}

/// A `GET /mcp` opening the session's stream, after `last` when resuming.
pub fn get_stream(session: &str, last: Option<&str>) -> Vec<u8> {
    let mut head = format!(
        "GET /mcp HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\nMcp-Session-Id: {session}\r\n\
         MCP-Protocol-Version: 2025-11-25\r\n"
    );
    if let Some(last) = last {
        head.push_str(&format!("Last-Event-ID: {last}\r\n"));
    }
    format!("{head}\r\n").into_bytes()
}

/// The `(id, data)` of every SSE event in `text` that carries data.
pub fn sse_events(text: &str) -> Vec<(Option<String>, Value)> {
    text.split("\n\n")
        .filter_map(|event| {
            let id = event
                .lines()
                .find_map(|l| l.strip_prefix("id: "))
                .map(str::to_owned);
            let data = event.lines().find_map(|l| l.strip_prefix("data: "))?;
            (!data.trim().is_empty()).then(|| (id, serde_json::from_str(data).expect("event data is JSON")))
        })
        .collect()
}

/// Tools, resources and prompts that exercise every feature.
pub fn feature_registry() -> Registry {
    let object = || json!({"type": "object"});
    Registry::new()
        .tool(Tool::new("ask", object(), |args, ctx| async move {
            let params = json!({"messages": [{"role": "user", "content": {"type": "text", "text": args["prompt"]}}], "maxTokens": 10});
            match ctx.sample(params).await {
                Ok(result) => Ok(ToolOutput::text(result["content"]["text"].as_str().unwrap_or_default())),
                Err(err) => Ok(ToolOutput::error(err.to_string())),
            }
        }))
        .unwrap()
        .tool(Tool::new("form", object(), |_, ctx| async move {
            let schema = json!({"type": "object", "properties": {"name": {"type": "string"}}});
            match ctx.elicit(Elicitation::form("Name?", schema)).await {
                Ok(answer) => Ok(ToolOutput::text(format!("{:?} {:?}", answer.action, answer.content))),
                Err(err) => Ok(ToolOutput::error(err.to_string())),
            }
        }))
        .unwrap()
        .tool(Tool::new("roots", object(), |_, ctx| async move {
            match ctx.roots().await {
                Ok(roots) => Ok(ToolOutput::text(roots.iter().map(|r| r.uri.as_str()).collect::<Vec<_>>().join(","))),
                Err(err) => Ok(ToolOutput::error(err.to_string())),
            }
        }))
        .unwrap()
        .tool(Tool::new("touch", object(), |_, ctx| async move {
            ctx.notify(Notice::ResourceUpdated("test://a".into()));
            Ok(ToolOutput::text("touched"))
        }))
        .unwrap()
        .tool(Tool::new("wait", object(), |_, ctx| async move {
            ctx.heartbeat(Duration::from_secs(10));
            ctx.progress(1.0, None, Some("started".into()));
            std::future::pending::<()>().await;
            Ok(ToolOutput::text("never"))
        }))
        .unwrap()
        .resource(Resource::text("test://a", "a", "alpha"))
        .unwrap()
        .resource(Resource::blob("test://b", "b", "AQID", "application/octet-stream"))
        .unwrap()
        .resource_template(
            ResourceTemplate::new("test://items/{id}", "item", |request: ReadRequest, _| async move {
                let id = request.variables["id"].clone();
                if id == "missing" {
                    return Ok(vec![]);
                }
                Ok(vec![ResourceContents::text(request.uri, format!("item {id}"))])
            })
            .mime_type("text/plain")
            .complete(|request, _| async move { Ok(Completion::matching(["1", "12", "2"], &request.value)) }),
        )
        .unwrap()
        .prompt(
            Prompt::new("greet", |args, _| async move {
                let name = args.get("name").cloned().unwrap_or_default();
                Ok(PromptResult::new().description("a greeting").user(Content::text(format!("Hello {name}"))))
            })
            .description("Greets")
            .argument(PromptArgument::required("name").description("Who"))
            .argument(PromptArgument::new("mood"))
            .complete(|request, _| async move {
                Ok(Completion::new((0..150).map(|n| format!("{}{n}", request.value))))
            }),
        )
        .unwrap()
}
