//! Rate limits shared through a store, on a virtual clock with a scripted store: heads and
//! tool calls wait for the store's answer, replicas share one limit, and a store that fails
//! or stalls is decided without (`open`) or refused (`closed`) while `/ready` says so.

mod common;

use std::time::Duration;

use common::http::{HttpHarness, Response, get, post};
use common::store::ScriptedStore;
use common::test_tools;
use rampart_core::store::{StoreAnswer, StoreError, StoreFailure, StoreOp, StoreRequest};
use rampart_core::{Config, Level};
use serde_json::Value;

fn shared(failure: StoreFailure) -> Config {
    let mut config = Config::default();
    config.store.url = Some("redis://scripted".into());
    config.store.failure = failure;
    config
}

/// Answers every store request the harness holds from `store`.
fn serve(h: &mut HttpHarness, store: &mut ScriptedStore) {
    while !h.stores.is_empty() {
        for StoreRequest { id, op } in std::mem::take(&mut h.stores) {
            // One replica here: a bulletin reaches no other.
            let answer = match op {
                StoreOp::Publish { .. } => Ok(StoreAnswer::Delivered(0)),
                op => store.answer(&op, h.now.instant),
            };
            h.server.store_reply(id, answer, h.now);
            h.drain();
        }
        h.run_calls();
    }
}

/// Fails every store request the harness holds.
fn fail(h: &mut HttpHarness) {
    for request in std::mem::take(&mut h.stores) {
        h.server
            .store_reply(request.id, Err(StoreError::new("connection refused")), h.now);
        h.drain();
    }
}

/// Sends `request` and answers the store until its one response is out.
fn exchange(h: &mut HttpHarness, store: &mut ScriptedStore, request: &[u8]) -> Response {
    h.input(request);
    serve(h, store);
    h.run_calls();
    let mut responses = h.responses();
    assert_eq!(responses.len(), 1, "one response");
    responses.remove(0)
}

#[test]
fn a_head_waits_for_the_store_and_takes_its_decision() {
    let mut h = HttpHarness::new(shared(StoreFailure::Open), test_tools());
    let mut store = ScriptedStore::default();
    h.input(&get("/health"));
    assert!(h.responses().is_empty(), "nothing is answered before the store");
    assert_eq!(h.stores.len(), 1);
    serve(&mut h, &mut store);
    let response = h.responses().remove(0);
    assert_eq!(response.status, 200);
    assert!(
        response
            .header("RateLimit")
            .unwrap()
            .starts_with("\"default\";r=99;")
    );
    assert_eq!(store.takes(), ["rl:c:127.0.0.1"]);
    // The local limiter was never touched.
    assert_eq!(h.server.stats().rate_limited_clients, 0);
}

#[test]
fn replicas_sharing_a_store_share_one_limit() {
    let mut store = ScriptedStore::default();
    let mut replicas: Vec<HttpHarness> = (0..3)
        .map(|_| HttpHarness::new(shared(StoreFailure::Open), test_tools()))
        .collect();
    for i in 0..100 {
        let h = &mut replicas[i % 3];
        assert_eq!(
            exchange(h, &mut store, &get("/health")).status,
            200,
            "request {i}"
        );
    }
    let limited = exchange(&mut replicas[100 % 3], &mut store, &get("/health"));
    assert_eq!(limited.status, 429);
    assert_eq!(limited.json()["error"]["code"], -32006);
    assert_eq!(limited.header("Retry-After"), Some("1"));
    // Each replica alone saw about a third of them.
    assert!(replicas.iter().all(|h| h.server.stats().store_fallbacks == 0));
}

#[test]
fn pipelined_requests_behind_a_waiting_head_are_answered_in_order() {
    let mut h = HttpHarness::new(shared(StoreFailure::Open), test_tools());
    let mut store = ScriptedStore::default();
    let mut both = get("/health");
    both.extend_from_slice(&post(common::http::INITIALIZE, None));
    h.input(&both);
    assert_eq!(h.stores.len(), 1, "the second head waits behind the first");
    serve(&mut h, &mut store);
    let responses = h.responses();
    assert_eq!(responses.len(), 2);
    assert_eq!(responses[0].json()["status"], "alive");
    assert_eq!(responses[1].json()["result"]["protocolVersion"], "2025-11-25");
    assert_eq!(store.takes().len(), 2);
}

