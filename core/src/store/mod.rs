//! Shared state: what the core asks a store that every replica shares, and the answers it
//! takes back.
//!
//! With no store configured ([`StoreConfig::url`] unset) the core keeps everything in its own
//! process, as a single server always has. With one, the core asks it through the same kind
//! of exchange as a tool call, sans-IO: it emits [`Event::Store`](crate::Event::Store) with a
//! [`StoreRequest`], the embedder runs the request on its store, and reports the answer with
//! [`Server::store_reply`](crate::Server::store_reply). Every request has a deadline
//! ([`StoreConfig::timeout`]) that the core keeps on its own clock: a store that does not
//! answer in time counts as failing, and what the request was for is decided without it
//! ([`StoreFailure`]). While the store fails, the core stops asking it for requests and
//! probes it with [`StoreOp::Ping`] until it answers again.
//!
//! [`SharedServer`](crate::SharedServer) runs the requests on a [`StoreBackend`] (the
//! `rampart-redis` crate provides one for Redis).

mod config;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

pub use config::{StoreConfig, StoreFailure};

use crate::rate_limit::Decision;

/// Identifies one store request, for its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StoreId(pub(crate) u64);

impl fmt::Display for StoreId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "store-{}", self.0)
    }
}

/// A request to the shared store: run `op`, then report with
/// [`Server::store_reply`](crate::Server::store_reply) under `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct StoreRequest {
    /// What the answer is reported under.
    pub id: StoreId,
    /// What to do.
    pub op: StoreOp,
}

/// One operation on the shared store. New kinds may come in later versions.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreOp {
    /// Take one token from a rate-limit bucket shared by every replica; answered with
    /// [`StoreAnswer::Taken`].
    Take(Take),
    /// Check that the store answers; answered with [`StoreAnswer::Pong`].
    Ping,
    /// Store a new session, unless `max` sessions live already (the cap holds across
    /// replicas); answered with [`StoreAnswer::Opened`].
    OpenSession {
        /// The session.
        session: SessionWrite,
        /// Sessions that may live at once, counting every replica's.
        max: usize,
    },
    /// Read a session's record and renew its lifetime; answered with
    /// [`StoreAnswer::Session`] (`None` when it does not exist or expired).
    LoadSession {
        /// The session's id (`Mcp-Session-Id`).
        id: String,
        /// Its new time to live.
        ttl: Duration,
    },
    /// Replace a session's record and renew its lifetime, if it still exists; answered with
    /// [`StoreAnswer::Done`].
    SaveSession(SessionWrite),
    /// Renew a session's lifetime, if it still exists; answered with [`StoreAnswer::Done`].
    TouchSession {
        /// The session's id.
        id: String,
        /// Its new time to live.
        ttl: Duration,
    },
    /// Delete a session; answered with [`StoreAnswer::Closed`].
    CloseSession {
        /// The session's id.
        id: String,
    },
    /// Keep an SSE event of a session's stream, for a client that reconnects to another
    /// replica; answered with [`StoreAnswer::Done`].
    AppendEvent {
        /// The session's id.
        session: String,
        /// The event's id, as the client sees it.
        event: String,
        /// The event's JSON-RPC message.
        message: String,
        /// Events kept per session at most: the oldest go first.
        max: usize,
        /// How long the session's events are kept after the last one (the session's lifetime).
        ttl: Duration,
    },
    /// Read a session's kept events, oldest first; answered with [`StoreAnswer::Events`].
    ReadEvents {
        /// The session's id.
        session: String,
    },
    /// Send `message` to the replicas subscribed to `channel` (see
    /// [`StoreBackend::subscribe`]); answered with [`StoreAnswer::Delivered`].
    Publish {
        /// One of the channels a server names in
        /// [`Server::store_channels`](crate::Server::store_channels).
        channel: String,
        /// The message, as the core wrote it.
        message: String,
    },
}

/// A session record to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionWrite {
    /// The session's id (`Mcp-Session-Id`).
    pub id: String,
    /// What the core needs to serve it on any replica, as the core wrote it (opaque to the
    /// store).
    pub record: String,
    /// How long it lives unless renewed (the session idle timeout).
    pub ttl: Duration,
}

/// Takes one token from the GCRA bucket `key`: `per_minute` tokens a minute, `burst` at
/// once, as [`RateLimiter`](crate::rate_limit::RateLimiter) counts them, on the store's own
/// clock so that the replicas' clocks do not matter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Take {
    /// The bucket, e.g. `rl:c:203.0.113.7` for a client or `rl:t:search:203.0.113.7` for a
    /// client's calls of one tool; the store may prefix it with a namespace of its own.
    pub key: String,
    /// Tokens added per minute (at least 1).
    pub per_minute: u32,
    /// Tokens a full bucket holds (at least 1).
    pub burst: u32,
}

/// What the store answered.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreAnswer {
    /// The answer to [`StoreOp::Take`].
    Taken(Decision),
    /// The answer to [`StoreOp::Ping`].
    Pong,
    /// The answer to [`StoreOp::OpenSession`]: whether the session was stored (false: the
    /// cap is reached).
    Opened(bool),
    /// The answer to [`StoreOp::LoadSession`]: the session's record, if it lives.
    Session(Option<String>),
    /// The answer to [`StoreOp::SaveSession`], [`StoreOp::TouchSession`] and
    /// [`StoreOp::AppendEvent`].
    Done,
    /// The answer to [`StoreOp::CloseSession`]: whether the session existed.
    Closed(bool),
    /// The answer to [`StoreOp::Publish`]: how many replicas received the message.
    Delivered(u64),
    /// The answer to [`StoreOp::ReadEvents`]: `(event id, message)`, oldest first.
    Events(Vec<(String, String)>),
}

/// Why a store request failed: the store is unreachable, refused it, or answered nonsense.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(String);

impl StoreError {
    /// Creates an error that says what went wrong (it is logged, never sent to clients).
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// The future of one store request.
pub type StoreFuture = Pin<Box<dyn Future<Output = Result<StoreAnswer, StoreError>> + Send + 'static>>;

/// A shared store the [`SharedServer`](crate::SharedServer) runs store requests on.
///
/// Requests run concurrently: an implementation should pipeline them on one connection
/// rather than open one per request. It need not time them out: the core keeps each
/// request's deadline and drops a late answer.
pub trait StoreBackend: Send + Sync + 'static {
    /// Starts running `op`.
    fn run(&self, op: StoreOp) -> StoreFuture;

    /// Delivers every message published on `channels` (by any replica, this one included)
    /// to `deliver`, for as long as the backend lives, resubscribing after an outage.
    ///
    /// Called once per shard of the server when the backend is set (each shard acts as a
    /// replica of its own; with Redis, one pub/sub connection each). Without it (the default
    /// does nothing), the replicas share limits and sessions but not what happens in them: a
    /// session's changes, its end, announcements and answers to requests made on another
    /// replica.
    fn subscribe(&self, channels: Vec<String>, deliver: Box<dyn Fn(Vec<u8>) + Send + Sync>) {
        let _ = (channels, deliver);
    }
}
