//! The shards of a shared server: routing by client address, the one session cap, the merged
//! metrics, the timer, the logs and the drain over every shard.

use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant, SystemTime};

use super::SharedServer;
use crate::{Config, ConnectionId, Now, Server, Tool, ToolOutput, ToolRegistry};

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}"#;

fn now() -> Now {
    Now::new(
        Instant::now(),
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
    )
}

fn tools() -> ToolRegistry {
    ToolRegistry::new()
        .with(Tool::new(
            "echo",
            serde_json::json!({"type": "object"}),
            |_, _| async { Ok(ToolOutput::text("hi")) },
        ))
        .unwrap()
}

fn shared(config: Config, shards: usize) -> Arc<SharedServer> {
    SharedServer::sharded(Server::new(config, tools(), [3; 32], now()), shards, now, |_| {})
}

fn post(body: &str) -> Vec<u8> {
    format!(
        "POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").into_bytes()
}

/// Opens a connection from `client`, sends `request`, returns the connection and the answer.
fn exchange(shared: &Arc<SharedServer>, client: &str, request: &[u8]) -> (ConnectionId, String) {
    let connection = shared.accept(client);
    let mut out = Vec::new();
    let _ = shared.input(connection, request, &mut out);
    (connection, String::from_utf8(out).unwrap())
}

fn status(response: &str) -> &str {
    response.get(9..12).unwrap_or_default()
}

#[test]
fn a_client_address_picks_one_shard_and_addresses_spread_over_all() {
    let shared = shared(Config::default(), 4);
    assert_eq!(shared.shard_count(), 4);
    let shard = |client: &str| SharedServer::shard_of(shared.accept(client));
    for client in ["10.0.0.1", "2001:db8::1", "label"] {
        let first = shard(client);
        assert!((0..5).all(|_| shard(client) == first), "{client}");
        assert_eq!(shared.shard_for(client), first);
    }
    // One IPv6 /64 is one client, as rate limits count it: one shard.
    assert_eq!(shard("2001:db8:0:1::1"), shard("2001:db8:0:1:ffff::2"));
    let mut used = [false; 4];
    for i in 0..64 {
        used[shard(&format!("10.0.{i}.7"))] = true;
    }
    assert_eq!(used, [true; 4]);
    // Connection ids never collide between shards.
    let a = shared.accept("10.0.0.1");
    let b = (0..64)
        .map(|i| shared.accept(format!("10.1.{i}.1")))
        .find(|b| SharedServer::shard_of(*b) != SharedServer::shard_of(a))
        .unwrap();
    assert_ne!(a, b);
    let mut each = Vec::new();
    shared.with_each(|server| each.push(server.stats().connections));
    assert_eq!(shared.stats().connections, each.iter().sum::<usize>());
    assert!(each.iter().all(|n| *n > 0), "{each:?}");
}

#[test]
fn one_shard_numbers_connections_as_a_lone_server_does() {
    let shared = shared(Config::default(), 1);
    assert_eq!(shared.accept("10.0.0.1"), ConnectionId(0));
    assert_eq!(shared.accept("10.9.9.9"), ConnectionId(1));
}

#[test]
fn the_session_cap_holds_over_every_shard() {
    let config = Config {
        max_sessions: 5,
        ..Config::default()
    };
    let shared = shared(config, 3);
    let mut statuses = Vec::new();
    for i in 0..30 {
        let (_, response) = exchange(&shared, &format!("10.2.{i}.1"), &post(INITIALIZE));
        statuses.push(status(&response).to_owned());
    }
    assert_eq!(statuses.iter().filter(|s| *s == "200").count(), 5, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| *s == "503").count(), 25);
    assert_eq!(shared.stats().sessions, 5);
    let mut per_shard = Vec::new();
    shared.with_each(|server| per_shard.push(server.stats().sessions));
    assert!(per_shard.iter().filter(|n| **n > 0).count() > 1, "{per_shard:?}");
}

