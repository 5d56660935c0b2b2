//! A rampart shared store on Redis: the [`StoreBackend`] that lets every replica of a server
//! count one rate limit, on tokio or smol.
//!
//! This crate owns the connection to Redis and the layout of rampart's data in it; the core
//! decides what to ask and what a missing answer means. [`RedisStore::connect`] needs no
//! Redis at startup: it connects on the first request and reconnects on its own after an
//! outage, waiting between attempts from [`RedisSettings::min_backoff`], doubling up to
//! [`RedisSettings::max_backoff`]. Requests that run at the same time are pipelined on one
//! multiplexed connection, and each answers within [`RedisSettings::response_timeout`],
//! with an error while Redis is unreachable.
//!
//! The runtime is the one [`RedisStore::connect`] is called in: tokio inside a tokio runtime,
//! smol anywhere else.
//!
//! # Data layout
//!
//! One string per rate-limit bucket, at the core's key wrapped in a Redis Cluster hash tag
//! behind [`RedisSettings::prefix`]: the bucket `rl:c:203.0.113.7` is stored at
//! `rampart:{rl:c:203.0.113.7}`, and `rl:t:search:203.0.113.7` at
//! `rampart:{rl:t:search:203.0.113.7}`. Its value is the bucket's GCRA theoretical arrival
//! time, in microseconds since the Unix epoch on Redis's clock (`TIME`, so that the replicas'
//! clocks do not matter), and it expires when the bucket is full again, so idle clients leave
//! nothing behind (a missing key is a full bucket).
//!
//! A take is one Lua script, one round trip, deciding as the core's local
//! [`RateLimiter`](rampart_core::rate_limit::RateLimiter) does: a request at `t` passes when
//! `TAT - t <= (burst - 1) × interval`, and then moves TAT on by `interval = 60 s /
//! per_minute`. The interval is counted in whole microseconds, rounded up (exact for every
//! rate that divides 60 000 000), and a full bucket may take at most 2⁵² µs (about 142 years)
//! to refill, so that the script's doubles count exactly. Requires Redis 5 or later.
//!
//! ```no_run
//! # fn attach(server: &rampart_core::SharedServer) -> Result<(), rampart_core::store::StoreError> {
//! use std::sync::Arc;
//! use rampart_redis::{RedisSettings, RedisStore};
//!
//! let store = RedisStore::connect("redis://127.0.0.1:6379", RedisSettings::default())?;
//! server.set_store(Arc::new(store));
//! # Ok(()) }
//! ```

#![forbid(unsafe_code, unused_must_use)]

mod gcra;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use rampart_core::rate_limit::Decision;
use rampart_core::store::{StoreAnswer, StoreBackend, StoreConfig, StoreError, StoreFuture, StoreOp, Take};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{RedisError, Script};

/// How a [`RedisStore`] names its keys, waits and reconnects; start from the default.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedisSettings {
    /// Put before every key, so that servers sharing a Redis keep apart.
    pub prefix: String,
    /// How long one request may take, waiting for a connection included.
    pub response_timeout: Duration,
    /// How long one attempt to connect may take.
    pub connection_timeout: Duration,
    /// The shortest wait between two attempts to connect.
    pub min_backoff: Duration,
    /// The longest wait between two attempts to connect, random jitter included.
    pub max_backoff: Duration,
}

impl Default for RedisSettings {
    /// Returns the prefix `rampart:`, 250 ms timeouts (as `STORE_TIMEOUT_MS`), and a backoff
    /// from 50 ms to 2 s.
    fn default() -> Self {
        Self {
            prefix: "rampart:".into(),
            response_timeout: Duration::from_millis(250),
            connection_timeout: Duration::from_millis(250),
            min_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(2),
        }
    }
}

