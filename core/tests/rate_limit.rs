//! Rate limits through the server on a virtual clock: the seed's 101st request, Retry-After,
//! the RateLimit fields, trusted proxies, the bounded client table, exemptions, and per-tool
//! limits over HTTP and stdio.

mod common;

use std::time::Duration;

use common::http::{HttpHarness, get};
use common::{Harness, error_code, test_tools, tools_call};
use rampart_core::rate_limit::Cidr;
use rampart_core::{Config, Framing};
use serde_json::json;

fn get_from(path: &str, extra: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n{extra}\r\n").into_bytes()
}

#[test]
fn the_101st_rapid_request_is_429_with_retry_after() {
    let mut h = HttpHarness::new(Config::default(), test_tools());
    for i in 0..100 {
        let response = h.exchange(&get("/health"));
        assert_eq!(response.status, 200, "request {i}");
        assert_eq!(
            response.header("RateLimit-Policy"),
            Some("\"default\";q=100;w=60")
        );
        let remaining = format!("\"default\";r={};", 99 - i);
        assert!(response.header("RateLimit").unwrap().starts_with(&remaining));
    }
    let limited = h.exchange(&get("/health"));
    assert_eq!(limited.status, 429);
    assert_eq!(
        limited.body,
        br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32006,"message":"Too many requests"}}"#
    );
    // One token comes back every 600 ms: rounded up, one second.
    assert_eq!(limited.header("Retry-After"), Some("1"));
    assert!(limited.header("X-Content-Type-Options").is_some());
    assert!(!h.is_closed(), "a 429 keeps the connection");
    // Any endpoint counts, and time refills the bucket exactly.
    assert_eq!(h.exchange(&get("/ready")).status, 429);
    h.advance(Duration::from_millis(599));
    h.reconnect();
    assert_eq!(h.exchange(&get("/health")).status, 429);
    h.advance(Duration::from_millis(1));
    assert_eq!(h.exchange(&get("/health")).status, 200);
}

#[test]
fn probes_can_be_exempted() {
    let config = Config {
        rate_limit: 1,
        rate_limit_exempt: vec!["/health".into()],
        ..Config::default()
    };
    let mut h = HttpHarness::new(config, test_tools());
    for _ in 0..10 {
        assert_eq!(h.exchange(&get("/health")).status, 200);
    }
    assert_eq!(h.exchange(&get("/ready")).status, 200);
    assert_eq!(h.exchange(&get("/ready")).status, 429);
}

#[test]
fn forwarded_headers_count_only_from_trusted_proxies() {
    let proxy: Cidr = "127.0.0.0/8".parse().unwrap();
    let config = Config {
        rate_limit: 2,
        trusted_proxies: vec![proxy],
        ..Config::default()
    };
    let mut h = HttpHarness::new(config, test_tools());
    // Behind the trusted proxy, each real client has its own bucket.
    for client in ["198.51.100.1", "198.51.100.2"] {
        for _ in 0..2 {
            let request = get_from("/health", &format!("X-Forwarded-For: {client}\r\n"));
            assert_eq!(h.exchange(&request).status, 200);
        }
        let request = get_from("/health", &format!("X-Forwarded-For: {client}\r\n"));
        assert_eq!(h.exchange(&request).status, 429, "{client}");
    }
    // A spoofed left-most entry never changes the bucket: the proxy appended the real client.
    let spoofed = get_from("/health", "X-Forwarded-For: 203.0.113.9, 198.51.100.1\r\n");
    assert_eq!(h.exchange(&spoofed).status, 429);
    // Garbage falls back to the peer, which has its own bucket.
    let garbage = get_from("/health", "X-Forwarded-For: not-an-address\r\n");
    assert_eq!(h.exchange(&garbage).status, 200);
    // The log names the client the proxy forwarded for, and the peer when it forwarded none.
    let clients: Vec<Option<&str>> = h.logs.iter().map(|record| record.client.as_deref()).collect();
    assert_eq!(clients[0], Some("198.51.100.1"));
    assert_eq!(clients[3], Some("198.51.100.2"));
    assert_eq!(clients.last().copied().flatten(), Some("127.0.0.1"));
    // So do requests the limit does not count.
    let config = Config {
        rate_limit: 0,
        trusted_proxies: vec![proxy],
        ..Config::default()
    };
    let mut unlimited = HttpHarness::new(config, test_tools());
    unlimited.exchange(&get_from("/health", "X-Forwarded-For: 198.51.100.7\r\n"));
    assert_eq!(unlimited.logs[0].client.as_deref(), Some("198.51.100.7"));

    // From an untrusted peer the headers are ignored entirely.
    let config = Config {
        rate_limit: 2,
        ..Config::default()
    };
    let mut h = HttpHarness::new(config, test_tools());
    for i in 0..3 {
        let request = get_from("/health", &format!("X-Forwarded-For: 198.51.100.{i}\r\n"));
        let expected = if i < 2 { 200 } else { 429 };
        assert_eq!(h.exchange(&request).status, expected);
    }
}

#[test]
fn churning_addresses_keeps_the_table_bounded_and_buys_nothing() {
    let config = Config {
        rate_limit: 10,
        rate_limit_max_clients: 100,
        ..Config::default()
    };
    let mut h = HttpHarness::new(config, test_tools());
    let mut granted = 0;
    for i in 0..5_000u32 {
        let [a, b, c, d] = (0x0a00_0000 + i).to_be_bytes();
        h.conn = h.server.accept(format!("{a}.{b}.{c}.{d}"), Framing::Http, h.now);
        h.wire.clear();
        h.read = 0;
        if h.exchange(&get("/health")).status == 200 {
            granted += 1;
        }
        assert!(h.server.stats().rate_limited_clients <= 100);
    }
    // The first 100 addresses get buckets of their own (one request each here); the other
    // 4 900 share one overflow bucket of 10.
    assert_eq!(granted, 100 + 10);
}

#[test]
fn per_tool_limits_apply_over_stdio() {
    let config = Config {
        tool_rate_limits: [("echo".to_owned(), 2)].into_iter().collect(),
        ..Config::default()
    };
    let mut h = Harness::initialized(config);
    for id in 0..2 {
        let ok = h.call(id, "echo", json!({"text": "x"}));
        assert_eq!(ok["result"]["content"][0]["text"], "x");
    }
    let limited = h.call(2, "echo", json!({"text": "x"}));
    assert_eq!(error_code(&limited), -32006);
    assert_eq!(limited["error"]["message"], "Too many requests");
    // Other tools are not limited, and the tool recovers with time.
    assert!(h.call(3, "user.get@v1", json!({}))["result"].is_object());
    h.advance(Duration::from_secs(30));
    h.send(&tools_call(4, "echo", json!({"text": "again"})));
    h.run_calls();
    assert_eq!(h.responses()[0]["result"]["content"][0]["text"], "again");
}
