//! A log writer on a thread of its own: the serving side queues lines without ever blocking,
//! and a stderr that stops draining stalls only this thread.
//!
//! The queue holds at most a fixed number of bytes. Lines that do not fit are dropped and
//! counted; once the writer writes again, a WARNING line says how many were lost. At exit,
//! [`LogWriter::flush`] waits for the queue to be written, but never past its deadline.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// How many bytes of log lines wait for the writer at most.
pub const LOG_QUEUE_BYTES: usize = 4 * 1024 * 1024;

/// How long the writer thread, woken by a line, waits for more before it writes them.
const LINGER: Duration = Duration::from_millis(2);

/// How long a process waits at exit for its log lines to reach stderr.
pub const LOG_FLUSH_DEADLINE: Duration = Duration::from_secs(2);

/// Returns the process's stderr log writer, starting its thread on first use.
///
/// Every log line of the adapters goes through it (request logs, the "listening" and drain
/// lines, panics), so lines from different sources never interleave and a blocked stderr
/// blocks none of them. Should its thread fail to start, lines are written on the caller's
/// thread instead.
pub fn log_writer() -> &'static LogWriter {
    static WRITER: OnceLock<LogWriter> = OnceLock::new();
    WRITER.get_or_init(|| LogWriter::new(io::stderr(), LOG_QUEUE_BYTES))
}

/// A queue of log lines in front of a writer thread: the serving side queues lines without
/// ever blocking, and a sink that stops draining stalls only the thread.
///
/// The queue holds at most `capacity` bytes. Lines that do not fit are dropped, whole, and
/// counted; once the thread writes again, a WARNING line says how many were lost. A sink
/// that fails loses its lines the same way. At exit, [`flush`](Self::flush) waits for the
/// queue to be written, but never past its deadline.
pub struct LogWriter {
    queue: Arc<Queue>,
    /// The sink itself, when no thread could be started: written on the caller's thread.
    fallback: Option<Mutex<Box<dyn Write + Send>>>,
}

impl std::fmt::Debug for LogWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogWriter")
            .field("capacity", &self.queue.capacity)
            .field("threaded", &self.fallback.is_none())
            .finish_non_exhaustive()
    }
}

impl LogWriter {
    /// Starts a thread that writes queued lines to `sink`; at most `capacity` bytes wait.
    pub fn new(sink: impl Write + Send + 'static, capacity: usize) -> Self {
        let queue = Arc::new(Queue {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            capacity,
        });
        // The thread takes the sink from here; if it cannot start, the caller's thread does.
        let handoff: Arc<Mutex<Option<Box<dyn Write + Send>>>> = Arc::new(Mutex::new(Some(Box::new(sink))));
        let (thread_queue, thread_handoff) = (Arc::clone(&queue), Arc::clone(&handoff));
        let started = thread::Builder::new().name("rampart-log".into()).spawn(move || {
            let sink = thread_handoff
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            if let Some(sink) = sink {
                thread_queue.run(sink);
            }
        });
        let fallback = match started {
            Ok(_) => None,
            Err(_) => handoff
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take()
                .map(Mutex::new),
        };
        Self { queue, fallback }
    }

    /// Queues `lines` (whole JSON lines, each ending in a newline) without blocking, and
    /// returns how many of them were dropped because the queue was full.
    pub fn write_lines(&self, lines: &[u8]) -> u64 {
        if let Some(fallback) = &self.fallback {
            let mut sink = fallback.lock().unwrap_or_else(PoisonError::into_inner);
            let _ = sink.write_all(lines);
            return 0;
        }
        self.queue.push(lines)
    }

    /// Returns how many lines were dropped so far, because the queue was full or the sink
    /// failed.
    pub fn dropped(&self) -> u64 {
        self.queue.lock().dropped_total
    }

