//! An HTTP client side for the virtual-clock harness: builds requests and parses responses.

#![allow(dead_code)]

use std::time::{Duration, Instant, SystemTime};

use rampart_core::{Call, Config, ConnectionId, Event, Framing, Now, Outbox, Server, ToolRegistry};
use serde_json::Value;

/// One parsed HTTP response.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|err| panic!("body is JSON ({err}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// The JSON messages of an SSE body.
    pub fn events(&self) -> Vec<Value> {
        String::from_utf8_lossy(&self.body)
            .split("\n\n")
            .filter_map(|event| event.lines().find_map(|l| l.strip_prefix("data: ")))
            // A priming event carries an id and no data.
            .filter(|data| !data.trim().is_empty())
            .map(|data| serde_json::from_str(data).expect("event data is JSON"))
            .collect()
    }
}

/// Parses every complete response in `wire`; returns them and the bytes consumed.
pub fn parse_responses(wire: &[u8], closed: bool) -> (Vec<Response>, usize) {
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        let rest = &wire[at..];
        let Some(end) = rest.windows(4).position(|w| w == b"\r\n\r\n") else {
            break;
        };
        let head = std::str::from_utf8(&rest[..end]).expect("head is ASCII");
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap();
        assert!(status_line.starts_with("HTTP/1.1 "), "status line: {status_line}");
        let status: u16 = status_line[9..12].parse().unwrap();
        let headers: Vec<(String, String)> = lines
            .map(|l| {
                let (n, v) = l.split_once(": ").expect("header line");
                (n.to_owned(), v.to_owned())
            })
            .collect();
        let get = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let mut pos = end + 4;
        let body;
        if status == 100 {
            at += pos;
            continue;
        } else if let Some(len) = get("content-length") {
            let len: usize = len.parse().unwrap();
            if rest.len() < pos + len {
                break;
            }
            body = rest[pos..pos + len].to_vec();
            pos += len;
        } else if get("transfer-encoding").as_deref() == Some("chunked") {
            let mut data = Vec::new();
            loop {
                let Some(line_end) = rest[pos..].windows(2).position(|w| w == b"\r\n") else {
                    return (out, at);
                };
                let size =
                    usize::from_str_radix(std::str::from_utf8(&rest[pos..pos + line_end]).unwrap(), 16)
                        .unwrap();
                if rest.len() < pos + line_end + 2 + size + 2 {
                    return (out, at);
                }
                data.extend_from_slice(&rest[pos + line_end + 2..pos + line_end + 2 + size]);
                pos += line_end + 2 + size + 2;
                if size == 0 {
                    break;
                }
            }
            body = data;
        } else if status == 204 || status == 202 || status == 304 {
            body = Vec::new();
        } else {
            // Close-delimited.
            if !closed {
                break;
            }
            body = rest[pos..].to_vec();
            pos = rest.len();
        }
        out.push(Response {
            status,
            headers,
            body,
        });
        at += pos;
    }
    (out, at)
}

/// One server and one HTTP connection on a virtual clock.
pub struct HttpHarness {
    pub server: Server,
    pub conn: ConnectionId,
    pub now: Now,
    pub wire: Vec<u8>,
    pub read: usize,
    pub calls: Vec<Call>,
    pub cancelled: Vec<rampart_core::CallId>,
    pub logs: Vec<rampart_core::LogRecord>,
    pub closed: Vec<ConnectionId>,
    /// Requests to the shared store, not answered yet.
    pub stores: Vec<rampart_core::store::StoreRequest>,
    /// Span records, when traces are exported.
    pub spans: Vec<rampart_core::trace::SpanRecord>,
}

impl HttpHarness {
    pub fn new(config: Config, tools: ToolRegistry) -> Self {
        let now = Now::new(
            Instant::now(),
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        );
        let mut server = Server::new(config, tools, [9; 32], now);
        let conn = server.accept("127.0.0.1", Framing::Http, now);
        Self {
            server,
            conn,
            now,
            wire: Vec::new(),
            read: 0,
            calls: Vec::new(),
            cancelled: Vec::new(),
            logs: Vec::new(),
            closed: Vec::new(),
            stores: Vec::new(),
            spans: Vec::new(),
        }
    }

    /// Opens another connection to the same server; returns its id (output goes to `wire`
    /// only for the harness's own connection).
    pub fn reconnect(&mut self) {
        self.conn = self.server.accept("127.0.0.1", Framing::Http, self.now);
        self.wire.clear();
        self.read = 0;
    }

    pub fn input(&mut self, bytes: &[u8]) {
        self.server
            .handle_input(self.conn, bytes, self.now)
            .expect("input accepted");
        self.drain();
    }

    pub fn advance(&mut self, by: Duration) {
        self.now = self.now.advanced(by);
        self.server.handle_timeout(self.now);
        self.drain();
    }

    pub fn drain(&mut self) {
        while let Some(t) = self.server.poll_transmit() {
            if t.connection == self.conn {
                self.wire.extend_from_slice(&t.data);
            }
        }
        while let Some(event) = self.server.poll_event() {
            match event {
                Event::Call(call) => self.calls.push(call),
                Event::Cancel(call) => self.cancelled.push(call),
                Event::Log(record) => self.logs.push(record),
                Event::Closed(conn) => self.closed.push(conn),
                Event::Resume(_) => {}
                Event::Store(request) => self.stores.push(request),
                Event::Span(span) => self.spans.push(span),
                other => panic!("unexpected event {other:?}"),
            }
        }
    }

    pub fn is_closed(&self) -> bool {
        self.closed.contains(&self.conn)
    }

    /// Responses completed since the last call.
    pub fn responses(&mut self) -> Vec<Response> {
        let closed = self.is_closed();
        let (responses, used) = parse_responses(&self.wire[self.read..], closed);
        self.read += used;
        responses
    }

    /// Sends a request and returns its one response.
    pub fn exchange(&mut self, request: &[u8]) -> Response {
        self.input(request);
        self.run_calls();
        let mut responses = self.responses();
        assert_eq!(
            responses.len(),
            1,
            "one response to {}",
            String::from_utf8_lossy(request)
        );
        responses.remove(0)
    }

    pub fn run_calls(&mut self) {
        for call in std::mem::take(&mut self.calls) {
            let id = call.id;
            match super::poll_once(call.run(Outbox::discard())) {
                Some(outcome) => {
                    let _ = self.server.complete(id, outcome, self.now);
                    self.drain();
                }
                None => panic!("harness calls must complete at once; drive pending ones by hand"),
            }
        }
    }
}

/// A `POST /mcp` with a JSON body and the headers MCP clients send.
pub fn post(body: &str, session: Option<&str>) -> Vec<u8> {
    let mut request = format!(
        "POST /mcp HTTP/1.1\r\nHost: localhost:23450\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(session) = session {
        request.push_str(&format!(
            "Mcp-Session-Id: {session}\r\nMCP-Protocol-Version: 2025-11-25\r\n"
        ));
    }
    request.push_str("\r\n");
    request.push_str(body);
    request.into_bytes()
}

pub fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").into_bytes()
}

pub const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
