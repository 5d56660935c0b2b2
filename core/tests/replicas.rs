//! Replicas sharing one store, on a virtual clock: a session made on one is served by the
//! others, its changes and its end reach them all, the session cap holds across them, a
//! client's answer reaches the replica that asked (or is refused when it is gone), and an
//! announcement reaches the subscribers on every replica.

mod common;

use common::http::Response;
use common::store::ScriptedStore;
use common::world::{World, feature_registry, get_stream, initialize, post, request, sse_events};
use rampart_core::store::{StoreAnswer, StoreFailure, StoreOp};
use rampart_core::{Config, ConnectionId, Framing};
use serde_json::{Value, json};

/// Replicas, the store they share, and which of them are up.
struct Cluster {
    replicas: Vec<World>,
    up: Vec<bool>,
    store: ScriptedStore,
    /// A replica whose kept events never reach the store (its writes lag behind).
    lagging: Option<usize>,
}

fn config(max_sessions: usize, failure: StoreFailure) -> Config {
    let mut config = Config {
        max_sessions,
        // Limits are shared too (see tests/store.rs); here every request passes them.
        rate_limit: 10_000,
        ..Config::default()
    };
    config.store.url = Some("redis://scripted".into());
    config.store.failure = failure;
    config
}

impl Cluster {
    fn new(n: u8, config: Config) -> Self {
        let replicas = (0..n)
            .map(|i| World::seeded(config.clone(), feature_registry(), [i + 1; 32]))
            .collect();
        Self {
            replicas,
            up: vec![true; usize::from(n)],
            store: ScriptedStore::default(),
            lagging: None,
        }
    }

    /// Answers every store request but the publishes, until only those are left.
    fn pump_but_bulletins(&mut self) {
        for world in &mut self.replicas {
            loop {
                let (publishes, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut world.stores)
                    .into_iter()
                    .partition(|request| matches!(request.op, StoreOp::Publish { .. }));
                if rest.is_empty() {
                    world.stores = publishes;
                    break;
                }
                world.stores = publishes;
                for request in rest {
                    let answer = self.store.answer(&request.op, world.now.instant);
                    world.server.store_reply(request.id, answer, world.now);
                    world.pump();
                }
            }
        }
    }

    /// Answers every store request and delivers every bulletin until nothing moves.
    fn pump(&mut self) {
        loop {
            let mut deliveries = Vec::new();
            for i in 0..self.replicas.len() {
                if self.lagging == Some(i) {
                    self.replicas[i]
                        .stores
                        .retain(|request| !matches!(request.op, StoreOp::AppendEvent { .. }));
                }
                for request in std::mem::take(&mut self.replicas[i].stores) {
                    let now = self.replicas[i].now;
                    let answer = match &request.op {
                        StoreOp::Publish { channel, message } if !self.store.down => {
                            let to: Vec<usize> = (0..self.replicas.len())
                                .filter(|&j| {
                                    self.up[j] && self.replicas[j].server.store_channels().contains(channel)
                                })
                                .collect();
                            let receivers = to.len() as u64;
                            deliveries.push((to, message.clone()));
                            Ok(StoreAnswer::Delivered(receivers))
                        }
                        op => self.store.answer(op, now.instant),
                    };
                    self.replicas[i].server.store_reply(request.id, answer, now);
                    self.replicas[i].pump();
                }
            }
            if deliveries.is_empty() && self.replicas.iter().all(|world| world.stores.is_empty()) {
                return;
            }
            for (to, message) in deliveries {
                for j in to {
                    let world = &mut self.replicas[j];
                    world.server.store_message(message.as_bytes(), world.now);
                    world.pump();
                }
            }
        }
    }

    fn connect(&mut self, replica: usize) -> ConnectionId {
        self.replicas[replica].connect(Framing::Http)
    }

    fn send(&mut self, replica: usize, conn: ConnectionId, bytes: &[u8]) {
        self.replicas[replica].send(conn, bytes);
        self.pump();
    }

    /// Sends one request on a fresh connection to `replica` and returns its response.
    fn exchange(&mut self, replica: usize, bytes: &[u8]) -> Response {
        let conn = self.connect(replica);
        self.send(replica, conn, bytes);
        let mut responses = self.replicas[replica].responses(conn);
        assert_eq!(responses.len(), 1, "one response from replica {replica}");
        responses.remove(0)
    }

