//! The few ways the driver waits, written with std futures only: a race of two futures, a
//! yield to the other tasks, and a flag one task raises for another.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::{Mutex, PoisonError};
use std::task::{Poll, Waker};

/// Polls `first`, then `second`, at each wake-up, and returns the output of the first of them
/// to finish. Nothing is allocated: both futures stay where the caller pinned them.
pub(super) fn race<T>(
    mut first: Pin<&mut impl Future<Output = T>>,
    mut second: Pin<&mut impl Future<Output = T>>,
) -> impl Future<Output = T> {
    poll_fn(move |cx| match first.as_mut().poll(cx) {
        Poll::Ready(output) => Poll::Ready(output),
        Poll::Pending => second.as_mut().poll(cx),
    })
}

/// A flag one task raises and one other task waits for.
#[derive(Debug, Default)]
pub(super) struct Signal(Mutex<(bool, Option<Waker>)>);

impl Signal {
    /// Raises the flag and wakes the task waiting for it.
    pub(super) fn raise(&self) {
        let waker = {
            let mut state = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            state.0 = true;
            state.1.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Resolves once the flag is raised.
    pub(super) async fn raised(&self) {
        poll_fn(|cx| {
            let mut state = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            if state.0 {
                return Poll::Ready(());
            }
            state.1 = Some(cx.waker().clone());
            Poll::Pending
        })
        .await;
    }
}

#[cfg(test)]
mod tests {
    use std::pin::pin;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Context, Wake};

    use super::*;

    /// A waker that counts its wake-ups.
    #[derive(Default)]
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn poll<T>(future: Pin<&mut impl Future<Output = T>>, count: &Arc<Count>) -> Poll<T> {
        let waker = Waker::from(Arc::clone(count));
        future.poll(&mut Context::from_waker(&waker))
    }

    #[test]
    fn race_returns_the_first_ready_and_polls_the_second_only_when_the_first_waits() {
        let count = Arc::new(Count::default());
        let mut polled = 0;
        let first = pin!(async { 1 });
        let second = pin!(async {
            polled += 1;
            2
        });
        assert_eq!(poll(pin!(race(first, second)), &count), Poll::Ready(1));
        assert_eq!(polled, 0);

        let first = pin!(std::future::pending());
        let second = pin!(async { 2 });
        assert_eq!(poll(pin!(race(first, second)), &count), Poll::Ready(2));
    }

    #[test]
    fn a_signal_wakes_its_waiter_once_raised_and_stays_raised() {
        let count = Arc::new(Count::default());
        let signal = Signal::default();
        let mut raised = pin!(signal.raised());
        assert_eq!(poll(raised.as_mut(), &count), Poll::Pending);
        signal.raise();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert_eq!(poll(raised, &count), Poll::Ready(()));
        assert_eq!(poll(pin!(signal.raised()), &count), Poll::Ready(()));
    }
}