#[test]
fn metrics_from_any_shard_count_every_shard() {
    let config = Config {
        stateless: true,
        ..Config::default()
    };
    let shared = shared(config, 2);
    let call = r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{}}}"#;
    let clients: Vec<String> = (0..8).map(|i| format!("10.3.{i}.1")).collect();
    for client in &clients {
        let (_, response) = exchange(&shared, client, &post(call));
        assert_eq!(status(&response), "200", "{response}");
    }
    let shards: std::collections::BTreeSet<_> = clients.iter().map(|c| shared.shard_for(c)).collect();
    assert_eq!(shards.len(), 2);
    for client in ["10.3.0.1", "10.3.1.1", "10.3.2.1"] {
        let (_, text) = exchange(&shared, client, &get("/metrics"));
        assert!(
            text.contains("rampart_tool_calls_total{tool=\"echo\",outcome=\"ok\"} 8\n"),
            "{text}"
        );
        // Every connection opened so far is open still: 8 calls, then 1, 2, 3 scrapes.
        let scrapes = ["10.3.0.1", "10.3.1.1", "10.3.2.1"]
            .iter()
            .position(|c| *c == client)
            .unwrap();
        assert!(
            text.contains(&format!("rampart_connections {}\n", 9 + scrapes)),
            "{text}"
        );
    }
}

#[test]
fn drain_and_readiness_reach_every_shard() {
    let shared = shared(Config::default(), 3);
    let clients: Vec<String> = (0..12).map(|i| format!("10.4.{i}.1")).collect();
    shared.begin_drain();
    let mut connections = Vec::new();
    for client in &clients {
        let (connection, response) = exchange(&shared, client, &get("/ready"));
        assert_eq!(status(&response), "503", "{response}");
        connections.push(connection);
    }
    let mut drained = pin!(shared.drained());
    let mut cx = Context::from_waker(Waker::noop());
    assert!(drained.as_mut().poll(&mut cx).is_pending());
    shared.shutdown();
    // Idle connections close at shutdown; each task takes its close and finishes.
    for connection in &connections {
        let mut out = Vec::new();
        let output = shared.take(*connection, &mut out);
        assert!(output.close || output.gone, "{output:?}");
        assert!(drained.as_mut().poll(&mut cx).is_pending());
        shared.finish(*connection);
    }
    assert_eq!(drained.as_mut().poll(&mut cx), Poll::Ready(()));
}

#[test]
fn the_timer_sleeps_until_the_earliest_deadline_of_any_shard_or_a_tick() {
    let config = Config {
        header_timeout: Duration::from_millis(100),
        keep_alive_timeout: Duration::from_millis(100),
        ..Config::default()
    };
    let shared = shared(config, 2);
    let start = Instant::now();
    let tick = shared.next_deadline().unwrap();
    assert!(tick >= start + super::shards::TIMER_TICK && tick <= Instant::now() + super::shards::TIMER_TICK);
    let mut changed = pin!(shared.deadline_changed());
    let mut cx = Context::from_waker(Waker::noop());
    assert!(changed.as_mut().poll(&mut cx).is_pending());
    // A connection arms its timeout in its shard: before the tick.
    let connection = shared.accept("10.5.0.1");
    assert_eq!(changed.as_mut().poll(&mut cx), Poll::Ready(()));
    let first = shared.next_deadline().unwrap();
    assert!(first < tick);
    let other = (0..64)
        .map(|i| format!("10.5.{i}.2"))
        .find(|c| shared.shard_for(c) != SharedServer::shard_of(connection))
        .unwrap();
    let _ = shared.accept(other);
    assert_eq!(shared.next_deadline(), Some(first));
}

#[test]
fn a_deadline_past_the_tick_does_not_wake_the_timer() {
    let shared = shared(Config::default(), 2);
    let _ = shared.next_deadline();
    let mut changed = pin!(shared.deadline_changed());
    let mut cx = Context::from_waker(Waker::noop());
    assert!(changed.as_mut().poll(&mut cx).is_pending());
    // A new connection's timeout (10 s, 60 s): after the tick.
    let _ = shared.accept("10.5.1.1");
    assert!(changed.as_mut().poll(&mut cx).is_pending());
}