/// A shared store on one Redis server; clones share its connection.
#[derive(Clone)]
pub struct RedisStore {
    manager: ConnectionManager,
    script: Arc<Script>,
    prefix: Arc<str>,
    timeout: Duration,
    runtime: Runtime,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The connection's own Debug would print the URL, password included.
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Creates a store for the Redis at `url` (`redis://[user:password@]host[:port][/db]`),
    /// without connecting yet; fails only when `url` is not a usable Redis URL.
    ///
    /// Call it inside the runtime that will run the store's requests.
    pub fn connect(url: &str, settings: RedisSettings) -> Result<Self, StoreError> {
        // Redis's messages about a URL never repeat its password, so none reaches a log.
        let client = redis::Client::open(url)
            .map_err(|error| StoreError::new(format!("not a usable Redis URL: {error}")))?;
        // Redis adds up to as much again in random jitter to each wait: cap the waits at half.
        let config = ConnectionManagerConfig::new()
            .set_min_delay(settings.min_backoff)
            .set_max_delay(settings.max_backoff / 2)
            .set_number_of_retries(usize::MAX)
            .set_response_timeout(Some(settings.response_timeout))
            .set_connection_timeout(Some(settings.connection_timeout));
        let runtime = Runtime::locate();
        let manager = ConnectionManager::new_lazy_with_config(client, config).map_err(failed)?;
        Ok(Self {
            manager,
            script: Arc::new(Script::new(gcra::SOURCE)),
            prefix: settings.prefix.into(),
            timeout: settings.response_timeout,
            runtime,
        })
    }

    /// Connects to the store `config` names (`REDIS_URL`), with its request deadline
    /// (`STORE_TIMEOUT_MS`) as the response timeout; `None` when no store is configured.
    ///
    /// Call it inside the runtime that will run the store's requests.
    pub fn from_config(config: &StoreConfig) -> Result<Option<Arc<dyn StoreBackend>>, StoreError> {
        let Some(url) = &config.url else {
            return Ok(None);
        };
        let settings = RedisSettings {
            response_timeout: config.timeout,
            connection_timeout: config.timeout,
            ..RedisSettings::default()
        };
        let store: Arc<dyn StoreBackend> = Arc::new(Self::connect(url, settings)?);
        Ok(Some(store))
    }

    /// Runs `op` to its answer.
    async fn answer(mut self, op: StoreOp) -> Result<StoreAnswer, StoreError> {
        match op {
            StoreOp::Take(take) => self.take(take).await.map(StoreAnswer::Taken),
            StoreOp::Ping => self.ping().await.map(|()| StoreAnswer::Pong),
            _ => Err(StoreError::new("unsupported store operation")),
        }
    }

    /// Takes one token from the bucket `take.key`, in one run of the GCRA script.
    async fn take(&mut self, take: Take) -> Result<Decision, StoreError> {
        let args = gcra::Args::new(&take)?;
        let key = format!("{}{{{}}}", self.prefix, take.key);
        let reply: gcra::Reply = self
            .script
            .key(key)
            .arg(args.interval_us)
            .arg(args.burst)
            .invoke_async(&mut self.manager)
            .await
            .map_err(failed)?;
        gcra::decision(take.per_minute, reply)
    }

    /// Checks that Redis answers `PING`.
    async fn ping(&mut self) -> Result<(), StoreError> {
        let pong: String = redis::cmd("PING")
            .query_async(&mut self.manager)
            .await
            .map_err(failed)?;
        if pong != "PONG" {
            return Err(StoreError::new(format!("Redis answered PING with {pong:?}")));
        }
        Ok(())
    }
}

impl StoreBackend for RedisStore {
    /// Starts running `op` on Redis; it answers within the response timeout.
    fn run(&self, op: StoreOp) -> StoreFuture {
        let store = self.clone();
        let (runtime, timeout) = (self.runtime, self.timeout);
        Box::pin(runtime.within(timeout, store.answer(op)))
    }
}

/// The async runtime the connection runs on, chosen as Redis chooses it.
#[derive(Debug, Clone, Copy)]
enum Runtime {
    Tokio,
    Smol,
}

impl Runtime {
    /// Returns tokio inside a tokio runtime, else smol.
    fn locate() -> Self {
        match tokio::runtime::Handle::try_current() {
            Ok(_) => Self::Tokio,
            Err(_) => Self::Smol,
        }
    }

    /// Runs `work`, or fails once `limit` has passed.
    async fn within<T>(
        self,
        limit: Duration,
        work: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let late = || {
            StoreError::new(format!(
                "no answer from Redis within {} ms (unreachable or slow)",
                limit.as_millis()
            ))
        };
        match self {
            Self::Tokio => tokio::time::timeout(limit, work)
                .await
                .unwrap_or_else(|_| Err(late())),
            Self::Smol => {
                let timer = async {
                    smol::Timer::after(limit).await;
                    Err(late())
                };
                smol::future::or(work, timer).await
            }
        }
    }
}

/// Turns a Redis error into a store error.
fn failed(error: RedisError) -> StoreError {
    StoreError::new(format!("redis: {error}"))
}
