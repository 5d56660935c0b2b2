//! Entry points for the fuzz targets in `fuzz/` and for replaying their seed inputs as tests.
//!
//! Each takes arbitrary bytes, drives the core, and checks invariants. A panic here means a
//! bug in the core, never bad input.

mod dictionary;
mod modern;
mod ops;
mod peer;
mod registry;
mod shared;
mod wire;

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant, SystemTime};

use crate::{Call, Config, Event, Framing, HandlerError, Now, Outbox, Outcome, Server, Stats};

use registry::fuzz_registry;

pub use ops::ops;
pub use shared::shared;

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
/// checks that every output line is one JSON-RPC message and that both runs agree. `base`,
/// like every entry point's, is the caller's instant the virtual clock starts from.
pub fn stdio_lines(data: &[u8], base: Instant) {
    let cut = data.first().map_or(0, |&b| usize::from(b) % (data.len() + 1));
    let whole = run(Framing::Ndjson, data, &[], base);
    let split = run(Framing::Ndjson, data, &[cut], base);
    assert_eq!(whole, split, "output depends on how the input is split");
    for line in whole.split(|&b| b == b'\n').filter(|line| !line.is_empty()) {
        wire::check_line(line);
    }
}

/// Feeds the rest of `data` to one HTTP connection in chunks of the size its first byte
/// says, then ends input and lets every deadline pass; checks that the output is HTTP/1.1
/// responses.
pub fn http_request(data: &[u8], base: Instant) {
    let Some((&size, data)) = data.split_first() else {
        return;
    };
    let size = usize::from(size) + 1;
    let cuts: Vec<usize> = (size..data.len()).step_by(size).collect();
    let output = run(Framing::Http, data, &cuts, base);
    wire::check_http(&output);
}

/// Feeds the rest of `data` to one connection cut at one place, then at another, as its
/// first two bytes say (in 255ths of its length), once with HTTP and once with NDJSON
/// framing; checks that each framing gives the same bytes both ways.
pub fn split(data: &[u8], base: Instant) {
    let [first, second, data @ ..] = data else {
        return;
    };
    let cut = |at: &u8| usize::from(*at) * data.len() / 255;
    for framing in [Framing::Http, Framing::Ndjson] {
        let one = run(framing, data, &[cut(first)], base);
        let other = run(framing, data, &[cut(second)], base);
        assert_eq!(
            String::from_utf8_lossy(&one),
            String::from_utf8_lossy(&other),
            "{framing:?} output depends on how the input is split"
        );
    }
}

/// Drives one connection through `data`, cut at `cuts`, as an adapter would: feeds while
/// the server takes input, completes the oldest call when it pauses, then ends input and lets
/// every deadline pass. Returns every byte written to the connection.
fn run(framing: Framing, data: &[u8], cuts: &[usize], base: Instant) -> Vec<u8> {
    let mut now = start(base);
    let mut server = Server::new(fuzz_config(), fuzz_registry(), [0; 32], now);
    let conn = server.accept("127.0.0.1", framing, now);
    let mut wire = Vec::new();
    let mut start = 0;
    let mut pending = Vec::new();
    for &cut in cuts.iter().chain(std::iter::once(&data.len())) {
        let cut = cut.clamp(start, data.len());
        let mut chunk = &data[start..cut];
        start = cut;
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
    settle(&mut server, &mut wire, &mut pending, now);
    let _ = server.handle_eof(conn, now);
    settle(&mut server, &mut wire, &mut pending, now);
    for _ in 0..4 {
        now = now.advanced(Duration::from_secs(3600));
        server.handle_timeout(now);
        settle(&mut server, &mut wire, &mut pending, now);
    }
    wire
}

/// Completes every pending call, oldest first, draining after each.
fn settle(server: &mut Server, wire: &mut Vec<u8>, pending: &mut Vec<Call>, now: Now) {
    drain(server, wire, pending);
    while !pending.is_empty() {
        finish_one(server, pending, now);
        drain(server, wire, pending);
    }
}

/// Runs the oldest pending call's handler once and reports what it gave.
fn finish_one(server: &mut Server, pending: &mut Vec<Call>, now: Now) {
    let call = pending.remove(0);
    let id = call.id;
    let _ = server.complete(id, poll_once(call), now);
}

/// Polls a call's handler once; a handler that is not done yet counts as failed.
fn poll_once(call: Call) -> Outcome {
    let mut future = pin!(call.run(Outbox::discard()));
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(outcome) => outcome,
        Poll::Pending => Err(HandlerError::failed("pending")),
    }
}

