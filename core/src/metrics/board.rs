//! The metrics of a server split into shards: each shard counts on a seat of its own, behind
//! a lock that only a scrape shares with it, and a scrape merges every seat.
//!
//! A shard takes its seat's lock once per counted request; the lock is its own (a cache line
//! of its own), so the shards never wait for one another there. A scrape, from whichever
//! shard renders it, takes each seat's lock in turn, one at a time, while it holds its own
//! shard: no lock is ever taken while a seat's lock is held, so no order of two can deadlock.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::{Counts, HostCounts};
use crate::server::Stats;

/// Every shard's seat, and the embedder's counts they share.
#[derive(Debug)]
pub(crate) struct Board {
    seats: Box<[Padded<Mutex<Place>>]>,
    host: HostCounts,
}

impl Board {
    /// Makes a board with `shards` seats.
    pub(crate) fn new(shards: usize) -> Arc<Self> {
        Arc::new(Self {
            seats: (0..shards.max(1)).map(|_| Padded(Mutex::default())).collect(),
            host: HostCounts::default(),
        })
    }

    /// Returns the embedder's counts every shard shares.
    pub(super) fn host(&self) -> HostCounts {
        self.host.clone()
    }

    fn place(&self, index: usize) -> Option<MutexGuard<'_, Place>> {
        #[cfg(test)]
        SEAT_LOCKS.with(|locks| {
            let mut locks = locks.borrow_mut();
            if locks.len() <= index {
                locks.resize(index + 1, 0);
            }
            locks[index] += 1;
        });
        let seat = self.seats.get(index)?;
        Some(seat.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

#[cfg(test)]
thread_local! {
    /// The seat locks the thread took, by seat, in tests.
    static SEAT_LOCKS: std::cell::RefCell<Vec<usize>> = std::cell::RefCell::default();
}

/// Returns the seat locks the thread took since the last call, by seat.
#[cfg(test)]
pub(crate) fn take_seat_locks() -> Vec<usize> {
    SEAT_LOCKS.with(|locks| locks.take())
}

/// What one seat holds: the shard's counts and its gauges as it last published them.
#[derive(Debug, Default)]
struct Place {
    counts: Counts,
    stats: Stats,
}

/// A value on a cache line of its own, so that two shards' seats never share one.
#[derive(Debug)]
#[repr(align(128))]
struct Padded<T>(T);

/// One shard's seat on a [`Board`].
#[derive(Debug)]
pub(super) struct Seat {
    board: Arc<Board>,
    index: usize,
    /// The gauges last published, so that unchanged ones take no lock.
    published: Stats,
}

impl Seat {
    pub(super) fn new(board: &Arc<Board>, index: usize) -> Self {
        Self {
            board: Arc::clone(board),
            index,
            published: Stats::default(),
        }
    }

    /// Runs `count` on the seat's counts.
    pub(super) fn counts(&self, count: impl FnOnce(&mut Counts)) {
        if let Some(mut place) = self.board.place(self.index) {
            count(&mut place.counts);
        }
    }

    /// Leaves the shard's gauges for the other shards' renders, if they changed.
    pub(super) fn publish(&mut self, stats: Stats) {
        if stats == self.published {
            return;
        }
        self.published = stats;
        if let Some(mut place) = self.board.place(self.index) {
            place.stats = stats;
        }
    }

    /// Returns every seat's counts merged, and the gauges summed: `own` for this shard (live),
    /// the published ones for the others.
    pub(super) fn merged(&self, own: Stats) -> (Counts, Stats) {
        let mut counts = Counts::default();
        let mut stats = own;
        for index in 0..self.board.seats.len() {
            let Some(place) = self.board.place(index) else {
                continue;
            };
            counts.merge(&place.counts);
            if index != self.index {
                stats = add(stats, place.stats);
            }
        }
        (counts, stats)
    }
}

/// Returns the sum of two shards' gauges and counters.
pub(crate) fn add(a: Stats, b: Stats) -> Stats {
    Stats {
        connections: a.connections + b.connections,
        running_calls: a.running_calls + b.running_calls,
        sessions: a.sessions + b.sessions,
        client_requests: a.client_requests + b.client_requests,
        rate_limited_clients: a.rate_limited_clients + b.rate_limited_clients,
        store_requests: a.store_requests + b.store_requests,
        store_failures: a.store_failures + b.store_failures,
        store_fallbacks: a.store_fallbacks + b.store_fallbacks,
        store_dropped: a.store_dropped + b.store_dropped,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{HostCounter, Metrics, Outcome, Request, Snapshot};
    use super::*;

    fn snapshot(connections: usize) -> Snapshot<'static> {
        Snapshot {
            stats: Stats {
                connections,
                ..Stats::default()
            },
            ready: true,
            draining: false,
            uptime_seconds: 1.0,
            server_name: "s",
            server_version: "1",
        }
    }

    fn echo() -> Request<'static> {
        Request {
            method: "tools/call",
            tool: Some("echo"),
            outcome: Outcome::Ok,
            code: None,
            status: Some(200),
            seconds: Some(0.001),
        }
    }

    #[test]
    fn a_render_from_any_shard_shows_every_shard() {
        let board = Board::new(2);
        let (mut a, mut b) = (Metrics::default(), Metrics::default());
        // Counted before the seat is taken: moved onto it.
        a.request(echo());
        a.host.add(HostCounter::AcceptErrors, 2);
        a.take_seat(&board, 0);
        b.take_seat(&board, 1);
        b.request(echo());
        b.request(echo());
        b.session_ended(3.0);
        b.host.add(HostCounter::AcceptErrors, 1);
        b.publish(Stats {
            connections: 5,
            sessions: 1,
            ..Stats::default()
        });
        let text = a.render(&snapshot(2));
        assert!(
            text.contains("rampart_tool_calls_total{tool=\"echo\",outcome=\"ok\"} 3\n"),
            "{text}"
        );
        assert!(text.contains("rampart_accept_errors_total 3\n"));
        assert!(text.contains("mcp_server_session_duration_seconds_count 1\n"));
        // Its own live gauges and the other shard's published ones.
        assert!(text.contains("rampart_connections 7\n"));
        assert!(text.contains("rampart_sessions 1\n"));
        assert_eq!(text, a.render(&snapshot(2)));
        let from_b = b.render(&snapshot(5));
        assert!(from_b.contains("rampart_connections 5\n"), "{from_b}");
        assert!(from_b.contains("tool=\"echo\",outcome=\"ok\"} 3\n"));
    }
}