    /// Waits until every line queued so far is written, or `timeout` has passed; returns
    /// false if the deadline came first. Lines a failing sink lost count as written: nothing
    /// more can be done for them.
    pub fn flush(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.queue.lock();
        while state.has_work() || state.writing {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            state = self
                .queue
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }
}

/// Lets the writer thread end once it has written what is queued (it is not waited for).
impl Drop for LogWriter {
    fn drop(&mut self) {
        self.queue.lock().closed = true;
        self.queue.changed.notify_all();
    }
}

/// Queues what is written, without blocking; lines that do not fit are dropped. Write whole
/// lines: a line cut between two writes may be dropped in part.
impl Write for &LogWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_lines(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// What the serving side and the writer thread share.
#[derive(Debug)]
struct Queue {
    state: Mutex<State>,
    /// Signalled when lines are queued, and when the writer finished a batch.
    changed: Condvar,
    capacity: usize,
}

#[derive(Debug, Default)]
struct State {
    pending: Vec<u8>,
    /// The writer thread holds a batch it is writing.
    writing: bool,
    /// Lines dropped that no warning has told of yet.
    unreported: u64,
    dropped_total: u64,
    /// The last write failed: the warning waits for the next batch rather than retrying.
    failed: bool,
    /// The writer was dropped: the thread ends once nothing is left to write.
    closed: bool,
    /// The writer thread sleeps until lines come: only then does a push wake it.
    idle: bool,
}

impl State {
    /// Returns whether the writer thread has something to write.
    fn has_work(&self) -> bool {
        !self.pending.is_empty() || (self.unreported > 0 && !self.failed)
    }
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues the whole lines of `lines` that fit, drops the rest; returns how many lines
    /// were dropped.
    fn push(&self, lines: &[u8]) -> u64 {
        if lines.is_empty() {
            return 0;
        }
        let mut state = self.lock();
        let room = self.capacity.saturating_sub(state.pending.len());
        let fits = if lines.len() <= room {
            lines.len()
        } else {
            // Whole lines only: up to the last newline that fits.
            lines
                .get(..room)
                .and_then(|head| head.iter().rposition(|&b| b == b'\n'))
                .map_or(0, |end| end + 1)
        };
        let (kept, lost) = lines.split_at(fits);
        state.pending.extend_from_slice(kept);
        let dropped = count_lines(lost);
        state.unreported += dropped;
        state.dropped_total += dropped;
        // A thread that is awake takes these lines with the others: waking it for each line
        // would cost a switch of threads per request.
        let wake = state.idle;
        drop(state);
        if wake {
            self.changed.notify_all();
        }
        dropped
    }

    /// The writer thread: writes each batch as it comes, then a warning for lines lost.
    fn run(&self, mut sink: impl Write) {
        let mut batch = Vec::new();
        loop {
            let unreported = {
                let mut state = self.lock();
                state.writing = false;
                self.changed.notify_all();
                while !state.has_work() {
                    if state.closed {
                        return;
                    }
                    state.idle = true;
                    state = self.changed.wait(state).unwrap_or_else(PoisonError::into_inner);
                    state.idle = false;
                }
                // Woken by a first line: let the lines of the requests served meanwhile join
                // it, so that a busy server costs a write per batch rather than per line.
                if state.pending.len() < self.capacity / 8 && !state.closed {
                    state = (self.changed.wait_timeout(state, LINGER))
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
                std::mem::swap(&mut batch, &mut state.pending);
                state.writing = true;
                std::mem::take(&mut state.unreported)
            };
            let mut lost = 0;
            if !batch.is_empty() && write_all(&mut sink, &batch).is_err() {
                // A sink that fails (a closed stderr) loses the batch: counted like a drop.
                lost = count_lines(&batch);
            }
            let warned = lost == 0
                && (unreported == 0 || write_all(&mut sink, dropped_warning(unreported).as_bytes()).is_ok());
            let mut state = self.lock();
            state.dropped_total += lost;
            if !warned {
                state.unreported += unreported + lost;
            }
            state.failed = !warned;
            drop(state);
            batch.clear();
            if batch.capacity() > self.capacity {
                batch.shrink_to(self.capacity / 4);
            }
        }
    }
}

/// Writes and flushes `data`; an interrupted write is retried by `write_all`.
fn write_all(sink: &mut impl Write, data: &[u8]) -> io::Result<()> {
    sink.write_all(data)?;
    sink.flush()
}

fn count_lines(bytes: &[u8]) -> u64 {
    let newlines = bytes.iter().filter(|&&b| b == b'\n').count() as u64;
    // A last line without its newline is a line too.
    newlines + u64::from(bytes.last().is_some_and(|&b| b != b'\n'))
}

/// The WARNING line that tells of `dropped` lost lines, in the format of the request logs.
fn dropped_warning(dropped: u64) -> String {
    let line = serde_json::json!({
        "timestamp": crate::now().rfc3339(),
        "level": "WARNING",
        "message": "log lines dropped: stderr fell behind",
        "dropped": dropped,
    });
    format!("{line}\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// A sink that blocks every write until the test lets it go, and keeps what it got.
    struct Gated {
        open: mpsc::Receiver<()>,
        got: Arc<Mutex<Vec<u8>>>,
    }

    impl Write for Gated {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.open.recv().map_err(|_| io::ErrorKind::BrokenPipe)?;
            self.got.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn gated(capacity: usize) -> (LogWriter, mpsc::Sender<()>, Arc<Mutex<Vec<u8>>>) {
        let (tx, open) = mpsc::channel();
        let got = Arc::new(Mutex::new(Vec::new()));
        let sink = Gated {
            open,
            got: Arc::clone(&got),
        };
        (LogWriter::new(sink, capacity), tx, got)
    }

    #[test]
    fn lines_pass_through_in_order() {
        let (writer, open, got) = gated(1024);
        for _ in 0..10 {
            open.send(()).unwrap();
        }
        assert_eq!(writer.write_lines(b"{\"a\":1}\n"), 0);
        assert_eq!(writer.write_lines(b"{\"b\":2}\n{\"c\":3}\n"), 0);
        assert!(writer.flush(Duration::from_secs(5)));
        assert_eq!(&*got.lock().unwrap(), b"{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n");
        assert_eq!(writer.dropped(), 0);
    }

    #[test]
    fn a_blocked_sink_never_blocks_the_caller_and_drops_are_counted_then_reported() {
        let (writer, open, got) = gated(34);
        // The first batch is taken by the thread, which then blocks in its write.
        assert_eq!(writer.write_lines(b"first\n"), 0);
        let started = Instant::now();
        while !writer.queue.lock().pending.is_empty() && started.elapsed() < Duration::from_secs(5) {
            thread::sleep(Duration::from_millis(1));
        }
        // 34 bytes of queue: three 10-byte lines fit, the rest is dropped.
        let mut dropped = 0;
        for _ in 0..10 {
            dropped += writer.write_lines(b"123456789\n");
        }
        assert_eq!(dropped, 7);
        // Whole lines only: a batch that does not fit keeps its lines that do.
        assert_eq!(writer.write_lines(b"ab\ncd\n"), 1);
        assert_eq!(writer.dropped(), 8);
        assert!(!writer.flush(Duration::from_millis(50)), "the sink is blocked");
        for _ in 0..10 {
            open.send(()).unwrap();
        }
        assert!(writer.flush(Duration::from_secs(5)));
        let got = String::from_utf8(got.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = got.lines().collect();
        assert_eq!(
            &lines[..5],
            ["first", "123456789", "123456789", "123456789", "ab"]
        );
        let warning: serde_json::Value = serde_json::from_str(lines[5]).unwrap();
        assert_eq!(warning["level"], "WARNING");
        assert_eq!(warning["dropped"], 8);
        assert_eq!(lines.len(), 6);
    }

    #[test]
    fn a_failing_sink_loses_lines_without_blocking() {
        let (writer, open, _) = gated(1024);
        drop(open);
        for _ in 0..100 {
            writer.write_lines(b"line\n");
        }
        // The flush ends at once: the lines are lost and counted, and the warning fails too.
        assert!(writer.flush(Duration::from_secs(5)));
        let started = Instant::now();
        while writer.dropped() < 100 && started.elapsed() < Duration::from_secs(5) {
            thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(writer.dropped(), 100);
    }
}
