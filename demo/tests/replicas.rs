//! Replicas that share rate limits through a real Redis, behind a real nginx that spreads
//! requests round-robin with no sticky sessions: the limits hold for the deployment, not per
//! replica; a Redis outage fails open or closed as configured, and the replicas share again
//! once Redis is back, without a restart. Requests carry their own `X-Request-Id`, so that
//! the replicas' logs tell who served each one.
//!
//! The MCP requests here are stateless 2026-07-28 ones, each whole wherever it lands: this
//! file is about the limits. The replicas share legacy sessions through the store too; the
//! clients that hold one across replicas are in `replica_clients.rs`. Every test client names
//! itself with `X-Forwarded-For`, which nginx extends and the replicas believe
//! (`TRUSTED_PROXIES=127.0.0.1`): each test counts against a bucket of its own, untouched by
//! the health checks that waited for the replicas to start.

mod support;

use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::cluster::{Cluster, HttpConnection, HttpResponse, RedisServer, Replicas, http_request};

/// How long a replica may take to see the store come or go in `/ready`.
const STORE_DEADLINE: Duration = Duration::from_secs(15);

#[test]
fn nginx_spreads_requests_over_every_replica() {
    let cluster = Cluster::start(3, "tokio", &[]);
    let mut conn = cluster.connect();
    let ids = request_ids("spread", 12);
    for id in &ids {
        let response = get(&mut conn, "/health", "198.51.100.1", id);
        assert_eq!(response.status, 200, "{id}: {}", response.dump());
        assert_eq!(
            response.header("x-request-id"),
            Some(id.as_str()),
            "{}",
            response.dump()
        );
    }
    cluster
        .replicas
        .assert_each_served_some(&ids, "12 requests on one connection to nginx");
}

#[test]
fn redis_starts_stops_and_restarts_on_its_port() {
    let mut redis = RedisServer::start();
    let port = redis.port();
    assert!(redis.answers_ping());
    assert_eq!(redis.url(), format!("redis://127.0.0.1:{port}"));
    redis.stop();
    assert!(!redis.answers_ping(), "stopped, yet it answers");
    redis.restart();
    assert_eq!(redis.port(), port);
    assert!(redis.answers_ping());
}

#[test]
fn rate_limit_is_global_across_replicas() {
    rate_limit_is_global("tokio");
}

#[test]
fn rate_limit_is_global_across_replicas_on_smol() {
    rate_limit_is_global("smol");
}

/// 100 requests a minute and 5 `echo` calls a minute per client, for the deployment: the
/// requests that reach every replica draw on one bucket.
fn rate_limit_is_global(runtime: &str) {
    let redis = RedisServer::start();
    let url = redis.url();
    // `/ready` is exempt only so that waiting for the store costs no tokens.
    let env = [
        ("REDIS_URL", url.as_str()),
        ("RATE_LIMIT", "100"),
        ("TOOL_RATE_LIMITS", "echo=5"),
        ("RATE_LIMIT_EXEMPT", "/ready"),
    ];
    let cluster = Cluster::start(3, runtime, &env);
    wait_for_store(&cluster.replicas, 200, "ok");
    let mut conn = cluster.connect();

    // 101 requests in a row on one keep-alive connection: a token comes back only every
    // 600 ms, so the 101st finds the shared bucket empty.
    let ids = request_ids("global", 101);
    let responses: Vec<HttpResponse> = ids
        .iter()
        .map(|id| get(&mut conn, "/health", "198.51.100.7", id))
        .collect();
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert!(
        statuses[..100].iter().all(|&s| s == 200) && statuses[100] == 429,
        "{runtime}: wanted 100 × 200 then 429, got {statuses:?}\n{}",
        cluster.replicas.logs_tail(10)
    );
    let refused = &responses[100];
    assert_eq!(refused.message()["error"]["code"], -32006, "{}", refused.dump());
    assert!(refused.header("retry-after").is_some(), "{}", refused.dump());
    cluster
        .replicas
        .assert_each_served_some(&ids[..100], "the 100 admitted requests");

    // Five `echo` calls a minute, whichever replica answers.
    let ids = request_ids("tool", 6);
    let calls: Vec<HttpResponse> = ids
        .iter()
        .zip(1..)
        .map(|(id, n)| echo(&mut conn, n, "198.51.100.8", id))
        .collect();
    for (n, call) in (1..).zip(&calls[..5]) {
        assert_eq!(call.status, 200, "{runtime}: call {n}: {}", call.dump());
        let text = &call.message()["result"]["content"][0]["text"];
        assert_eq!(text, &json!(format!("call {n}")), "{runtime}: {}", call.dump());
    }
    assert_eq!(
        calls[5].message()["error"]["code"],
        -32006,
        "{runtime}: the 6th call: {}",
        calls[5].dump()
    );
    cluster
        .replicas
        .assert_each_served_some(&ids[..5], "the 5 admitted echo calls");
}

