//! Entry points for the fuzz targets in `fuzz/` and for replaying their seed inputs as tests.
//!
//! Each takes arbitrary bytes, drives the core, and checks invariants. A panic here means a
//! bug in the core, never bad input.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};

use crate::{Config, Event, Framing, Now, Outbox, Server, Tool, ToolError, ToolOutput, ToolRegistry};

/// Parses `data` as one JSON-RPC message; checks that any failure carries -32700 or -32600.
pub fn jsonrpc(data: &[u8]) {
    if let Err(failure) = crate::jsonrpc::parse_message(data) {
        let code = failure.error.code.code();
        assert!(
            code == -32700 || code == -32600,
            "parse failures are -32700 or -32600, got {code}"
        );
    }
}

/// Feeds `data` to one NDJSON connection whole and again split where its first byte says;
/// checks that every output line is one JSON-RPC message and that both runs agree.
pub fn stdio_lines(data: &[u8]) {
    let cut = data.first().map_or(0, |&b| usize::from(b) % (data.len() + 1));
    let whole = run_ndjson(data, &[]);
    let split = run_ndjson(data, &[cut]);
    assert_eq!(whole, split, "output depends on how the input is split");
    let text = std::str::from_utf8(&whole).expect("output is UTF-8");
    for line in text.lines() {
        let message: Value = serde_json::from_str(line).expect("every output line is JSON");
        assert_eq!(
            message["jsonrpc"], "2.0",
            "every output line is JSON-RPC 2.0: {line}"
        );
    }
}

fn run_ndjson(data: &[u8], cuts: &[usize]) -> Vec<u8> {
    let config = Config {
        max_line_bytes: 4096,
        max_calls_per_connection: 4,
        ..Config::default()
    };
    let mut now = Now::new(Instant::now(), SystemTime::UNIX_EPOCH);
    let mut server = Server::new(config, fuzz_tools(), [0; 32], now);
    let conn = server.accept("fuzz", Framing::Ndjson, now);
    let mut wire = Vec::new();
    let mut start = 0;
    let mut pending = Vec::new();
    for &cut in cuts.iter().chain(std::iter::once(&data.len())) {
        let cut = cut.clamp(start, data.len());
        let mut chunk = &data[start..cut];
        start = cut;
        // Feed while the server takes input; complete the oldest call when it pauses.
        while !chunk.is_empty() {
            if server.wants_input(conn) {
                let take = chunk.len().min(1024);
                let _ = server.handle_input(conn, &chunk[..take], now);
                chunk = &chunk[take..];
            } else if !pending.is_empty() {
                finish_one(&mut server, &mut pending, now);
            } else {
                break;
            }
            drain(&mut server, &mut wire, &mut pending);
        }
    }
    while !pending.is_empty() {
        finish_one(&mut server, &mut pending, now);
        drain(&mut server, &mut wire, &mut pending);
    }
    let _ = server.handle_eof(conn, now);
    drain(&mut server, &mut wire, &mut pending);
    now = now.advanced(Duration::from_secs(3600));
    server.handle_timeout(now);
    drain(&mut server, &mut wire, &mut pending);
    wire
}

fn finish_one(server: &mut Server, pending: &mut Vec<crate::ToolCall>, now: Now) {
    let call = pending.remove(0);
    let id = call.id;
    let mut future = pin!(call.run(Outbox::discard()));
    let outcome = match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(outcome) => outcome,
        Poll::Pending => Err(ToolError::failed("pending")),
    };
    let _ = server.complete(id, outcome, now);
}

fn drain(server: &mut Server, wire: &mut Vec<u8>, pending: &mut Vec<crate::ToolCall>) {
    loop {
        let mut progressed = false;
        while let Some(transmit) = server.poll_transmit() {
            wire.extend_from_slice(&transmit.data);
            progressed = true;
        }
        while let Some(event) = server.poll_event() {
            if let Event::CallTool(call) = event {
                pending.push(call);
            }
            progressed = true;
        }
        if !progressed {
            return;
        }
    }
}

fn fuzz_tools() -> ToolRegistry {
    let mut tools = ToolRegistry::new();
    let defs = [
        (
            "user.create@v1",
            json!({"type": "object", "properties": {"email": {"type": "string", "format": "email"}}, "required": ["email"]}),
        ),
        (
            "echo",
            json!({"type": "object", "properties": {"text": {"type": "string"}}}),
        ),
    ];
    for (name, schema) in defs {
        let _ = tools.register(Tool::new(name, schema, |args, _| async move {
            Ok(ToolOutput::structured(args))
        }));
    }
    let _ = tools.register(Tool::new("fail", json!({"type": "object"}), |_, _| async {
        Err(ToolError::failed("fails"))
    }));
    tools
}
