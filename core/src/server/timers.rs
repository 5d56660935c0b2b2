//! The one timer table: every deadline the server keeps, with what expires then.
//!
//! Entries are keyed by `(deadline, timer)`, so the earliest comes first and arming the same
//! timer twice at the same moment is harmless. Whoever arms a timer remembers its deadline
//! to disarm it; a timer that fires after its owner is gone is ignored by the owner.

use std::collections::BTreeSet;
use std::time::Instant;

use super::ConnectionId;
use crate::handler::CallId;

/// What a deadline is for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Timer {
    /// A running handler's deadline.
    Call(CallId),
    /// A running handler's next progress heartbeat.
    Heartbeat(CallId),
    /// A connection's header, body or keep-alive deadline.
    Connection(ConnectionId),
    /// An HTTP session's idle expiry, by session id.
    Session(String),
    /// A request to the client that must be answered by then.
    ClientRequest(u64),
    /// A request to the shared store that must be answered by then.
    Store(u64),
    /// The next probe of the shared store's health.
    StoreProbe,
    /// The end of a shutdown's drain: what still runs is cut short.
    Drain,
}

/// Deadlines, earliest first.
#[derive(Debug, Default)]
pub(crate) struct Timers(BTreeSet<(Instant, Timer)>);

impl Timers {
    /// Arms `timer` at `at`.
    pub(crate) fn arm(&mut self, at: Instant, timer: Timer) {
        self.0.insert((at, timer));
    }

    /// Disarms `timer` armed at `at`; harmless if it is not armed.
    pub(crate) fn disarm(&mut self, at: Instant, timer: Timer) {
        self.0.remove(&(at, timer));
    }

    /// Returns the earliest deadline and what it is for.
    pub(crate) fn first(&self) -> Option<(Instant, &Timer)> {
        self.0.first().map(|(at, timer)| (*at, timer))
    }

    /// Removes and returns the earliest timer due at `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<Timer> {
        match self.0.first() {
            Some((at, _)) if *at <= now => self.0.pop_first().map(|(_, timer)| timer),
            _ => None,
        }
    }

    /// Returns how many timers are armed.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}
