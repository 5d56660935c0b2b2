//! The drain: readiness fails first ([`Server::begin_drain`]), then shutdown closes what is
//! idle and gives running calls until `DRAIN_TIMEOUT`, when they are answered with E_TIMEOUT
//! and every connection left is closed.

use super::timers::Timer;
use super::{ConnectionId, Server};
use crate::time::Now;

impl Server {
    /// Begins a drain: `/ready` answers 503 from now on, so that load balancers stop sending,
    /// while everything else is served as before. [`shutdown`](Self::shutdown) follows once
    /// `DRAIN_DELAY` has passed (the adapter waits it out, listener open).
    pub fn begin_drain(&mut self) {
        self.draining = true;
    }

    /// Begins a graceful shutdown: `/ready` turns 503, idle connections close now, busy ones
    /// after their current response; running calls may finish until `DRAIN_TIMEOUT`, when
    /// they are cancelled with E_TIMEOUT and every connection closes. Poll
    /// [`is_drained`](Self::is_drained).
    pub fn shutdown(&mut self, now: Now) {
        if self.stopping {
            return;
        }
        self.draining = true;
        self.stopping = true;
        self.timers
            .arm(now.instant + self.config.serving.drain_timeout, Timer::Drain);
        self.http_shutdown(now);
        self.ndjson_shutdown();
        self.settle(now);
    }

    /// Ends what the drain timeout cut short: calls still running are answered with
    /// E_TIMEOUT, then every connection left is closed.
    pub(super) fn drain_timed_out(&mut self, now: Now) {
        let message = format!(
            "The server shut down: the call ran past the drain timeout of {} ms",
            self.config.serving.drain_timeout.as_millis()
        );
        for call in self.calls.ids() {
            self.time_out_call(call, message.clone(), now);
        }
        let mut open: Vec<ConnectionId> = self.connections.keys().copied().collect();
        open.sort_unstable();
        for connection in open {
            self.close(connection, now);
        }
    }
}