#[test]
fn a_store_that_stalls_is_decided_locally_and_skipped_until_a_probe_answers() {
    let mut h = HttpHarness::new(shared(StoreFailure::Open), test_tools());
    let mut store = ScriptedStore::default();
    h.input(&get("/health"));
    let stalled = std::mem::take(&mut h.stores);
    assert_eq!(stalled.len(), 1);
    // The deadline (250 ms) passes: the request is decided by this replica's own limiter.
    h.advance(Duration::from_millis(250));
    let response = h.responses().remove(0);
    assert_eq!(response.status, 200);
    let stats = h.server.stats();
    assert_eq!((stats.store_failures, stats.store_fallbacks), (1, 1));
    let warnings: Vec<_> = h.logs.iter().filter(|r| r.level == Level::Warning).collect();
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0]
            .message
            .contains("shared store unreachable (no answer within 250 ms)")
    );
    // The late answer changes nothing.
    h.server.store_reply(stalled[0].id, Ok(StoreAnswer::Pong), h.now);
    h.drain();
    assert!(h.responses().is_empty());
    // While the store is down, requests do not wait for it, and no more warnings come.
    h.stores.clear();
    for _ in 0..3 {
        let response = h.exchange(&get("/health"));
        assert_eq!(response.status, 200);
    }
    assert!(h.stores.is_empty());
    assert_eq!(h.server.stats().store_fallbacks, 4);
    assert_eq!(h.logs.iter().filter(|r| r.level == Level::Warning).count(), 1);
    // /ready reports it, and stays 200 when failing open; /health never looks at the store.
    let ready = h.exchange(&get("/ready"));
    assert_eq!(ready.status, 200);
    assert_eq!(ready.json()["checks"]["store"], "unreachable");
    // The probe a second later finds it back; the next request asks it again.
    h.advance(Duration::from_secs(1));
    assert_eq!(h.stores.len(), 1);
    assert_eq!(h.stores[0].op, StoreOp::Ping);
    serve(&mut h, &mut store);
    assert!(h.logs.last().unwrap().message.contains("reachable again"));
    h.input(&get("/health"));
    assert_eq!(h.stores.len(), 1, "limits are shared again");
    serve(&mut h, &mut store);
    assert_eq!(h.responses().remove(0).status, 200);
}

#[test]
fn failing_closed_refuses_with_503_and_fails_readiness_until_the_store_answers() {
    let mut store = ScriptedStore::default();
    // Probes exempt from the limit, as behind a load balancer that polls them.
    let config = Config {
        rate_limit_exempt: vec!["/health".into(), "/ready".into()],
        ..shared(StoreFailure::Closed)
    };
    let mut h = HttpHarness::new(config, test_tools());
    // Before the first probe is answered, the replica is not ready.
    h.advance(Duration::ZERO);
    assert_eq!(h.stores.len(), 1, "the first probe goes out at once");
    assert_eq!(h.stores[0].op, StoreOp::Ping);
    let not_yet = h.exchange(&get("/ready"));
    assert_eq!(not_yet.status, 503);
    assert_eq!(not_yet.json()["checks"]["store"], "connecting");
    fail(&mut h);
    let refused = exchange(&mut h, &mut store, &post(common::http::INITIALIZE, None));
    assert_eq!(refused.status, 503);
    assert_eq!(refused.header("Retry-After"), Some("1"));
    let body = refused.json();
    assert_eq!(body["error"]["code"], -32603);
    assert_eq!(
        body["error"]["message"],
        "Service Unavailable: the rate-limit store is unreachable"
    );
    assert!(store.takes().is_empty(), "a failing store is not asked");
    // Liveness does not depend on the store; readiness does.
    assert_eq!(h.exchange(&get("/health")).status, 200);
    let limited_probes = Config {
        rate_limit: 2,
        ..shared(StoreFailure::Closed)
    };
    let mut probes = HttpHarness::new(limited_probes, test_tools());
    probes.advance(Duration::ZERO);
    fail(&mut probes);
    // Probes a failing store would refuse are limited locally instead, and still limited.
    assert_eq!(probes.exchange(&get("/health")).status, 200);
    let ready = probes.exchange(&get("/ready"));
    assert_eq!(
        (ready.status, ready.json()["checks"]["store"].clone()),
        (503, "unreachable".into())
    );
    assert_eq!(probes.exchange(&get("/health")).status, 429);
    let ready = h.exchange(&get("/ready"));
    assert_eq!(ready.status, 503);
    assert_eq!(ready.json()["checks"]["store"], "unreachable");
    // The next probe finds it back: ready, and requests are limited through it again.
    h.advance(Duration::from_secs(1));
    serve(&mut h, &mut store);
    let ready = h.exchange(&get("/ready"));
    assert_eq!(ready.status, 200);
    assert_eq!(ready.json()["checks"]["store"], "ok");
    let init = exchange(&mut h, &mut store, &post(common::http::INITIALIZE, None));
    assert_eq!(init.status, 200);
    assert_eq!(store.takes(), ["rl:c:127.0.0.1"]);
}