    /// Opens a session on `replica` for a client that declares `capabilities`.
    fn session(&mut self, replica: usize, capabilities: Value) -> String {
        let response = self.exchange(replica, &post(&initialize(0, capabilities).to_string(), None));
        assert_eq!(
            response.status,
            200,
            "{}",
            String::from_utf8_lossy(&response.body)
        );
        let id = response
            .header("mcp-session-id")
            .expect("a session id")
            .to_owned();
        let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        assert_eq!(
            self.exchange(replica, &post(&initialized.to_string(), Some(&id)))
                .status,
            202
        );
        id
    }
}

fn call(id: i64, method: &str, params: Value, session: &str) -> Vec<u8> {
    post(&request(id, method, params).to_string(), Some(session))
}

fn delete(session: &str) -> Vec<u8> {
    format!("DELETE /mcp HTTP/1.1\r\nHost: localhost\r\nMcp-Session-Id: {session}\r\nMCP-Protocol-Version: 2025-11-25\r\n\r\n")
        .into_bytes()
}

#[test]
fn a_session_made_on_one_replica_is_served_by_another_and_ends_everywhere() {
    let mut cluster = Cluster::new(3, config(100, StoreFailure::Open));
    let session = cluster.session(0, json!({}));
    assert_eq!(cluster.store.sessions(cluster.replicas[0].now.instant), 1);
    for replica in [1, 2] {
        let listed = cluster.exchange(replica, &call(1, "tools/list", json!({}), &session));
        assert_eq!(listed.status, 200);
        assert!(
            listed.json()["result"]["tools"]
                .as_array()
                .is_some_and(|tools| !tools.is_empty())
        );
    }
    assert_eq!(cluster.exchange(2, &delete(&session)).status, 204);
    assert_eq!(cluster.store.sessions(cluster.replicas[0].now.instant), 0);
    // Every replica that held it let it go.
    for replica in 0..3 {
        let gone = cluster.exchange(replica, &call(2, "tools/list", json!({}), &session));
        assert_eq!(gone.status, 404, "replica {replica}");
        assert_eq!(cluster.replicas[replica].server.stats().sessions, 0);
    }
    // An id no replica made is not found either.
    assert_eq!(
        cluster
            .exchange(1, &call(3, "tools/list", json!({}), "feedface"))
            .status,
        404
    );
}

#[test]
fn the_session_cap_holds_across_replicas() {
    let mut cluster = Cluster::new(3, config(2, StoreFailure::Open));
    let first = cluster.session(0, json!({}));
    cluster.session(1, json!({}));
    let refused = cluster.exchange(2, &post(&initialize(0, json!({})).to_string(), None));
    assert_eq!(refused.status, 503);
    assert_eq!(
        refused.json()["error"]["message"],
        "Service Unavailable: too many sessions"
    );
    assert!(refused.header("mcp-session-id").is_none());
    assert_eq!(
        cluster.replicas[2].server.stats().sessions,
        0,
        "no session is left behind"
    );
    assert_eq!(cluster.exchange(1, &delete(&first)).status, 204);
    cluster.session(2, json!({}));
}

#[test]
fn a_clients_answer_reaches_the_replica_that_asked_or_is_refused_when_it_is_gone() {
    let mut cluster = Cluster::new(3, config(100, StoreFailure::Open));
    let session = cluster.session(0, json!({"sampling": {}}));
    let conn = cluster.connect(1);
    cluster.send(
        1,
        conn,
        &call(
            7,
            "tools/call",
            json!({"name": "ask", "arguments": {"prompt": "hi"}}),
            &session,
        ),
    );
    let events = sse_events(&cluster.replicas[1].fresh(conn));
    let asked = &events[0].1;
    assert_eq!(asked["method"], "sampling/createMessage");
    let answer = json!({"jsonrpc": "2.0", "id": asked["id"], "result": {
        "role": "assistant", "content": {"type": "text", "text": "hello"}, "model": "m"}});
    // The answer lands on another replica, which passes it on.
    let accepted = cluster.exchange(2, &post(&answer.to_string(), Some(&session)));
    assert_eq!(accepted.status, 202);
    let events = sse_events(&cluster.replicas[1].fresh(conn));
    let result = events
        .iter()
        .find(|(_, message)| message["id"] == 7)
        .expect("the call's result");
    assert_eq!(result.1["result"]["content"][0]["text"], "hello");
    // The replica that asks next goes away before the answer comes.
    let conn = cluster.connect(1);
    cluster.send(
        1,
        conn,
        &call(
            8,
            "tools/call",
            json!({"name": "ask", "arguments": {"prompt": "again"}}),
            &session,
        ),
    );
    let asked = sse_events(&cluster.replicas[1].fresh(conn))[0].1.clone();
    cluster.up[1] = false;
    let answer = json!({"jsonrpc": "2.0", "id": asked["id"], "result": {
        "role": "assistant", "content": {"type": "text", "text": "late"}, "model": "m"}});
    let refused = cluster.exchange(2, &post(&answer.to_string(), Some(&session)));
    assert_eq!(refused.status, 400);
    let message = refused.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains("the replica that sent it may be gone"),
        "{message}"
    );
}

