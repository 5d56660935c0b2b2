//! The exporter's thread: waits for a batch, encodes it, posts it, counts the outcome.

use std::io::{self, Write};
use std::mem;
use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use rampart_core::Now;
use rampart_core::trace::SpanRecord;
use serde_json::json;

use crate::encode::Encoder;
use crate::send::{Client, Failure};
use crate::{Queue, State, lock};

/// How often a failing export is reported on stderr at most.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// Everything the thread owns.
pub(crate) struct Worker {
    pub(crate) queue: Arc<Queue>,
    pub(crate) encoder: Encoder,
    pub(crate) client: Client,
    pub(crate) schedule_delay: Duration,
    pub(crate) export_timeout: Duration,
}

/// A batch to send, and the stop deadline when the exporter is stopping.
type Batch = (Vec<SpanRecord>, Option<Instant>);

impl Worker {
    /// Sends batches until the exporter stops.
    pub(crate) fn run(self) {
        let mut warnings = Warnings::default();
        while let Some((spans, stop)) = self.next_batch() {
            let count = spans.len() as u64;
            let body = self.encoder.encode(spans);
            let mut deadline = Instant::now() + self.export_timeout;
            if let Some(stop) = stop {
                deadline = deadline.min(stop);
            }
            match self.client.post(&body, deadline) {
                Ok(()) => {
                    self.queue.exported.fetch_add(count, Ordering::Relaxed);
                }
                Err(failure) => {
                    self.queue.failed_exports.fetch_add(1, Ordering::Relaxed);
                    warnings.failed(&failure);
                }
            }
        }
    }

    /// Waits for a full batch, for the oldest span's delay, or for a stop; `None` once
    /// stopping with nothing left to send in time (what is left is dropped and counted).
    fn next_batch(&self) -> Option<Batch> {
        let queue = &*self.queue;
        let mut state = lock(&queue.state);
        loop {
            let now = Instant::now();
            if let Some(stop) = state.stop {
                if state.spans.is_empty() || now >= stop {
                    let left = mem::take(&mut state.spans);
                    drop(state);
                    queue.dropped.fetch_add(left.len() as u64, Ordering::Relaxed);
                    return None;
                }
                return Some((self.take(&mut state), Some(stop)));
            }
            let due = state.oldest.map(|oldest| oldest + self.schedule_delay);
            if state.spans.len() >= queue.max_batch || due.is_some_and(|due| now >= due) {
                return Some((self.take(&mut state), None));
            }
            state = match due {
                Some(due) => unpoison(queue.wake.wait_timeout(state, due - now)).0,
                None => unpoison(queue.wake.wait(state)),
            };
        }
    }

    /// Takes up to a batch from the front; spans left behind keep their wait.
    fn take(&self, state: &mut MutexGuard<'_, State>) -> Vec<SpanRecord> {
        let count = state.spans.len().min(self.queue.max_batch);
        let spans: Vec<SpanRecord> = state.spans.drain(..count).collect();
        if state.spans.is_empty() {
            state.oldest = None;
        }
        spans
    }
}

/// Reports failures on stderr, at most once a minute.
#[derive(Default)]
struct Warnings {
    last: Option<Instant>,
    /// Failures since the last warning, that one included.
    failures: u64,
}

impl Warnings {
    fn failed(&mut self, failure: &Failure) {
        self.failures += 1;
        if self.last.is_some_and(|last| last.elapsed() < WARN_EVERY) {
            return;
        }
        let failures = mem::take(&mut self.failures);
        self.last = Some(Instant::now());
        warn(&format!(
            "span export failed: {failure} ({failures} failed export(s) since the last warning)"
        ));
    }
}

/// Writes a warning to stderr as a JSON log line.
pub(crate) fn warn(message: &str) {
    let now = Now::new(Instant::now(), SystemTime::now());
    let line = json!({"timestamp": now.rfc3339(), "level": "WARNING", "message": message});
    let _ = writeln!(io::stderr().lock(), "{line}");
}

fn unpoison<T>(result: Result<T, PoisonError<T>>) -> T {
    result.unwrap_or_else(PoisonError::into_inner)
}
