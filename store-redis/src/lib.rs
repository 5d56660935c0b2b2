//! A rampart shared store on Redis: the [`StoreBackend`] that lets every replica of a server
//! count one rate limit, serve every session and hear what the others publish, on tokio or
//! smol.
//!
//! This crate owns the connection to Redis and the layout of rampart's data in it; the core
//! decides what to ask and what a missing answer means. [`RedisStore::connect`] needs no
//! Redis at startup: it connects on the first request and reconnects on its own after an
//! outage, waiting between attempts from [`RedisSettings::min_backoff`], doubling up to
//! [`RedisSettings::max_backoff`]. Requests that run at the same time are pipelined on one
//! multiplexed connection, and each answers within [`RedisSettings::response_timeout`],
//! with an error while Redis is unreachable.
//!
//! [`StoreBackend::subscribe`] starts a task that holds a second connection, subscribed to
//! the channels it names, and hands every message to the core. When that connection drops, or
//! answers no `PING` after a [`heartbeat`](RedisSettings::heartbeat) of silence, the task
//! connects and subscribes again, waiting between attempts as above, for as long as the store
//! lives; it ends once the store and all its clones are dropped. Messages published while it
//! was disconnected are lost: Redis pub/sub keeps nothing for a subscriber that is away.
//!
//! The runtime is the one [`RedisStore::connect`] is called in: tokio inside a tokio runtime
//! (the subscriber task is spawned on that runtime, wherever `subscribe` is called), smol
//! anywhere else.
//!
//! # Data layout
//!
//! Every key and channel starts with [`RedisSettings::prefix`] (`rampart:` below); a key that
//! belongs to one client or one session carries a Redis Cluster hash tag.
//!
//! - **Rate limits.** One string per bucket, at the core's key in a hash tag: the bucket
//!   `rl:c:203.0.113.7` is stored at `rampart:{rl:c:203.0.113.7}`, and
//!   `rl:t:search:203.0.113.7` at `rampart:{rl:t:search:203.0.113.7}`. Its value is the
//!   bucket's GCRA theoretical arrival time, in microseconds since the Unix epoch on Redis's
//!   clock (`TIME`, so that the replicas' clocks do not matter), and it expires when the
//!   bucket is full again, so idle clients leave nothing behind (a missing key is a full
//!   bucket). A take decides as the core's local
//!   [`RateLimiter`](rampart_core::rate_limit::RateLimiter) does: a request at `t` passes
//!   when `TAT - t <= (burst - 1) × interval`, and then moves TAT on by `interval = 60 s /
//!   per_minute`. The interval is counted in whole microseconds, rounded up (exact for every
//!   rate that divides 60 000 000), and a full bucket may take at most 2⁵² µs (about 142
//!   years) to refill, so that the script's doubles count exactly.
//! - **Sessions.** One string per session at `rampart:{s:<id>}`, the record as the core wrote
//!   it (opaque JSON of a few hundred bytes; the id is the core's hex token), expiring after
//!   the session's time to live, which every load, save and touch renews. The ids of the live
//!   sessions are the members of one sorted set, `rampart:sessions`, each scored by its
//!   record's expiry in milliseconds since the Unix epoch on Redis's clock. An open first drops
//!   the members whose expiry has passed, then counts the rest against its `max`, so the set
//!   holds at most the largest `max` any replica opens with. Lifetimes are counted in whole
//!   milliseconds, rounded up, and may be at most 2⁴⁴ ms (about 557 years).
//! - **Stream events.** One list per session at `rampart:{ev:<id>}`: each entry a JSON
//!   array of an SSE event's id and its message, trimmed to the newest `max` the core asks
//!   for (its `Config::max_stream_queue`), expiring with the session.
//! - **Channels.** The core's channel `<channel>` is the Redis channel `rampart:ch:<channel>`,
//!   which stores nothing.
//!
//! Every operation is one round trip (plus two, `SCRIPT LOAD` and the run again, the first
//! time a script runs on a Redis that does not have it):
//!
//! | Operation | In Redis |
//! |---|---|
//! | `Take` | a script: `TIME`, `GET`, `SET PX` when it passes |
//! | `Ping` | `PING` |
//! | `OpenSession` | a script: `TIME`, `ZREMRANGEBYSCORE`, `ZCARD`, then, under the cap, `SET PX` and `ZADD` |
//! | `LoadSession` | a script: `GET`, then, if found, `PEXPIRE`, `TIME` and `ZADD` |
//! | `SaveSession` | a script: `SET XX PX`, then, if it existed, `TIME` and `ZADD` |
//! | `TouchSession` | a script: `PEXPIRE`, then, if it existed, `TIME` and `ZADD` |
//! | `CloseSession` | a pipeline: `DEL`, `ZREM` |
//! | `Publish` | `PUBLISH` |
//! | `AppendEvent` | a transaction: `RPUSH`, `LTRIM`, `PEXPIRE` |
//! | `ReadEvents` | `LRANGE` |
//!
//! The store talks to one Redis server (Redis 5 or later: the scripts read `TIME` before they
//! write). In Redis Cluster the sorted set would be one key, in one slot on one node, so that
//! the cap costs every initialize a round trip to that node, wherever its session's record
//! lives; and the session scripts, which write a record and the set together, would have to
//! be split into one step per slot.
//!
//! ```no_run
//! # fn attach(server: &std::sync::Arc<rampart_core::SharedServer>) -> Result<(), rampart_core::store::StoreError> {
//! use std::sync::Arc;
//! use rampart_redis::{RedisSettings, RedisStore};
//!
//! let store = RedisStore::connect("redis://127.0.0.1:6379", RedisSettings::default())?;
//! server.set_store(Arc::new(store));
//! # Ok(()) }
//! ```