#[test]
fn an_announcement_reaches_subscribers_on_every_replica() {
    let mut cluster = Cluster::new(3, config(100, StoreFailure::Open));
    let session = cluster.session(0, json!({}));
    // The session's stream is held by one replica, its subscription made on another, and
    // the change announced by a handler on a third.
    let stream = cluster.connect(2);
    cluster.send(2, stream, &get_stream(&session, None));
    let subscribed = cluster.exchange(
        1,
        &call(1, "resources/subscribe", json!({"uri": "test://a"}), &session),
    );
    assert_eq!(subscribed.status, 200);
    let touched = cluster.exchange(
        0,
        &call(
            2,
            "tools/call",
            json!({"name": "touch", "arguments": {}}),
            &session,
        ),
    );
    assert_eq!(touched.status, 200);
    let events = sse_events(&cluster.replicas[2].fresh(stream));
    let updates: Vec<&Value> = events
        .iter()
        .map(|(_, message)| message)
        .filter(|message| message["method"] == "notifications/resources/updated")
        .collect();
    assert_eq!(updates.len(), 1, "{events:?}");
    assert_eq!(updates[0]["params"]["uri"], "test://a");
}

#[test]
fn a_new_session_when_the_store_fails_stays_on_its_replica_or_is_refused() {
    let mut open = Cluster::new(2, config(100, StoreFailure::Open));
    open.store.down = true;
    let session = open.session(0, json!({}));
    assert_eq!(
        open.exchange(0, &call(1, "tools/list", json!({}), &session))
            .status,
        200
    );
    let mut closed = Cluster::new(2, config(100, StoreFailure::Closed));
    // The replica learns of the outage from its first request to the store.
    closed.store.down = true;
    let refused = closed.exchange(0, &post(&initialize(0, json!({})).to_string(), None));
    assert_eq!(refused.status, 503);
    assert_eq!(closed.replicas[0].server.stats().sessions, 0);
}

/// The `notifications/resources/updated` events in `text`, with their ids.
fn updates(text: &str) -> Vec<String> {
    sse_events(text)
        .into_iter()
        .filter(|(_, message)| message["method"] == "notifications/resources/updated")
        .map(|(id, _)| id.expect("an event id"))
        .collect()
}

/// A `tools/call` of `touch`, which announces that `test://a` changed.
fn touch(id: i64, session: &str) -> Vec<u8> {
    call(
        id,
        "tools/call",
        json!({"name": "touch", "arguments": {}}),
        session,
    )
}

/// Opens a session on replica 0 subscribed (on replica 1) to `test://a`, whose stream on
/// replica 2 carries one update before the client loses it; returns the session and the
/// update's event id.
fn lose_a_stream(cluster: &mut Cluster) -> (String, String) {
    let session = cluster.session(0, json!({}));
    let subscribe = call(1, "resources/subscribe", json!({"uri": "test://a"}), &session);
    assert_eq!(cluster.exchange(1, &subscribe).status, 200);
    let stream = cluster.connect(2);
    cluster.send(2, stream, &get_stream(&session, None));
    assert_eq!(cluster.exchange(0, &touch(2, &session)).status, 200);
    let seen = updates(&cluster.replicas[2].fresh(stream));
    assert_eq!(seen.len(), 1);
    cluster.replicas[2].disconnect(stream);
    let seen = seen.into_iter().next().unwrap_or_default();
    (session, seen)
}

