//! Runs `http_round_trip/echo_small` many times, for a profiler (`valgrind --tool=callgrind`).
//! A second argument names another tool of the bench registry with the same arguments
//! (`echo_typed`), to count what the typed layer adds; a third, `traced`, turns span records
//! on (as `OTEL_EXPORTER_OTLP_ENDPOINT` does), to count what a span costs the core, and
//! `modern` sends the call as a stateless 2026-07-28 request instead, and `limited` turns the
//! per-client rate limit on (counted in-process, high enough never to refuse).

use rampart_benches::Bench;
use rampart_core::Framing;

const ECHO: &str =
    r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}"#;

fn main() {
    let rounds = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    let tool = std::env::args().nth(2).unwrap_or_else(|| "echo".into());
    let traced = std::env::args().nth(3).as_deref() == Some("traced");
    let modern = std::env::args().nth(3).as_deref() == Some("modern");
    let limited = std::env::args().nth(3).as_deref() == Some("limited");
    let mut bench = Bench::configured(Framing::Http, |config| {
        if traced {
            config.trace.endpoint = Some("http://127.0.0.1:4318".into());
        }
        if limited {
            config.rate_limit = 1_000_000_000;
        }
    });
    let echo = if modern {
        modern_frame(&tool)
    } else {
        bench.frame(&ECHO.replace("\"echo\"", &format!("{tool:?}")))
    };
    let mut total = 0;
    for _ in 0..rounds {
        total += bench.round_trip(&echo);
    }
    println!("{rounds} round trips, {total} bytes out");
}

/// The same call as a stateless 2026-07-28 request: its `_meta` and standard headers.
fn modern_frame(tool: &str) -> Vec<u8> {
    let body = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":{tool:?},"arguments":{{"text":"hello"}},"_meta":{{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{{}}}}}}}}"#
    );
    format!(
        "POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/call\r\nMcp-Name: {tool}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}