#![forbid(unsafe_code, unused_must_use)]

mod backoff;
mod events;
mod gcra;
mod pubsub;
mod runtime;
mod sessions;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rampart_core::store::{StoreAnswer, StoreBackend, StoreConfig, StoreError, StoreFuture, StoreOp};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{RedisError, Script};

use crate::pubsub::Lifeline;
use crate::runtime::Runtime;

/// How a [`RedisStore`] names its keys, waits and reconnects; start from the default.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedisSettings {
    /// Put before every key and channel, so that servers sharing a Redis keep apart.
    pub prefix: String,
    /// How long one request may take, waiting for a connection included.
    pub response_timeout: Duration,
    /// How long one attempt to connect may take.
    pub connection_timeout: Duration,
    /// The shortest wait between two attempts to connect.
    pub min_backoff: Duration,
    /// The longest wait between two attempts to connect, random jitter included.
    pub max_backoff: Duration,
    /// How long a subscription may stay silent before its connection is checked with a
    /// `PING`, and how long that `PING` may take before the connection is replaced.
    pub heartbeat: Duration,
}

impl Default for RedisSettings {
    /// Returns the prefix `rampart:`, 250 ms timeouts (as `STORE_TIMEOUT_MS`), a backoff from
    /// 50 ms to 2 s, and a heartbeat of 5 s.
    fn default() -> Self {
        Self {
            prefix: "rampart:".into(),
            response_timeout: Duration::from_millis(250),
            connection_timeout: Duration::from_millis(250),
            min_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(2),
            heartbeat: Duration::from_secs(5),
        }
    }
}

/// A shared store on one Redis server; clones share its connections, and its subscriber
/// ends when the last clone is dropped.
#[derive(Clone)]
pub struct RedisStore {
    manager: ConnectionManager,
    shared: Arc<Shared>,
}

/// What every clone of a store shares.
struct Shared {
    /// Opens the subscriber's connections.
    client: redis::Client,
    scripts: Scripts,
    settings: RedisSettings,
    runtime: Runtime,
    /// Dropped with the last clone, it ends the subscriber.
    lifeline: Lifeline,
}

/// The store's Lua scripts, each run by its hash (`EVALSHA`) and loaded again if Redis lost
/// it.
struct Scripts {
    take: Script,
    open: Script,
    renew: Script,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The connection's own Debug would print the URL, password included.
        f.debug_struct("RedisStore")
            .field("prefix", &self.shared.settings.prefix)
            .field("timeout", &self.shared.settings.response_timeout)
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
        let runtime = Runtime::locate(settings.response_timeout);
        let manager = ConnectionManager::new_lazy_with_config(client.clone(), config).map_err(failed)?;
        let scripts = Scripts {
            take: Script::new(gcra::SOURCE),
            open: Script::new(sessions::OPEN),
            renew: Script::new(sessions::RENEW),
        };
        let shared = Shared {
            client,
            scripts,
            settings,
            runtime,
            lifeline: Lifeline::new(),
        };
        Ok(Self {
            manager,
            shared: Arc::new(shared),
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
            StoreOp::OpenSession { session, max } => {
                self.open_session(session, max).await.map(StoreAnswer::Opened)
            }
            StoreOp::LoadSession { id, ttl } => self.load_session(&id, ttl).await.map(StoreAnswer::Session),
            StoreOp::SaveSession(session) => self.save_session(session).await.map(|()| StoreAnswer::Done),
            StoreOp::TouchSession { id, ttl } => {
                self.touch_session(&id, ttl).await.map(|()| StoreAnswer::Done)
            }
            StoreOp::CloseSession { id } => self.close_session(&id).await.map(StoreAnswer::Closed),
            StoreOp::Publish { channel, message } => {
                self.publish(&channel, message).await.map(StoreAnswer::Delivered)
            }
            StoreOp::AppendEvent {
                session,
                event,
                message,
                max,
                ttl,
            } => self
                .append_event(&session, event, message, max, ttl)
                .await
                .map(|()| StoreAnswer::Done),
            StoreOp::ReadEvents { session } => self.read_events(&session).await.map(StoreAnswer::Events),
            _ => Err(StoreError::new("unsupported store operation")),
        }
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
        let shared = Arc::clone(&self.shared);
        Box::pin(async move {
            let limit = shared.settings.response_timeout;
            shared.runtime.within(limit, store.answer(op)).await
        })
    }

    /// Starts a task, on the runtime the store was created in, that hands the payload of every
    /// message on `channels` to `deliver`, and subscribes again after every outage (messages
    /// sent meanwhile are lost), until the store and all its clones are dropped.
    fn subscribe(&self, channels: Vec<String>, deliver: Box<dyn Fn(Vec<u8>) + Send + Sync>) {
        self.start_subscriber(channels, deliver);
    }
}

/// Turns a Redis error into a store error.
fn failed(error: RedisError) -> StoreError {
    StoreError::new(format!("redis: {error}"))
}
