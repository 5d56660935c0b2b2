//! The log lines a [`SharedServer`] keeps for the adapter's log writer: taken in batches,
//! with a warning for the lines dropped while the writer fell behind.

use std::future::poll_fn;
use std::task::Poll;

use super::{SharedServer, State};
use crate::log::Level;

impl SharedServer {
    /// Waits for log lines (JSON, one per line), moves them into `lines`, which must be
    /// empty.
    ///
    /// Lines wait in a buffer of at most 4 MiB for the adapter's log writer; past that they
    /// are dropped and counted, and a warning with the count comes with the next batch.
    pub async fn logs(&self, lines: &mut Vec<u8>) {
        poll_fn(|cx| {
            let mut state = self.lock();
            if state.logs.is_empty() && state.dropped_logs == 0 {
                state.log_waker = Some(cx.waker().clone());
                return Poll::Pending;
            }
            self.take_lines(&mut state, lines);
            Poll::Ready(())
        })
        .await;
    }

    /// Takes whatever log lines are waiting (with the warning for dropped ones), without
    /// waiting; for a last flush.
    pub fn take_logs(&self) -> Vec<u8> {
        let mut lines = Vec::new();
        self.take_lines(&mut self.lock(), &mut lines);
        lines
    }

    pub(super) fn take_lines(&self, state: &mut State, lines: &mut Vec<u8>) {
        std::mem::swap(lines, &mut state.logs);
        let dropped = std::mem::take(&mut state.dropped_logs);
        if dropped > 0 {
            let warning = serde_json::json!({
                "timestamp": (self.clock)().rfc3339(),
                "level": Level::Warning,
                "message": "log lines dropped: the log writer fell behind",
                "dropped": dropped,
            });
            lines.extend_from_slice(warning.to_string().as_bytes());
            lines.push(b'\n');
        }
    }
}
