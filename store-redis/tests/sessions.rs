//! Sessions in the Redis store against a real `redis-server` (which must be on PATH): their
//! round trip, expiry and renewal, and the cap that every replica shares, on tokio and smol.

mod support;

use std::time::Duration;

use rampart_core::store::{SessionWrite, StoreAnswer, StoreOp};
use rampart_redis::RedisStore;
use support::{RedisServer, call, connect, on_tokio};

/// A lifetime no test outlives.
const LONG: Duration = Duration::from_secs(60);

/// A cap no test reaches.
const NO_CAP: usize = 1_000;

#[test]
fn a_session_round_trip_on_tokio() {
    on_tokio(a_session_round_trip);
}

#[test]
fn a_session_round_trip_on_smol() {
    smol::block_on(a_session_round_trip());
}

#[test]
fn sessions_expire_unless_renewed_on_tokio() {
    on_tokio(sessions_expire_unless_renewed);
}

#[test]
fn sessions_expire_unless_renewed_on_smol() {
    smol::block_on(sessions_expire_unless_renewed());
}

#[test]
fn two_stores_share_the_cap() {
    on_tokio(|| async {
        let server = RedisServer::start();
        let (one, two) = (connect(&server), connect(&server));
        assert!(open(&one, "s1", LONG, 2).await);
        assert!(open(&one, "s2", LONG, 2).await);
        assert!(
            !open(&two, "s3", LONG, 2).await,
            "the cap counts the other replica's"
        );
        assert!(!open(&one, "s3", LONG, 2).await);
        assert_eq!(load(&two, "s3").await, None, "a refused open stores nothing");
        assert!(close(&two, "s1").await, "one replica closes another's session");
        assert!(
            open(&two, "s3", LONG, 2).await,
            "a closed session frees its place"
        );
        assert!(!open(&one, "s4", LONG, 2).await);
        assert!(open(&one, "s4", LONG, 3).await, "the cap is the caller's");
        let members: u64 = server.query(redis::cmd("ZCARD").arg("rampart:sessions"));
        assert_eq!(members, 3);
    });
}

