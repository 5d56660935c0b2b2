//! The server as one shard of several, for a [`SharedServer`](crate::SharedServer) that splits
//! its state: a shard serves the same definitions with the same settings and keys, draws from
//! a CSPRNG of its own, numbers its connections in a range of its own, counts its HTTP sessions
//! against one process-wide cap, and keeps its metrics where a scrape from any shard sees them.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use rand_core::RngCore;

use super::{ConnectionId, Server};
use crate::metrics::Board;
use crate::time::Now;

/// The bits of a connection id above which the shard's index is written.
const SHARD_SHIFT: u32 = 48;

impl Server {
    /// Splits this server into `count` shards: itself (shard 0) and `count - 1` new ones,
    /// returned in order. Each new shard gets a seed drawn from this server's CSPRNG, so all
    /// follow from the seed this one was given. With `count` ≤ 1 nothing changes.
    pub(crate) fn split(&mut self, count: usize, now: Now) -> Vec<Server> {
        if count <= 1 {
            return Vec::new();
        }
        let board = Board::new(count);
        let budget = Arc::new(AtomicUsize::new(0));
        self.join(&board, &budget, 0);
        (1..count)
            .map(|index| {
                let mut seed = [0u8; 32];
                self.rng.fill_bytes(&mut seed);
                let mut shard = self.sibling(seed, now);
                shard.join(&board, &budget, index);
                shard
            })
            .collect()
    }

    /// Returns the index of the shard that numbered `connection`.
    pub(crate) fn shard_of(connection: ConnectionId) -> usize {
        usize::try_from(connection.0 >> SHARD_SHIFT).unwrap_or(usize::MAX)
    }

    /// Leaves the shard's gauges where the other shards' scrapes read them; cheap when they
    /// did not change.
    pub(crate) fn publish_stats(&mut self) {
        if self.metrics.is_seated() {
            let stats = self.stats();
            self.metrics.publish(stats);
        }
    }

    /// A server like this one, drawing from `seed`: the same settings, definitions (shared),
    /// readiness checks, state key and start.
    fn sibling(&self, seed: [u8; 32], now: Now) -> Server {
        let mut shard = Server::new(self.config.clone(), crate::Registry::new(), seed, now);
        shard.registry = Arc::clone(&self.registry);
        shard.state_key = self.state_key.clone();
        shard.checks = self.checks.clone();
        shard.ready = self.ready;
        shard.draining = self.draining;
        shard.started = self.started;
        shard
    }

    /// Takes seat `index` of `board`, the process-wide session `budget`, and connection ids
    /// from `index << 48`.
    fn join(&mut self, board: &Arc<Board>, budget: &Arc<AtomicUsize>, index: usize) {
        self.metrics.take_seat(board, index);
        self.sessions.share_budget(Arc::clone(budget));
        let base = u64::try_from(index).unwrap_or(0) << SHARD_SHIFT;
        self.next_connection = self.next_connection.max(base);
    }
}
