//! The Redis store against a real `redis-server` (which must be on PATH): its decisions, one
//! bucket shared by two replicas, key expiry, and outages, on tokio and on smol.
//!
//! Nothing here measures speed: each call only has to answer within [`BOUND`].

use std::future::Future;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rampart_core::rate_limit::Decision;
use rampart_core::store::{StoreAnswer, StoreBackend, StoreError, StoreOp, Take};
use rampart_redis::{RedisSettings, RedisStore};

/// How long one call may take before the test calls it hung.
const BOUND: Duration = Duration::from_secs(5);

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

/// A `redis-server` on a free local port, killed when dropped.
struct RedisServer {
    port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts a server and waits until it answers.
    fn start() -> Self {
        let mut server = Self::stopped();
        server.restart();
        server
    }

    /// Picks a free port with no server on it yet.
    fn stopped() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free local port");
        let port = listener.local_addr().expect("the port's address").port();
        Self { port, child: None }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server on its port (again) and waits until it answers.
    fn restart(&mut self) {
        let port = self.port.to_string();
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port,
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot run redis-server ({error}): these tests need it on PATH"));
        self.child = Some(child);
        let deadline = Instant::now() + BOUND;
        while self.try_query::<String>(&redis::cmd("PING")).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server on port {port} did not answer within {BOUND:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the server, if it runs.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Runs `command` on the server over a connection of its own.
    fn query<T: redis::FromRedisValue>(&self, command: &redis::Cmd) -> T {
        self.try_query(command).expect("redis-server answers")
    }

    fn try_query<T: redis::FromRedisValue>(&self, command: &redis::Cmd) -> redis::RedisResult<T> {
        let client = redis::Client::open(self.url())?;
        let mut connection = client.get_connection_with_timeout(Duration::from_secs(1))?;
        command.query(&mut connection)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn on_tokio<F: Future<Output = ()>>(body: impl FnOnce() -> F) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async { body().await });
}

fn connect(server: &RedisServer) -> RedisStore {
    RedisStore::connect(&server.url(), RedisSettings::default()).expect("a valid URL")
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

/// Runs `op` on `store`, failing the test if it takes longer than [`BOUND`].
async fn call(store: &RedisStore, op: StoreOp) -> Result<StoreAnswer, StoreError> {
    let hung = async {
        smol::Timer::after(BOUND).await;
        panic!("a store call took longer than {BOUND:?}");
    };
    smol::future::or(store.run(op), hung).await
}

/// Pings until the store answers, which it must within 15 s.
async fn wait_for_pong(store: &RedisStore) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while call(store, StoreOp::Ping).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "the store did not reconnect within 15 s"
        );
        smol::Timer::after(Duration::from_millis(50)).await;
    }
}