/// Open, load, save, touch and close one session; then a closed session stays closed.
async fn a_session_round_trip() {
    let server = RedisServer::start();
    let store = connect(&server);
    let pttl = |id: &str| -> i64 { server.query(redis::cmd("PTTL").arg(format!("rampart:{{s:{id}}}"))) };
    let score =
        |id: &str| -> Option<f64> { server.query(redis::cmd("ZSCORE").arg("rampart:sessions").arg(id)) };

    assert_eq!(load(&store, "a1").await, None, "an unknown session");
    assert!(open(&store, "a1", Duration::from_secs(30), NO_CAP).await);
    assert!((29_000..=30_000).contains(&pttl("a1")), "{}", pttl("a1"));
    let opened = score("a1").expect("an open session is in the set");
    assert_eq!(load(&store, "a1").await.as_deref(), Some(record("a1").as_str()));
    assert!(pttl("a1") > 59_000, "a load renews the record to 60 s");
    let loaded = score("a1").expect("a live session stays in the set");
    assert!(loaded >= opened + 29_000.0, "{opened} then {loaded}");

    let saved = SessionWrite {
        id: "a1".into(),
        record: r#"{"saved":true}"#.into(),
        ttl: Duration::from_secs(120),
    };
    assert_eq!(
        call(&store, StoreOp::SaveSession(saved)).await,
        Ok(StoreAnswer::Done)
    );
    assert!(pttl("a1") > 119_000, "a save renews the record to 120 s");
    assert_eq!(
        load_for(&store, "a1", Duration::from_secs(120)).await.as_deref(),
        Some(r#"{"saved":true}"#)
    );
    assert_eq!(
        touch(&store, "a1", Duration::from_secs(300)).await,
        StoreAnswer::Done
    );
    assert!(pttl("a1") > 299_000, "a touch renews the record to 300 s");
    assert!(score("a1").expect("still live") >= loaded + 239_000.0);

    assert!(close(&store, "a1").await);
    assert!(!close(&store, "a1").await, "a second close finds nothing");
    assert_eq!(load(&store, "a1").await, None);
    let late = SessionWrite {
        id: "a1".into(),
        record: record("a1"),
        ttl: LONG,
    };
    assert_eq!(
        call(&store, StoreOp::SaveSession(late)).await,
        Ok(StoreAnswer::Done)
    );
    assert_eq!(touch(&store, "a1", LONG).await, StoreAnswer::Done);
    assert_eq!(
        load(&store, "a1").await,
        None,
        "a save or touch does not bring a session back"
    );
    assert_eq!(pttl("a1"), -2, "no record");
    assert_eq!(score("a1"), None, "no member");
}

/// Sessions of 200 ms are gone 400 ms later, and free their place under the cap, unless
/// renewed.
async fn sessions_expire_unless_renewed() {
    let server = RedisServer::start();
    let store = connect(&server);
    let short = Duration::from_millis(200);
    assert!(open(&store, "brief", short, 2).await);
    assert!(open(&store, "renewed", short, 2).await);
    assert!(!open(&store, "third", short, 2).await);
    assert!(load(&store, "renewed").await.is_some(), "renewed to 60 s");
    smol::Timer::after(Duration::from_millis(400)).await;
    assert_eq!(load(&store, "brief").await, None, "an expired session");
    assert_eq!(touch(&store, "brief", LONG).await, StoreAnswer::Done);
    assert_eq!(
        load(&store, "brief").await,
        None,
        "a touch does not bring it back"
    );
    assert!(load(&store, "renewed").await.is_some());
    assert!(
        open(&store, "third", LONG, 2).await,
        "the expired session's place is free"
    );
    assert!(
        !open(&store, "fourth", LONG, 2).await,
        "the renewed one still counts"
    );
}

/// The record the tests store for session `id`.
fn record(id: &str) -> String {
    format!(r#"{{"id":"{id}","protocol":"2025-06-18"}}"#)
}

/// Opens session `id` under `max`; answers whether it was stored.
async fn open(store: &RedisStore, id: &str, ttl: Duration, max: usize) -> bool {
    let session = SessionWrite {
        id: id.into(),
        record: record(id),
        ttl,
    };
    match call(store, StoreOp::OpenSession { session, max }).await {
        Ok(StoreAnswer::Opened(opened)) => opened,
        other => panic!("an open answered {other:?}"),
    }
}

/// Loads session `id`, renewing it to [`LONG`].
async fn load(store: &RedisStore, id: &str) -> Option<String> {
    load_for(store, id, LONG).await
}

/// Loads session `id`, renewing it to `ttl`.
async fn load_for(store: &RedisStore, id: &str, ttl: Duration) -> Option<String> {
    match call(store, StoreOp::LoadSession { id: id.into(), ttl }).await {
        Ok(StoreAnswer::Session(record)) => record,
        other => panic!("a load answered {other:?}"),
    }
}

async fn touch(store: &RedisStore, id: &str, ttl: Duration) -> StoreAnswer {
    call(store, StoreOp::TouchSession { id: id.into(), ttl })
        .await
        .expect("a touch answers")
}

/// Closes session `id`; answers whether it existed.
async fn close(store: &RedisStore, id: &str) -> bool {
    match call(store, StoreOp::CloseSession { id: id.into() }).await {
        Ok(StoreAnswer::Closed(existed)) => existed,
        other => panic!("a close answered {other:?}"),
    }
}

#[test]
fn events_are_kept_newest_first_out_and_read_in_order() {
    on_tokio(|| async {
        let server = RedisServer::start();
        let store = connect(&server);
        let append = |n: u32| StoreOp::AppendEvent {
            session: "s1".into(),
            event: format!("4294967296-{n}"),
            message: format!("{{\"n\":{n}}}"),
            max: 3,
            ttl: Duration::from_secs(60),
        };
        for n in 1..=5 {
            assert_eq!(call(&store, append(n)).await, Ok(StoreAnswer::Done));
        }
        let read = call(&store, StoreOp::ReadEvents { session: "s1".into() }).await;
        let expected: Vec<(String, String)> = (3..=5)
            .map(|n| (format!("4294967296-{n}"), format!("{{\"n\":{n}}}")))
            .collect();
        assert_eq!(read, Ok(StoreAnswer::Events(expected)));
        let none = call(&store, StoreOp::ReadEvents { session: "s2".into() }).await;
        assert_eq!(none, Ok(StoreAnswer::Events(Vec::new())));
    });
}