#[test]
fn redis_outage_fails_open_or_closed_as_configured() {
    let mut redis = RedisServer::start();
    let url = redis.url();
    let env = |failure| {
        [
            ("REDIS_URL", url.as_str()),
            ("RATE_LIMIT", "100"),
            ("RATE_LIMIT_EXEMPT", "/health,/ready"),
            ("RATE_LIMIT_FAILURE", failure),
            ("STORE_TIMEOUT_MS", "200"),
        ]
    };
    let open = Cluster::start(3, "tokio", &env("open"));
    let closed = Cluster::start(3, "tokio", &env("closed"));
    for cluster in [&open, &closed] {
        wait_for_store(&cluster.replicas, 200, "ok");
    }
    assert_limit_shared(&open, "198.51.100.21", "open-before");
    assert_limit_shared(&closed, "198.51.100.22", "closed-before");

    redis.stop();

    // Open: every replica limits on its own, says so once, and stays ready.
    let ids = request_ids("open-outage", 6);
    let mut conn = open.connect();
    for (id, n) in ids.iter().zip(1..) {
        let call = echo(&mut conn, n, "198.51.100.23", id);
        assert_eq!(call.status, 200, "open, Redis down: {}", call.dump());
        assert!(call.message()["result"].is_object(), "{}", call.dump());
    }
    open.replicas
        .assert_each_served_some(&ids, "calls while Redis is down (open)");
    for (replica, server) in open.replicas.servers().iter().enumerate() {
        let logs = server.logs_once(has_store_warning);
        assert!(
            has_store_warning(&logs),
            "open replica {replica} logged no WARNING about the shared store\n{}",
            server.logs_tail(20)
        );
    }
    wait_for_store(&open.replicas, 200, "unreachable");

    // Closed: MCP requests are refused with 503 and the replicas are not ready.
    let ids = request_ids("closed-outage", 6);
    let mut conn = closed.connect();
    for (id, n) in ids.iter().zip(1..) {
        let call = echo(&mut conn, n, "198.51.100.24", id);
        assert_eq!(call.status, 503, "closed, Redis down: {}", call.dump());
        let error = &call.message()["error"];
        assert!(
            error["code"].is_i64() && error["message"].is_string(),
            "{}",
            call.dump()
        );
    }
    closed
        .replicas
        .assert_each_served_some(&ids, "calls while Redis is down (closed)");
    wait_for_store(&closed.replicas, 503, "unreachable");

    // Liveness never depends on Redis.
    for cluster in [&open, &closed] {
        for server in cluster.replicas.servers() {
            let health = http_request(server.port, "GET", "/health", &[], "").expect("GET /health");
            assert_eq!(health.status, 200, "{}", health.dump());
        }
    }

    // Back on the same port: the replicas find it on their own, and share again.
    redis.restart();
    for cluster in [&open, &closed] {
        wait_for_store(&cluster.replicas, 200, "ok");
    }
    assert_limit_shared(&open, "198.51.100.25", "open-after");
    assert_limit_shared(&closed, "198.51.100.26", "closed-after");
}

/// `prefix-1` to `prefix-n`: sane `X-Request-Id` tokens that the replicas log as given.
fn request_ids(prefix: &str, n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("{prefix}-{i}")).collect()
}