fn drain(server: &mut Server, wire: &mut Vec<u8>, pending: &mut Vec<Call>) {
    loop {
        let mut progressed = false;
        while let Some(transmit) = server.poll_transmit() {
            wire.extend_from_slice(&transmit.data);
            progressed = true;
        }
        while let Some(event) = server.poll_event() {
            match event {
                Event::Call(call) => pending.push(call),
                Event::Cancel(id) => pending.retain(|call| call.id != id),
                _ => {}
            }
            progressed = true;
        }
        check_stats(server.stats(), server.config());
        if !progressed {
            return;
        }
    }
}

/// Checks that the server's tables stay within their configured caps.
fn check_stats(stats: Stats, config: &Config) {
    assert!(
        stats.sessions <= config.max_sessions,
        "sessions over the cap: {stats:?}"
    );
    assert!(
        stats.rate_limited_clients <= config.rate_limit_max_clients,
        "rate-limit buckets over the cap: {stats:?}"
    );
    assert!(
        stats.running_calls <= stats.connections * config.max_calls_per_connection.max(1),
        "more calls running than connections may hold: {stats:?}"
    );
    assert!(
        stats.client_requests <= stats.running_calls * config.max_client_requests,
        "more requests to clients waiting than running calls may make: {stats:?}"
    );
    // One per head waiting (one per connection), one per call not started yet, probes, and
    // those nothing waits for, capped.
    assert!(
        stats.store_requests <= stats.connections + stats.running_calls + 2 + config.store.max_unanswered,
        "more store requests waiting than heads, calls and probes: {stats:?}"
    );
}

/// The virtual clock's first moment: the caller's instant, and a fixed wall clock.
fn start(base: Instant) -> Now {
    Now::new(base, SystemTime::UNIX_EPOCH)
}

/// A config with small caps and short waits, so that their edges are reachable.
fn fuzz_config() -> Config {
    let mut config = Config {
        max_line_bytes: 4096,
        max_calls_per_connection: 4,
        max_head_bytes: 2048,
        max_headers: 24,
        max_target_bytes: 256,
        max_body_bytes: 4096,
        header_timeout: Duration::from_secs(2),
        body_idle_timeout: Duration::from_secs(3),
        keep_alive_timeout: Duration::from_secs(5),
        tool_timeout: Duration::from_secs(10),
        max_requests_per_connection: 16,
        max_output_bytes: 64 * 1024,
        max_sessions: 2,
        session_idle_timeout: Duration::from_secs(60),
        max_stream_queue: 4,
        rate_limit: 40,
        rate_limit_max_clients: 3,
        max_client_requests: 2,
        client_request_timeout: Duration::from_secs(4),
        max_subscriptions: 3,
        ..Config::default()
    };
    // Span records are made (and checked by the hosts) for every request.
    config.trace.endpoint = Some("http://127.0.0.1:4318".into());
    config.serving.drain_timeout = Duration::from_secs(3);
    config
}

/// Reads operations and their arguments off a fuzz input.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Option<u8> {
        let (&first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(first)
    }

    fn take(&mut self, len: usize) -> &'a [u8] {
        let (taken, rest) = self.0.split_at(len.min(self.0.len()));
        self.0 = rest;
        taken
    }
}