#[test]
fn a_tool_limit_is_asked_of_the_store_before_the_call_starts() {
    let config = Config {
        tool_rate_limits: [("echo".to_owned(), 2)].into_iter().collect(),
        ..shared(StoreFailure::Open)
    };
    let mut h = HttpHarness::new(config, test_tools());
    let mut store = ScriptedStore::default();
    let init = exchange(&mut h, &mut store, &post(common::http::INITIALIZE, None));
    let session = init.header("Mcp-Session-Id").unwrap().to_owned();
    let call = |id: u32| {
        post(
            &format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"echo","arguments":{{"text":"x"}}}}}}"#
            ),
            Some(&session),
        )
    };
    h.input(&call(1));
    serve(&mut h, &mut store);
    assert!(h.calls.is_empty() && h.stores.is_empty());
    // The head's take, then the tool's: the call was not started before the second answer.
    let ops = store.takes();
    assert_eq!(ops[ops.len() - 2..], ["rl:c:127.0.0.1", "rl:t:echo:127.0.0.1"]);
    let first = h.responses().remove(0).json();
    assert_eq!(first["result"]["content"][0]["text"], "x");
    assert_eq!(exchange(&mut h, &mut store, &call(2)).status, 200);
    let limited = exchange(&mut h, &mut store, &call(3)).json();
    assert_eq!(limited["error"]["code"], -32006);
    assert_eq!(limited["id"], 3);
}

#[test]
fn a_client_that_leaves_while_the_store_decides_is_forgotten() {
    let mut h = HttpHarness::new(shared(StoreFailure::Open), test_tools());
    let mut store = ScriptedStore::default();
    h.input(&get("/health"));
    let conn = h.conn;
    h.server.handle_disconnect(conn, h.now);
    h.drain();
    serve(&mut h, &mut store);
    assert!(h.responses().is_empty());
    assert_eq!(h.server.stats().connections, 0);
    // A new connection is served as usual.
    h.reconnect();
    let response = exchange(&mut h, &mut store, &get("/health"));
    let body: Value = response.json();
    assert_eq!(body["status"], "alive");
}

#[test]
fn requests_nothing_waits_for_are_capped_while_the_store_stalls() {
    let mut config = shared(StoreFailure::Open);
    config.store.max_unanswered = 2;
    let mut h = HttpHarness::new(config, test_tools());
    for _ in 0..5 {
        h.server.notify(rampart_core::Notice::ToolsChanged, h.now);
        h.drain();
    }
    let publishes = h
        .stores
        .iter()
        .filter(|request| matches!(request.op, StoreOp::Publish { .. }))
        .count();
    assert_eq!(publishes, 2);
    let stats = h.server.stats();
    assert_eq!((stats.store_requests, stats.store_dropped), (2, 3));
    // Their deadlines pass: none is out any more, and the store counts as down until a
    // probe answers; then there is room again.
    h.stores.clear();
    h.advance(Duration::from_millis(250));
    assert_eq!(h.server.stats().store_requests, 1, "only the first probe is out");
    assert_eq!(h.stores.len(), 1);
    assert_eq!(h.stores[0].op, StoreOp::Ping);
    h.stores.clear();
    h.advance(Duration::from_secs(1));
    serve(&mut h, &mut ScriptedStore::default());
    h.server.notify(rampart_core::Notice::ToolsChanged, h.now);
    h.drain();
    assert_eq!(h.server.stats().store_dropped, 3);
    assert!(
        h.stores
            .iter()
            .any(|request| matches!(request.op, StoreOp::Publish { .. }))
    );
}
