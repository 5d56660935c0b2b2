//! Criterion benches of the core with no IO: JSON-RPC parsing, argument validation, and a
//! full `tools/call` round trip over NDJSON (bytes in, handler completing at once, bytes out).

use std::hint::black_box;
use std::time::{Instant, SystemTime};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rampart_core::{Config, Event, Framing, Now, Outbox, Server, Tool, ToolOutput, ToolRegistry};
use serde_json::json;

const ECHO_CALL: &[u8] =
    br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}"#;

fn echo_tools() -> ToolRegistry {
    ToolRegistry::new()
        .with(Tool::new(
            "echo",
            json!({"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}),
            |args, _| async move { Ok(ToolOutput::text(args["text"].as_str().unwrap_or_default())) },
        ))
        .expect("echo registers")
}

fn now() -> Now {
    Now::new(Instant::now(), SystemTime::now())
}

fn jsonrpc_parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("jsonrpc_parse");
    group.throughput(Throughput::Bytes(ECHO_CALL.len() as u64));
    group.bench_function("tools_call", |b| {
        b.iter(|| rampart_core::jsonrpc::parse_message(black_box(ECHO_CALL)).is_ok())
    });
    group.finish();
}

/// One echo call through the server: line in, event out, outcome in, response out.
fn round_trip(c: &mut Criterion) {
    let mut group = c.benchmark_group("ndjson_round_trip");
    let big = "x".repeat(64 * 1024);
    let big_call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "echo", "arguments": {"text": big}}})
    .to_string()
    .into_bytes();
    for (name, request) in [("echo_small", ECHO_CALL.to_vec()), ("echo_64k", big_call)] {
        let mut server = Server::new(Config::default(), echo_tools(), [1; 32], now());
        let conn = server.accept("bench", Framing::Ndjson, now());
        let init = br#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"b","version":"0"}}}
"#;
        server.handle_input(conn, init, now()).expect("input");
        while server.poll_transmit().is_some() {}
        while server.poll_event().is_some() {}
        let mut line = request;
        line.push(b'\n');
        group.throughput(Throughput::Bytes(line.len() as u64));
        let t = now();
        group.bench_function(name, |b| {
            b.iter(|| {
                server.handle_input(conn, &line, t).expect("input");
                let mut out = 0;
                while let Some(event) = server.poll_event() {
                    if let Event::CallTool(call) = event {
                        let id = call.id;
                        let outcome = ready_now(call.run(Outbox::discard()));
                        server.complete(id, outcome, t).expect("running");
                    }
                }
                while let Some(event) = server.poll_event() {
                    drop(black_box(event));
                }
                while let Some(transmit) = server.poll_transmit() {
                    out += transmit.data.len();
                }
                out
            })
        });
    }
    group.finish();
}

/// Polls a future that is ready at once.
fn ready_now<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
    {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => panic!("bench handlers complete at once"),
    }
}

criterion_group!(benches, jsonrpc_parse, round_trip);
criterion_main!(benches);
