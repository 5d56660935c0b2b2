//! What the tests against a real `redis-server` (which must be on PATH) share: the server,
//! the runtimes, and calls with a deadline. Each test file uses a part of it.

#![allow(dead_code)]

use std::future::Future;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rampart_core::store::{StoreAnswer, StoreBackend, StoreError, StoreOp};
use rampart_redis::{RedisSettings, RedisStore};

/// How long one call may take before the test calls it hung.
pub const BOUND: Duration = Duration::from_secs(5);

/// A `redis-server` on a free local port, killed when dropped.
pub struct RedisServer {
    port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts a server and waits until it answers.
    pub fn start() -> Self {
        let mut server = Self::stopped();
        server.restart();
        server
    }

    /// Picks a free port with no server on it yet.
    pub fn stopped() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free local port");
        let port = listener.local_addr().expect("the port's address").port();
        Self { port, child: None }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server on its port (again) and waits until it answers.
    pub fn restart(&mut self) {
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
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Runs `command` on the server over a connection of its own.
    pub fn query<T: redis::FromRedisValue>(&self, command: &redis::Cmd) -> T {
        self.try_query(command).expect("redis-server answers")
    }

    pub fn try_query<T: redis::FromRedisValue>(&self, command: &redis::Cmd) -> redis::RedisResult<T> {
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

pub fn on_tokio<F: Future<Output = ()>>(body: impl FnOnce() -> F) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async { body().await });
}

pub fn connect(server: &RedisServer) -> RedisStore {
    RedisStore::connect(&server.url(), RedisSettings::default()).expect("a valid URL")
}

/// Runs `op` on `store`, failing the test if it takes longer than [`BOUND`].
pub async fn call(store: &RedisStore, op: StoreOp) -> Result<StoreAnswer, StoreError> {
    let hung = async {
        smol::Timer::after(BOUND).await;
        panic!("a store call took longer than {BOUND:?}");
    };
    smol::future::or(store.run(op), hung).await
}

/// Pings until the store answers, which it must within 15 s.
pub async fn wait_for_pong(store: &RedisStore) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while call(store, StoreOp::Ping).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "the store did not reconnect within 15 s"
        );
        smol::Timer::after(Duration::from_millis(50)).await;
    }
}

/// Checks `done` every 20 ms until it holds, which it must within `limit`; `what` names it.
pub async fn wait_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        smol::Timer::after(Duration::from_millis(20)).await;
    }
}
