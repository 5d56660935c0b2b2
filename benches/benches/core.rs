//! Criterion benches of the core with no IO: JSON-RPC parsing, JSON Schema validation, a
//! rate-limit check, an HTTP probe, and full `tools/call` round trips over HTTP and NDJSON
//! (bytes in, handler completing at once, bytes out), and the typed layer against the same
//! tools written with `Value` arguments. Before the benches it prints heap
//! allocations per round trip, counted by the bench crate's allocator.

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rampart_benches::{Bench, CountingAllocator, allocations};
use rampart_core::Framing;
use rampart_core::rate_limit::{ClientKey, Limits, RateLimiter};
use rampart_core::validate::ArgsValidator;
use serde_json::json;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

const ECHO_CALL: &str =
    r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}"#;

/// A `tools/call` of `name` with a user's email and name.
fn user_call(name: &str) -> String {
    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": name, "arguments": {"email": "ada@example.com", "name": "Ada Lovelace"}}})
    .to_string()
}

fn big_call() -> String {
    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "echo", "arguments": {"text": "x".repeat(64 * 1024)}}})
    .to_string()
}

fn jsonrpc_parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("jsonrpc_parse");
    group.throughput(Throughput::Bytes(ECHO_CALL.len() as u64));
    group.bench_function("tools_call", |b| {
        b.iter(|| rampart_core::jsonrpc::parse_message(black_box(ECHO_CALL.as_bytes())).is_ok())
    });
    group.finish();
}

fn validation(c: &mut Criterion) {
    let schema = json!({
        "type": "object",
        "properties": {"email": {"type": "string", "format": "email"}, "name": {"type": "string", "minLength": 1}},
        "required": ["email", "name"]
    });
    let validator = ArgsValidator::compile(&schema).expect("schema compiles");
    let args = json!({"email": "ada@example.com", "name": "Ada"});
    c.bench_function("schema_validation/user_create", |b| {
        b.iter(|| validator.check(black_box(&args)).is_ok())
    });
}

fn rate_limit(c: &mut Criterion) {
    let mut limiter = RateLimiter::new(Limits {
        per_minute: u32::MAX,
        burst: u32::MAX,
        ..Limits::default()
    });
    let key = ClientKey::from_ip("203.0.113.7".parse().expect("an address"));
    let now = Instant::now();
    c.bench_function("rate_limit/check", |b| {
        b.iter(|| limiter.check(black_box(key), now).allowed)
    });
}

fn round_trips(c: &mut Criterion) {
    let big = big_call();
    for (framing, group_name) in [
        (Framing::Http, "http_round_trip"),
        (Framing::Ndjson, "ndjson_round_trip"),
    ] {
        let mut group = c.benchmark_group(group_name);
        for (name, message) in [("echo_small", ECHO_CALL), ("echo_64k", big.as_str())] {
            let mut bench = Bench::new(framing);
            let input = bench.frame(message);
            group.throughput(Throughput::Bytes(input.len() as u64));
            group.bench_function(name, |b| b.iter(|| bench.round_trip(black_box(&input))));
        }
        group.finish();
    }
    let mut bench = Bench::new(Framing::Http);
    let probe = b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n";
    c.bench_function("http_round_trip/health", |b| {
        b.iter(|| bench.round_trip(black_box(probe)))
    });
}

/// The same tools written with a hand-written schema and `Value` arguments, and with the
/// typed layer: each pair over HTTP, so the difference is the typed layer's price.
fn typed_vs_value(c: &mut Criterion) {
    let mut group = c.benchmark_group("typed_vs_value");
    let calls = [
        ("echo/value", ECHO_CALL.to_owned()),
        ("echo/typed", ECHO_CALL.replace("\"echo\"", "\"echo_typed\"")),
        ("user_create/value", user_call("user.create")),
        ("user_create/typed", user_call("user.create_typed")),
    ];
    for (name, message) in &calls {
        let mut bench = Bench::new(Framing::Http);
        let input = bench.frame(message);
        let written = bench.round_trip(&input);
        assert!(written > 0, "{name} answers");
        group.bench_function(*name, |b| b.iter(|| bench.round_trip(black_box(&input))));
    }
    group.finish();
}

/// Prints heap allocations per round trip (not a timing, so printed once, not benched).
fn allocations_per_round_trip(_: &mut Criterion) {
    let big = big_call();
    let typed_echo = ECHO_CALL.replace("\"echo\"", "\"echo_typed\"");
    let (user, typed_user) = (user_call("user.create"), user_call("user.create_typed"));
    for (framing, label) in [(Framing::Http, "http"), (Framing::Ndjson, "ndjson")] {
        for (name, message) in [
            ("echo_small", ECHO_CALL),
            ("echo_64k", big.as_str()),
            ("echo_typed", typed_echo.as_str()),
            ("user_create", user.as_str()),
            ("user_create_typed", typed_user.as_str()),
        ] {
            let mut bench = Bench::new(framing);
            let input = bench.frame(message);
            bench.round_trip(&input);
            let before = allocations();
            const N: u64 = 1000;
            for _ in 0..N {
                bench.round_trip(&input);
            }
            println!(
                "allocations per round trip: {label}/{name}: {:.1}",
                (allocations() - before) as f64 / N as f64
            );
        }
    }
}

criterion_group!(
    benches,
    allocations_per_round_trip,
    jsonrpc_parse,
    validation,
    rate_limit,
    round_trips,
    typed_vs_value
);
criterion_main!(benches);
