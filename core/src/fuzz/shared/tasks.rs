//! The tasks of the `shared` target's runtime: wakers that count their wake-ups, and the
//! gates that the `gated` and `chatty` calls wait on until an operation releases them.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Wake, Waker};

/// A task's waker, counting its wake-ups, and whether the task sleeps on it.
pub(super) struct Waiter {
    wakes: Arc<Wakes>,
    waker: Waker,
    /// The wake-up count when a poll last returned `Pending`; `None` after `Ready`.
    parked: Option<usize>,
}

impl Waiter {
    pub(super) fn new() -> Self {
        let wakes = Arc::new(Wakes::default());
        let waker = Waker::from(Arc::clone(&wakes));
        Self {
            wakes,
            waker,
            // A task not polled yet is due to run.
            parked: None,
        }
    }

    fn count(&self) -> usize {
        self.wakes.0.load(Ordering::SeqCst)
    }

    /// Polls `future` once with this waker (the futures of `SharedServer` are polled afresh
    /// each time: dropping one between polls loses nothing).
    pub(super) fn poll<F: Future>(&mut self, future: F) -> Poll<F::Output> {
        let mut future = pin!(future);
        let poll = future.as_mut().poll(&mut Context::from_waker(&self.waker));
        self.parked = poll.is_pending().then(|| self.count());
        poll
    }

    /// Returns whether the task waits in a poll and was not woken since.
    pub(super) fn asleep(&self) -> bool {
        self.parked == Some(self.count())
    }
}

#[derive(Default)]
struct Wakes(AtomicUsize);

impl Wake for Wakes {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// The gates the `gated` and `chatty` calls wait on, until an operation releases them.
#[derive(Default)]
pub(super) struct Gates(Mutex<Vec<Weak<Gate>>>);

impl Gates {
    pub(super) fn open(&self) -> Arc<Gate> {
        let gate = Arc::new(Gate::default());
        self.0.lock().expect("gates").push(Arc::downgrade(&gate));
        gate
    }

    /// Opens every closed gate if bit 7 of `arg` is set, else the one `arg` picks.
    pub(super) fn release(&self, arg: u8) {
        let closed: Vec<Arc<Gate>> = {
            let mut gates = self.0.lock().expect("gates");
            gates.retain(|gate| gate.strong_count() > 0);
            gates
                .iter()
                .filter_map(Weak::upgrade)
                .filter(|gate| !gate.open.load(Ordering::SeqCst))
                .collect()
        };
        if closed.is_empty() {
            return;
        }
        if arg & 0x80 == 0 {
            closed[usize::from(arg) % closed.len()].release();
        } else {
            closed.iter().for_each(|gate| gate.release());
        }
    }
}

/// A flag a call waits on; releasing it wakes the waker the call was last polled with.
#[derive(Default)]
pub(super) struct Gate {
    open: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Gate {
    fn release(&self) {
        self.open.store(true, Ordering::SeqCst);
        if let Some(waker) = self.waker.lock().expect("gate").take() {
            waker.wake();
        }
    }

    pub(super) async fn opened(&self) {
        poll_fn(|cx| {
            if self.open.load(Ordering::SeqCst) {
                return Poll::Ready(());
            }
            *self.waker.lock().expect("gate") = Some(cx.waker().clone());
            Poll::Pending
        })
        .await;
    }
}