/// `GET path` from `client` (as nginx is told in `X-Forwarded-For`), under `request_id`.
fn get(conn: &mut HttpConnection, path: &str, client: &str, request_id: &str) -> HttpResponse {
    let headers = [("X-Forwarded-For", client), ("X-Request-Id", request_id)];
    conn.request("GET", path, &headers, "")
        .unwrap_or_else(|e| panic!("GET {path} ({request_id}): {e}"))
}

/// A stateless 2026-07-28 `tools/call` of `echo` with the text `call n`: the revision in
/// `MCP-Protocol-Version` and `_meta`, the method and tool in `Mcp-Method` and `Mcp-Name`.
fn echo(conn: &mut HttpConnection, n: i64, client: &str, request_id: &str) -> HttpResponse {
    let body = json!({"jsonrpc": "2.0", "id": n, "method": "tools/call", "params": {
        "name": "echo",
        "arguments": {"text": format!("call {n}")},
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {}
        }
    }});
    let headers = [
        ("Content-Type", "application/json"),
        ("Accept", "application/json, text/event-stream"),
        ("MCP-Protocol-Version", "2026-07-28"),
        ("Mcp-Method", "tools/call"),
        ("Mcp-Name", "echo"),
        ("X-Forwarded-For", client),
        ("X-Request-Id", request_id),
    ];
    conn.request("POST", "/mcp", &headers, &body.to_string())
        .unwrap_or_else(|e| panic!("POST /mcp echo ({request_id}): {e}"))
}

/// Nine calls from a new `client` through nginx answer 200, and their `RateLimit` headers
/// count down one bucket: a bucket per replica would leave at least 97 of 100 tokens after
/// three requests each, whatever the timing.
fn assert_limit_shared(cluster: &Cluster, client: &str, label: &str) {
    let ids = request_ids(label, 9);
    let mut conn = cluster.connect();
    let remaining: Vec<u64> = ids
        .iter()
        .zip(1..)
        .map(|(id, n)| {
            let call = echo(&mut conn, n, client, id);
            assert_eq!(call.status, 200, "{label}: {}", call.dump());
            remaining_of(&call).unwrap_or_else(|| panic!("{label}: no RateLimit header: {}", call.dump()))
        })
        .collect();
    cluster
        .replicas
        .assert_each_served_some(&ids, &format!("{label}: nine calls"));
    let lowest = remaining.iter().copied().min().unwrap_or(100);
    assert!(
        lowest < 97,
        "{label}: the replicas counted separately (remaining per call: {remaining:?})\n{}",
        cluster.replicas.logs_tail(10)
    );
}

/// The `r=` of a `RateLimit: "default";r=42;t=13` header.
fn remaining_of(response: &HttpResponse) -> Option<u64> {
    response
        .header("ratelimit")?
        .split(';')
        .find_map(|param| param.trim().strip_prefix("r="))?
        .parse()
        .ok()
}

/// Polls `GET /ready` on every replica until it answers `status` with `checks.store` equal
/// to `store`, for at most [`STORE_DEADLINE`] each.
fn wait_for_store(replicas: &Replicas, status: u16, store: &str) {
    for (replica, server) in replicas.servers().iter().enumerate() {
        let started = Instant::now();
        let mut last;
        loop {
            match http_request(server.port, "GET", "/ready", &[], "") {
                Ok(ready) if ready.status == status && ready.message()["checks"]["store"] == store => break,
                Ok(ready) => last = ready.dump(),
                Err(err) => last = err,
            }
            assert!(
                started.elapsed() < STORE_DEADLINE,
                "replica {replica}: /ready did not answer {status} with checks.store {store:?} within \
                 {STORE_DEADLINE:?}; last answer:\n{last}\n{}",
                server.logs_tail(20)
            );
            thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Whether `logs` has a WARNING line about the shared store.
fn has_store_warning(logs: &str) -> bool {
    logs.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .any(|line| {
            line["level"] == "WARNING"
                && line["message"]
                    .as_str()
                    .is_some_and(|message| message.contains("shared store"))
        })
}