#[test]
fn a_client_that_resumes_its_stream_on_another_replica_gets_what_it_missed() {
    let mut cluster = Cluster::new(3, config(100, StoreFailure::Open));
    let (session, seen) = lose_a_stream(&mut cluster);
    // Two more updates come while the client has no stream.
    assert_eq!(cluster.exchange(0, &touch(3, &session)).status, 200);
    assert_eq!(cluster.exchange(1, &touch(4, &session)).status, 200);
    // It resumes on replica 1, which never held the stream: the two come first, once each.
    let resumed = cluster.connect(1);
    cluster.send(1, resumed, &get_stream(&session, Some(&seen)));
    let missed = updates(&cluster.replicas[1].fresh(resumed));
    assert_eq!(missed.len(), 2, "{missed:?}");
    let seq = |id: &str| {
        id.rsplit('-')
            .next()
            .and_then(|seq| seq.parse::<u64>().ok())
            .unwrap_or(0)
    };
    assert!(seq(&missed[0]) > seq(&seen) && seq(&missed[1]) > seq(&missed[0]));
    // The stream goes on from there, live.
    assert_eq!(cluster.exchange(2, &touch(5, &session)).status, 200);
    let live = updates(&cluster.replicas[1].fresh(resumed));
    assert_eq!(live.len(), 1);
    assert!(
        seq(&live[0]) > seq(&missed[1]),
        "ids keep growing: {live:?} after {missed:?}"
    );
}

#[test]
fn a_request_stream_is_replayed_by_another_replica() {
    let mut cluster = Cluster::new(2, config(100, StoreFailure::Open));
    let session = cluster.session(0, json!({}));
    let conn = cluster.connect(0);
    let params = json!({"name": "wait", "arguments": {}, "_meta": {"progressToken": "p"}});
    cluster.send(0, conn, &call(9, "tools/call", params, &session));
    let text = cluster.replicas[0].fresh(conn);
    let priming = text
        .lines()
        .find_map(|line| line.strip_prefix("id: "))
        .expect("a priming event id")
        .to_owned();
    let sent = sse_events(&text);
    assert_eq!(sent[0].1["method"], "notifications/progress");
    // The client reconnects to the other replica, after the priming event.
    let replayed = cluster.connect(1);
    cluster.send(1, replayed, &get_stream(&session, Some(&priming)));
    let events = sse_events(&cluster.replicas[1].fresh(replayed));
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].1["method"], "notifications/progress");
    assert_eq!(events[0].0, sent[0].0, "the same event, by the same id");
}

#[test]
fn a_change_is_answered_once_the_other_replicas_were_told() {
    let mut cluster = Cluster::new(2, config(100, StoreFailure::Open));
    let session = cluster.session(0, json!({}));
    let conn = cluster.connect(1);
    // Without pumping: the store has not answered yet.
    cluster.replicas[1].send(
        conn,
        &call(1, "resources/subscribe", json!({"uri": "test://a"}), &session),
    );
    cluster.pump_but_bulletins();
    assert!(
        cluster.replicas[1].responses(conn).is_empty(),
        "the answer waits for the bulletin"
    );
    assert!(cluster.replicas[1].stores.iter().any(
        |request| matches!(&request.op, StoreOp::Publish { message, .. } if message.contains("changed"))
    ));
    cluster.pump();
    assert_eq!(cluster.replicas[1].responses(conn).remove(0).status, 200);
}

#[test]
fn a_resume_elsewhere_gets_what_the_store_does_not_hold_yet() {
    let mut cluster = Cluster::new(3, config(100, StoreFailure::Open));
    let (session, seen) = lose_a_stream(&mut cluster);
    // The next update reaches replica 2, whose copy for the store is late.
    cluster.lagging = Some(2);
    assert_eq!(cluster.exchange(0, &touch(3, &session)).status, 200);
    let resumed = cluster.connect(1);
    cluster.send(1, resumed, &get_stream(&session, Some(&seen)));
    let missed = updates(&cluster.replicas[1].fresh(resumed));
    assert_eq!(
        missed.len(),
        1,
        "the update comes from replica 1's own copy: {missed:?}"
    );
}
