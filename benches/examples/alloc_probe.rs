use rampart_benches::{Bench, CountingAllocator, allocations};
use rampart_core::Framing;

#[global_allocator]
static A: CountingAllocator = CountingAllocator;

const ECHO: &str =
    r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}"#;

fn count(label: &str, mut f: impl FnMut()) {
    f();
    let before = allocations();
    for _ in 0..100 {
        f();
    }
    println!("{label}: {:.1}", (allocations() - before) as f64 / 100.0);
}

fn main() {
    count("parse_message", || {
        let _ = rampart_core::jsonrpc::parse_message(ECHO.as_bytes());
    });
    let mut b = Bench::new(Framing::Http);
    let probe = b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n";
    count("http health", || {
        b.round_trip(probe);
    });
    let ping = b.frame(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#);
    count("http ping", || {
        b.round_trip(&ping);
    });
    let echo = b.frame(ECHO);
    count("http echo", || {
        b.round_trip(&echo);
    });
    let mut n = Bench::new(Framing::Ndjson);
    let ping = n.frame(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#);
    count("ndjson ping", || {
        n.round_trip(&ping);
    });
    let echo = n.frame(ECHO);
    count("ndjson echo", || {
        n.round_trip(&echo);
    });
    let v = serde_json::json!({"type":"text","text":"hello"});
    count("tooloutput", || {
        let _ = rampart_core::ToolOutput::text("hello").to_json();
    });
    let _ = v;
    let now = rampart_benches::now();
    count("rfc3339", || {
        let _ = now.rfc3339();
    });
}
