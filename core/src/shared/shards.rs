//! What a [`SharedServer`] does over all its shards: route a client to its shard, count them
//! all, fire their deadlines from one timer, and drain them together.

use std::future::poll_fn;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::sync::{Arc, Weak};
use std::task::Poll;
use std::time::{Duration, Instant};

use super::SharedServer;
use crate::handler::Outbox;
use crate::rate_limit::ClientKey;
use crate::server::{ConnectionId, Server, Stats};

/// How long the timer task of a sharded server sleeps at most.
pub const TIMER_TICK: Duration = Duration::from_secs(1);

impl SharedServer {
    /// Returns how many shards the state is split into.
    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// Runs `f` on every shard's server in turn, each under its lock; for configuration
    /// that every shard must see (readiness, announcements).
    pub fn with_each(&self, mut f: impl FnMut(&mut Server)) {
        for shard in 0..self.shards.len() {
            f(&mut self.lock(shard).server);
        }
    }

    /// Returns the counters of every shard, summed.
    pub fn stats(&self) -> Stats {
        let mut total = Stats::default();
        for shard in 0..self.shards.len() {
            total = crate::metrics::add(total, self.lock(shard).server.stats());
        }
        total
    }

    /// Returns the shard that serves `client`: its address's rate-limit key (an IPv4
    /// address, an IPv6 /64) picks it, so every connection a client opens, and everything the
    /// server keeps for it, lands in one shard; a label that is no address is hashed whole.
    pub fn shard_for(&self, client: &str) -> usize {
        let count = self.shards.len();
        if count == 1 {
            return 0;
        }
        let mut hasher = rustc_hash::FxHasher::default();
        match client.parse::<IpAddr>() {
            Ok(ip) => ClientKey::from_ip(ip).hash(&mut hasher),
            Err(_) => client.hash(&mut hasher),
        }
        // The high bits pick: multiply-shift, which FxHash's low bits would not do well.
        let picked = (u128::from(hasher.finish()) * count as u128) >> 64;
        usize::try_from(picked).unwrap_or(0)
    }

    /// Returns the shard that numbered `connection`.
    pub(super) fn shard_of(connection: ConnectionId) -> usize {
        Server::shard_of(connection)
    }

    /// Arms the adapter's timer: returns the next deadline over every shard, after which the
    /// timer task calls [`timeout`](Self::timeout).
    ///
    /// With several shards it is a second away at the latest (`TIMER_TICK`): a deadline
    /// further out then never wakes the timer task. Without the tick nearly every `tools/call`
    /// would, since its deadline (`TOOL_TIMEOUT_MS`, 30 s) comes before the connections'
    /// keep-alive ones (60 s), and the woken task would take every shard's lock to re-arm.
    /// With one shard it is the next deadline, as it always was.
    pub fn next_deadline(&self) -> Option<Instant> {
        let mut at = self.earliest();
        if self.shards.len() > 1 {
            let tick = (self.clock)().instant + TIMER_TICK;
            at = Some(at.map_or(tick, |at| at.min(tick)));
        }
        self.waits.arm(at);
        at
    }

    /// Resolves when a shard's next deadline moved before the one [`next_deadline`]
    /// returned.
    ///
    /// [`next_deadline`]: Self::next_deadline
    pub async fn deadline_changed(&self) {
        poll_fn(|cx| {
            // The waker first: a shard that arms an earlier deadline after the look below
            // finds it.
            self.waits.wait_timer(cx.waker());
            if self.waits.is_earlier(self.earliest()) {
                return Poll::Ready(());
            }
            Poll::Pending
        })
        .await;
    }

    /// Fires the deadlines that have passed, in every shard that has one.
    pub fn timeout(self: &Arc<Self>) {
        if self.shards.len() == 1 {
            return self.drive(0, None, |state, now| state.server.handle_timeout(now));
        }
        for shard in 0..self.shards.len() {
            let now = (self.clock)().instant;
            let due = self
                .lock(shard)
                .server
                .poll_timeout()
                .is_some_and(|timeout| timeout.at <= now);
            if due {
                self.drive(shard, None, |state, now| state.server.handle_timeout(now));
            }
        }
    }

    /// Begins a drain in every shard: `/ready` answers 503 while everything else is served;
    /// see [`Server::begin_drain`].
    pub fn begin_drain(&self) {
        self.with_each(Server::begin_drain);
    }

    /// Begins a graceful shutdown of every shard: see [`Server::shutdown`].
    pub fn shutdown(self: &Arc<Self>) {
        for shard in 0..self.shards.len() {
            self.drive(shard, None, |state, now| state.server.shutdown(now));
        }
    }

    /// Resolves once shutdown has begun, every connection of every shard has closed and
    /// every connection's task has finished writing.
    pub async fn drained(&self) {
        poll_fn(|cx| {
            self.waits.wait_drained(cx.waker());
            if (0..self.shards.len()).all(|shard| self.lock(shard).is_drained()) {
                return Poll::Ready(());
            }
            Poll::Pending
        })
        .await;
    }

    /// Called when a shard drained (after its lock is released): wakes the task waiting for
    /// the drain once every shard has drained.
    pub(super) fn shard_drained(&self) {
        let all = self.shards.len() == 1 || (0..self.shards.len()).all(|shard| self.lock(shard).is_drained());
        if all {
            self.waits.wake_drained();
        }
    }

    /// Returns the earliest deadline of every shard.
    fn earliest(&self) -> Option<Instant> {
        (0..self.shards.len())
            .filter_map(|shard| self.lock(shard).server.poll_timeout().map(|t| t.at))
            .min()
    }
}

/// Returns an outbox that hands a running handler's messages to its shard.
pub(super) fn outbox(shared: Weak<SharedServer>, shard: usize) -> Outbox {
    // Aligned, the outbox's reference count gets a cache line of its own: every call of the
    // shard clones it, and another shard's must not sit beside it.
    let target = Padded((shared, shard));
    Outbox::new(move |call, message| {
        let Padded((shared, shard)) = &target;
        if let Some(shared) = shared.upgrade() {
            shared.call_message(*shard, call, message);
        }
    })
}

/// A value on a cache line of its own.
#[repr(align(128))]
struct Padded<T>(T);
