//! The log lines a [`SharedServer`] keeps for the adapter's log writer: taken in batches,
//! with a warning for the lines dropped while the writer fell behind.

use std::future::poll_fn;
use std::task::Poll;

use super::SharedServer;
use crate::log::Level;

impl SharedServer {
    /// Waits for log lines (JSON, one per line), moves them into `lines`, which must be
    /// empty.
    ///
    /// Lines wait in buffers of at most 4 MiB over all shards (at least 512 KiB each) for
    /// the adapter's log writer; past that they are dropped and counted, and a warning with the count comes with the next batch.
    pub async fn logs(&self, lines: &mut Vec<u8>) {
        poll_fn(|cx| {
            // The waker first: a shard that leaves lines after the look below wakes it.
            self.waits.wait_logs(cx.waker());
            self.take_lines(lines);
            if lines.is_empty() {
                return Poll::Pending;
            }
            self.waits.logs_found();
            Poll::Ready(())
        })
        .await;
    }

    /// Takes whatever log lines are waiting (with the warning for dropped ones), without
    /// waiting; for a last flush.
    pub fn take_logs(&self) -> Vec<u8> {
        let mut lines = Vec::new();
        self.take_lines(&mut lines);
        lines
    }

    /// Moves every shard's lines into `lines`, shard by shard, and adds the warning for the
    /// lines dropped.
    fn take_lines(&self, lines: &mut Vec<u8>) {
        let mut dropped = 0;
        for shard in 0..self.shards.len() {
            let mut state = self.lock(shard);
            if lines.is_empty() {
                std::mem::swap(lines, &mut state.logs);
            } else {
                lines.extend_from_slice(&state.logs);
                state.logs.clear();
            }
            dropped += std::mem::take(&mut state.dropped_logs);
        }
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
