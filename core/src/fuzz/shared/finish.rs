//! The end of a `shared` input: every connection closes, every call ends, and the server
//! drains.

use std::time::Duration;

use super::conn::{Conn, Phase};
use super::{MAX_ROUNDS, Run};

impl Run {
    /// Ends input everywhere, releases every call and lets every deadline pass: every
    /// connection must close and every spawned task end; after shutdown and every task's
    /// finish, the server must drain.
    pub(super) fn finish(mut self) {
        for round in 0..MAX_ROUNDS {
            self.gates.release(0x80);
            self.run_tasks(0x80);
            for conn in self.ids(Conn::runs) {
                self.write_done(conn);
                if self.conns[&conn].reads() {
                    self.eof(conn);
                }
                self.check();
            }
            let runnable = self.tasks.iter().any(|(_, waiter)| !waiter.asleep())
                || !self.spawned.lock().expect("spawner").is_empty();
            if self.ids(Conn::runs).is_empty() && !runnable {
                break;
            }
            if !runnable && round < MAX_ROUNDS / 2 {
                self.jump();
                self.check();
            } else if !runnable {
                // Heartbeats may keep the next deadline close for long: an hour at a time
                // passes every call's deadline in a few rounds.
                self.advance(Duration::from_secs(3600));
                self.check();
            }
        }
        let open = self.ids(Conn::runs);
        assert!(open.is_empty(), "connections never closed: {open:?}");
        assert!(
            self.tasks.is_empty(),
            "spawned calls never ended (or never woken)"
        );
        let stats = self.shared.with(|server| server.stats());
        assert_eq!(
            (stats.connections, stats.running_calls, stats.client_requests),
            (0, 0, 0),
            "the server still holds connections, calls or requests to clients"
        );

        self.shared.shutdown();
        let ended = self.ids(|conn| conn.phase == Phase::End);
        let was_drained = self.main.poll(self.shared.drained()).is_ready();
        assert!(
            was_drained == ended.is_empty(),
            "drained() before every task finished ({} left)",
            ended.len()
        );
        for conn in ended {
            self.shared.finish(conn);
        }
        assert!(
            was_drained || !self.main.asleep(),
            "the last finish() did not wake drained()"
        );
        assert!(
            self.main.poll(self.shared.drained()).is_ready(),
            "not drained after shutdown and every finish()"
        );
    }
}
