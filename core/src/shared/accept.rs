//! The accept loops: the main listener's, which holds at `MAX_CONNECTIONS` (new connections
//! wait in the listen backlog) and backs off after a failed accept, and the metrics
//! listener's (`METRICS_ADDR`), whose connections serve only `/metrics` and the probes.

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Poll, Waker};
use std::time::Duration;

use super::SharedServer;
use super::runtime::{Listener, Runtime};
use super::serve::serve_connection;
use super::wait::race;
use crate::metrics::HostCounter;

/// How long an accept loop pauses after a failed accept.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Connections the metrics listener serves at once; more wait in its backlog.
const MAX_METRICS_CONNECTIONS: usize = 16;

/// The accept loop's parts.
pub(super) struct Accept<R, L> {
    pub(super) runtime: R,
    pub(super) shared: Arc<SharedServer>,
    pub(super) listener: L,
    pub(super) open: Arc<Open>,
    /// `MAX_CONNECTIONS`; 0 sets no limit.
    pub(super) max: usize,
    pub(super) stall: Duration,
    /// Whether its connections serve only `/metrics` and the probes.
    pub(super) metrics_only: bool,
}

impl<R: Runtime, L: Listener> Accept<R, L> {
    /// Accepts connections and starts their tasks until `until` resolves.
    pub(super) async fn until(&self, mut until: Pin<&mut impl Future<Output = ()>>) {
        loop {
            let mut waited = false;
            if self.max > 0 && self.open.count() >= self.max {
                // New connections wait in the listen backlog until one closes.
                let room = pin!(async {
                    self.open.below(self.max).await;
                    true
                });
                let stopping = pin!(async {
                    until.as_mut().await;
                    false
                });
                if !race(stopping, room).await {
                    return;
                }
                waited = true;
            }
            let mut accepting = pin!(self.listener.accept());
            // A connection accepted at once after a wait for room was waiting in the backlog.
            let at_once = if waited {
                poll_fn(|cx| Poll::Ready(accepting.as_mut().poll(cx))).await
            } else {
                Poll::Pending
            };
            let accepted = match at_once {
                Poll::Ready(accepted) => {
                    if accepted.is_ok() {
                        self.count(HostCounter::ConnectionsDeferred);
                    }
                    accepted
                }
                Poll::Pending => {
                    let stopping = pin!(async {
                        until.as_mut().await;
                        None
                    });
                    let accepting = pin!(async { Some(accepting.await) });
                    match race(stopping, accepting).await {
                        Some(accepted) => accepted,
                        None => return,
                    }
                }
            };
            match accepted {
                Ok((stream, peer)) => {
                    let connection = if self.metrics_only {
                        self.shared.accept_metrics(peer.to_string())
                    } else {
                        self.shared.accept(peer.to_string())
                    };
                    self.open.opened();
                    self.runtime.spawn(serve_connection::<R, _>(
                        Arc::clone(&self.shared),
                        connection,
                        stream,
                        self.stall,
                        Arc::clone(&self.open),
                    ));
                }
                // Out of descriptors or a connection reset before accept: keep serving.
                Err(_) => {
                    self.count(HostCounter::AcceptErrors);
                    R::sleep_until(R::now().instant + ACCEPT_BACKOFF).await;
                }
            }
        }
    }

    fn count(&self, counter: HostCounter) {
        self.shared.with(|server| server.count(counter, 1));
    }
}

/// The number of connections whose tasks run, and the accept loop's waker for when one ends.
#[derive(Debug, Default)]
pub(super) struct Open(Mutex<(usize, Option<Waker>)>);

impl Open {
    pub(super) fn count(&self) -> usize {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).0
    }

    pub(super) fn opened(&self) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).0 += 1;
    }

    pub(super) fn closed(&self) {
        let waker = {
            let mut open = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            open.0 = open.0.saturating_sub(1);
            open.1.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Resolves once fewer than `max` connections are open.
    async fn below(&self, max: usize) {
        poll_fn(|cx| {
            let mut open = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            if open.0 < max {
                return Poll::Ready(());
            }
            open.1 = Some(cx.waker().clone());
            Poll::Pending
        })
        .await;
    }
}

impl<R: Runtime, L: Listener> Accept<R, L> {
    /// The accept loop of the metrics listener (`METRICS_ADDR`), when there is one.
    pub(super) fn metrics(
        runtime: R,
        shared: &Arc<SharedServer>,
        listener: Option<L>,
        stall: Duration,
    ) -> Option<Self> {
        Some(Self {
            runtime,
            shared: Arc::clone(shared),
            listener: listener?,
            open: Arc::new(Open::default()),
            max: MAX_METRICS_CONNECTIONS,
            stall,
            metrics_only: true,
        })
    }
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn the_accept_loop_waits_for_room_and_is_woken_when_a_connection_ends() {
        let count = Arc::new(Count::default());
        let waker = Waker::from(Arc::clone(&count));
        let mut cx = Context::from_waker(&waker);
        let open = Open::default();
        open.opened();
        open.opened();
        assert_eq!(pin!(open.below(3)).poll(&mut cx), Poll::Ready(()));
        let mut below = pin!(open.below(2));
        assert_eq!(below.as_mut().poll(&mut cx), Poll::Pending);
        open.closed();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert_eq!(below.poll(&mut cx), Poll::Ready(()));
        assert_eq!(open.count(), 1);
    }
}
