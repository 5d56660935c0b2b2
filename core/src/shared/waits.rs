//! The wake-ups the shards share: the timer task's (a shard armed a deadline before the one it
//! sleeps until), the log task's (a shard has lines for it) and the drain's (a shard drained).
//!
//! A request reads two atomics here and writes nothing while the timer and log tasks are
//! busy or asleep on a later deadline: the deadline the timer sleeps until, and whether the
//! log task waits. Their cache lines stay shared by every core until one of those tasks
//! re-arms, so the read costs what a read of local memory does.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::task::Waker;
use std::time::Instant;

use super::wake;

/// No deadline armed.
const NONE: u64 = u64::MAX;

/// The shared wake-ups.
#[derive(Debug)]
pub(super) struct Waits {
    /// Deadlines are written as nanoseconds since this moment.
    base: Instant,
    /// The deadline the timer task sleeps until ([`NONE`] for none).
    armed: AtomicU64,
    timer: Mutex<Option<Waker>>,
    /// Whether the log task waits for lines: only then does a shard wake it.
    logs_waiting: AtomicBool,
    logs: Mutex<Option<Waker>>,
    drained: Mutex<Option<Waker>>,
}

impl Waits {
    pub(super) fn new(base: Instant) -> Self {
        Self {
            base,
            armed: AtomicU64::new(NONE),
            timer: Mutex::default(),
            logs_waiting: AtomicBool::new(false),
            logs: Mutex::default(),
            drained: Mutex::default(),
        }
    }

    /// Notes the deadline the timer task sleeps until.
    pub(super) fn arm(&self, at: Option<Instant>) {
        touches::write();
        self.armed.store(self.code(at), Ordering::SeqCst);
    }

    /// Returns whether `next` is before the deadline the timer task sleeps until (any
    /// deadline is, when it sleeps until none).
    pub(super) fn is_earlier(&self, next: Option<Instant>) -> bool {
        touches::read();
        self.code(next) < self.armed.load(Ordering::SeqCst)
    }

    /// Keeps the timer task's waker, for a deadline armed earlier than the one it sleeps
    /// until.
    pub(super) fn wait_timer(&self, waker: &Waker) {
        *lock(&self.timer) = Some(waker.clone());
    }

    /// Called by a shard after each step with its next deadline: wakes the timer task if it
    /// is before the armed one.
    pub(super) fn deadline_armed(&self, next: Option<Instant>) {
        if self.is_earlier(next) {
            wake(&mut lock(&self.timer));
        }
    }

    /// Keeps the log task's waker and notes that it waits; it looks for lines after this.
    pub(super) fn wait_logs(&self, waker: &Waker) {
        *lock(&self.logs) = Some(waker.clone());
        self.logs_waiting.store(true, Ordering::SeqCst);
    }

    /// Notes that the log task found lines and does not wait.
    pub(super) fn logs_found(&self) {
        self.logs_waiting.store(false, Ordering::SeqCst);
    }

    /// Called by a shard, under its lock, that left log lines: wakes the log task if it
    /// waits.
    pub(super) fn logs_written(&self) {
        touches::read();
        if self.logs_waiting.load(Ordering::SeqCst) && self.logs_waiting.swap(false, Ordering::SeqCst) {
            wake(&mut lock(&self.logs));
        }
    }

    /// Keeps the waker of the task waiting for the drain.
    pub(super) fn wait_drained(&self, waker: &Waker) {
        *lock(&self.drained) = Some(waker.clone());
    }

    /// Wakes the task waiting for the drain, which checks every shard.
    pub(super) fn wake_drained(&self) {
        wake(&mut lock(&self.drained));
    }

    fn code(&self, at: Option<Instant>) -> u64 {
        match at {
            Some(at) => {
                let nanos = at.saturating_duration_since(self.base).as_nanos();
                u64::try_from(nanos).unwrap_or(NONE - 1).min(NONE - 1)
            }
            None => NONE,
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    touches::write();
    // Nothing under these locks panics; were one poisoned, what it guards is still whole.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Counts, in tests, what the calling thread touches that other shards touch too, and which
/// shard locks it takes: the figures docs/scaling.md gives per request.
pub(super) mod touches {
    #[cfg(test)]
    use std::cell::RefCell;

    /// What one thread touched.
    #[cfg(test)]
    #[derive(Debug, Default, Clone, PartialEq, Eq)]
    pub(crate) struct Touches {
        /// Loads of a process-wide atomic.
        pub(crate) shared_reads: usize,
        /// Stores, swaps and lock acquisitions of process-wide state.
        pub(crate) shared_writes: usize,
        /// Lock acquisitions of each shard's state, by shard.
        pub(crate) shard_locks: Vec<usize>,
    }

    #[cfg(test)]
    thread_local! {
        static TOUCHES: RefCell<Touches> = RefCell::default();
    }

    /// Returns what the thread touched since the last call, and starts counting afresh.
    #[cfg(test)]
    pub(crate) fn take() -> Touches {
        TOUCHES.with(|touches| touches.take())
    }

    pub(in crate::shared) fn read() {
        #[cfg(test)]
        TOUCHES.with(|touches| touches.borrow_mut().shared_reads += 1);
    }

    pub(in crate::shared) fn write() {
        #[cfg(test)]
        TOUCHES.with(|touches| touches.borrow_mut().shared_writes += 1);
    }

    pub(in crate::shared) fn shard_lock(_shard: usize) {
        #[cfg(test)]
        TOUCHES.with(|touches| {
            let mut touches = touches.borrow_mut();
            if touches.shard_locks.len() <= _shard {
                touches.shard_locks.resize(_shard + 1, 0);
            }
            touches.shard_locks[_shard] += 1;
        });
    }
}
