//! The Redis store against a real `redis-server` (which must be on PATH): its decisions, one
//! bucket shared by two replicas, key expiry, and outages, on tokio and on smol.
//!
//! Nothing here measures speed: each call only has to answer within
//! [`BOUND`](support::BOUND).

mod support;

use std::time::{Duration, Instant};

use rampart_core::rate_limit::Decision;
use rampart_core::store::{StoreAnswer, StoreOp, Take};
use rampart_redis::{RedisSettings, RedisStore};
use support::{RedisServer, call, connect, on_tokio, wait_for_pong};

/// The bucket most tests take from.
const KEY: &str = "rl:c:203.0.113.7";

#[test]
fn a_hundred_takes_then_a_refusal_on_tokio() {
    on_tokio(a_hundred_takes_then_a_refusal);
}

#[test]
fn a_hundred_takes_then_a_refusal_on_smol() {
    smol::block_on(a_hundred_takes_then_a_refusal());
}

#[test]
fn two_replicas_share_one_bucket() {
    on_tokio(|| async {
        let server = RedisServer::start();
        let replicas = [connect(&server), connect(&server)];
        for taken in 0..100 {
            let decision = take(&replicas[taken % 2], KEY).await;
            assert!(decision.allowed, "take {taken}");
            assert_eq!(decision.remaining, 99 - taken as u32, "take {taken}");
        }
        for replica in &replicas {
            assert!(!take(replica, KEY).await.allowed);
        }
        let other = take(&replicas[0], "rl:t:search:203.0.113.7").await;
        assert_eq!(
            (other.allowed, other.remaining),
            (true, 99),
            "another key, another bucket"
        );
    });
}

#[test]
fn ping_answers_pong() {
    on_tokio(|| async {
        let server = RedisServer::start();
        assert_eq!(
            call(&connect(&server), StoreOp::Ping).await,
            Ok(StoreAnswer::Pong)
        );
    });
}

#[test]
fn an_outage_fails_fast_and_heals_on_tokio() {
    on_tokio(an_outage_fails_fast_and_heals);
}

#[test]
fn an_outage_fails_fast_and_heals_on_smol() {
    smol::block_on(an_outage_fails_fast_and_heals());
}

#[test]
fn a_store_starts_while_redis_is_down() {
    on_tokio(|| async {
        let mut server = RedisServer::stopped();
        let store = connect(&server);
        assert!(call(&store, StoreOp::Ping).await.is_err());
        server.restart();
        wait_for_pong(&store).await;
    });
}

#[test]
fn a_bad_url_is_refused_without_its_password() {
    for url in [
        "redis://user:hunter2@127.0.0.1:notaport",
        "http://user:hunter2@127.0.0.1:6379",
    ] {
        let error = RedisStore::connect(url, RedisSettings::default()).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("Redis URL"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
    }
}

/// 100 takes of a bucket of 100 a minute pass, counting down; the 101st waits one interval.
async fn a_hundred_takes_then_a_refusal() {
    let server = RedisServer::start();
    let store = connect(&server);
    let started = Instant::now();
    for taken in 0..100 {
        let decision = take(&store, KEY).await;
        assert!(decision.allowed, "take {taken}: {decision:?}");
        assert_eq!(
            (decision.limit, decision.remaining),
            (100, 99 - taken),
            "take {taken}"
        );
        assert_eq!(decision.retry_after, None);
        assert!(decision.reset <= Duration::from_secs(60));
        if taken == 0 {
            assert_eq!(
                decision.reset,
                Duration::from_millis(600),
                "one interval from full"
            );
        }
    }
    let refused = take(&store, KEY).await;
    let elapsed = started.elapsed();
    assert!(!refused.allowed, "{refused:?}");
    assert_eq!((refused.limit, refused.remaining), (100, 0));
    let wait = refused.retry_after.expect("a refusal says how long to wait");
    let interval = Duration::from_millis(600);
    assert!(
        wait <= interval && wait + elapsed >= interval,
        "{wait:?} after {elapsed:?}"
    );
    assert!(refused.reset <= Duration::from_secs(60) && refused.reset + elapsed >= Duration::from_secs(60));
    let ttl: i64 = server.query(redis::cmd("PTTL").arg(format!("rampart:{{{KEY}}}")));
    assert!(
        0 < ttl && ttl <= 60_000,
        "the bucket's key expires when it is full again: {ttl} ms"
    );
}

/// A store whose Redis dies answers errors, then answers again once Redis is back.
async fn an_outage_fails_fast_and_heals() {
    let mut server = RedisServer::start();
    let store = connect(&server);
    assert_eq!(call(&store, StoreOp::Ping).await, Ok(StoreAnswer::Pong));
    assert!(take(&store, KEY).await.allowed);
    server.kill();
    for _ in 0..3 {
        assert!(call(&store, StoreOp::Ping).await.is_err());
        assert!(call(&store, take_op(KEY)).await.is_err());
    }
    server.restart();
    wait_for_pong(&store).await;
    let decision = take(&store, KEY).await;
    assert_eq!(
        (decision.allowed, decision.remaining),
        (true, 99),
        "a new Redis, a new bucket"
    );
}

fn take_op(key: &str) -> StoreOp {
    StoreOp::Take(Take {
        key: key.into(),
        per_minute: 100,
        burst: 100,
    })
}

/// Takes a token of 100 a minute from `key`, which must succeed.
async fn take(store: &RedisStore, key: &str) -> Decision {
    match call(store, take_op(key)).await {
        Ok(StoreAnswer::Taken(decision)) => decision,
        other => panic!("a take answered {other:?}"),
    }
}