#[test]
fn log_lines_of_every_shard_reach_the_log_writer() {
    let shared = shared(Config::default(), 2);
    let mut cx = Context::from_waker(Waker::noop());
    let mut lines = Vec::new();
    assert!(pin!(shared.logs(&mut lines)).poll(&mut cx).is_pending());
    let clients: Vec<String> = (0..8).map(|i| format!("10.6.{i}.1")).collect();
    for client in &clients {
        let _ = exchange(&shared, client, &get("/health"));
    }
    let mut lines = Vec::new();
    assert_eq!(pin!(shared.logs(&mut lines)).poll(&mut cx), Poll::Ready(()));
    let text = String::from_utf8(lines).unwrap();
    for client in &clients {
        assert!(
            text.contains(&format!("\"client\":\"{client}\"")),
            "{client}: {text}"
        );
    }
}

#[test]
fn a_request_touches_only_its_own_shard_and_writes_nothing_shared() {
    let config = Config {
        stateless: true,
        rate_limit: 0,
        ..Config::default()
    };
    let shared = shared(config, 2);
    let call =
        post(r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{}}}"#);
    let client = (0..64)
        .map(|i| format!("10.7.{i}.1"))
        .find(|c| shared.shard_for(c) == 1)
        .unwrap();
    let connection = shared.accept(client);
    let mut out = Vec::new();
    // The timer task sleeps until the earliest deadline or the tick, as it does while serving.
    let _ = shared.next_deadline();
    for round in 0..3 {
        out.clear();
        let _ = super::waits::touches::take();
        let _ = crate::metrics::take_seat_locks();
        let output = shared.input(connection, &call, &mut out);
        assert!(output.resume && out.starts_with(b"HTTP/1.1 200"), "{round}");
        let touches = super::waits::touches::take();
        // Its shard's lock three times (the step, after the handler ran, the output); its
        // seat once; two loads of the timer's deadline, one of the log task's flag; no write
        // to anything another shard writes.
        assert_eq!(touches.shard_locks, [0, 3]);
        assert_eq!(crate::metrics::take_seat_locks(), [0, 1]);
        assert_eq!((touches.shared_reads, touches.shared_writes), (3, 0));
    }
}

/// A shared store that is down: every request fails at once.
struct Down;

impl crate::store::StoreBackend for Down {
    fn run(&self, _: crate::store::StoreOp) -> crate::store::StoreFuture {
        Box::pin(async { Err(crate::store::StoreError::new("down")) })
    }
}

#[test]
fn store_answers_go_back_to_the_shard_that_asked() {
    let config = Config {
        store: crate::store::StoreConfig {
            url: Some("redis://store".into()),
            ..crate::store::StoreConfig::default()
        },
        ..Config::default()
    };
    let tasks = Arc::new(std::sync::Mutex::new(Vec::<super::Task>::new()));
    let spawned = Arc::clone(&tasks);
    let server = Server::new(config, tools(), [3; 32], now());
    let shared = SharedServer::sharded(server, 2, now, move |task| spawned.lock().unwrap().push(task));
    shared.set_store(Arc::new(Down));
    let mut cx = Context::from_waker(Waker::noop());
    let mut run_store = || {
        for task in tasks.lock().unwrap().iter_mut() {
            let _ = task.as_mut().poll(&mut cx);
        }
    };
    let clients: Vec<String> = (0..8).map(|i| format!("10.8.{i}.1")).collect();
    let mut waited = std::collections::BTreeSet::new();
    for client in &clients {
        let connection = shared.accept(client.as_str());
        let mut out = Vec::new();
        let _ = shared.input(connection, &get("/health"), &mut out);
        if out.is_empty() {
            waited.insert(SharedServer::shard_of(connection));
        }
        // The rate-limit check waits for the store; its failure is answered in the shard
        // that asked, which then decides alone (fail open).
        run_store();
        if out.is_empty() {
            let _ = shared.take(connection, &mut out);
        }
        let response = String::from_utf8(out).unwrap();
        assert_eq!(status(&response), "200", "{client}: {response}");
    }
    // The first request of each shard waited for the store (then the shard knows it down and
    // decides alone until its next probe): both shards got their answers back.
    assert_eq!(waited, [0, 1].into());
}
