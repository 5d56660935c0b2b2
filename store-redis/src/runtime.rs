//! The async runtime a store runs on, chosen where it is created as Redis chooses it: tokio
//! inside a tokio runtime, smol anywhere else.
//!
//! Every request has a deadline. On tokio it is a timer of its own (tokio's timer wheel makes
//! that cheap). On smol a timer per request costs async-io's reactor thread a wakeup, a
//! thread switch per request under load, so the requests of a store share one clock instead:
//! a task ticks every quarter of the response timeout, and a request gives up at the first
//! tick past its deadline.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use event_listener::Event;
use rampart_core::store::StoreError;

/// The runtime a store was created in: its timers, and where its background task runs.
#[derive(Debug, Clone)]
pub(crate) enum Runtime {
    /// The tokio runtime the store was created in.
    Tokio(tokio::runtime::Handle),
    /// smol's global executor, and the clock the store's requests share there.
    Smol(Arc<Ticker>),
}

/// A clock shared by a store's requests on smol: a count of ticks, and the event each tick
/// notifies.
#[derive(Debug)]
pub(crate) struct Ticker {
    ticks: AtomicU64,
    event: Event,
    period: Duration,
}

impl Ticker {
    fn now(&self) -> u64 {
        self.ticks.load(Ordering::Acquire)
    }

    /// Resolves at the first tick at or past `deadline`.
    async fn reach(&self, deadline: u64) {
        while self.now() < deadline {
            let listener = self.event.listen();
            if self.now() >= deadline {
                return;
            }
            listener.await;
        }
    }
}

/// Ticks `ticker` until the store is gone.
async fn tick(ticker: Weak<Ticker>, period: Duration) {
    loop {
        smol::Timer::after(period).await;
        let Some(ticker) = ticker.upgrade() else {
            return;
        };
        ticker.ticks.fetch_add(1, Ordering::AcqRel);
        ticker.event.notify(usize::MAX);
    }
}

impl Runtime {
    /// Returns the current tokio runtime, else smol with a clock for requests that must
    /// answer within `timeout`.
    pub(crate) fn locate(timeout: Duration) -> Self {
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => Self::Tokio(handle),
            Err(_) => {
                let period = (timeout / 4).max(Duration::from_millis(1));
                let ticker = Arc::new(Ticker {
                    ticks: AtomicU64::new(0),
                    event: Event::new(),
                    period,
                });
                smol::spawn(tick(Arc::downgrade(&ticker), period)).detach();
                Self::Smol(ticker)
            }
        }
    }

    /// Runs `work`, or fails once `limit` has passed.
    pub(crate) async fn within<T>(
        &self,
        limit: Duration,
        work: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let late = || {
            StoreError::new(format!(
                "no answer from Redis within {} ms (unreachable or slow)",
                limit.as_millis()
            ))
        };
        match self {
            Self::Tokio(_) => tokio::time::timeout(limit, work)
                .await
                .unwrap_or_else(|_| Err(late())),
            Self::Smol(ticker) => {
                // One tick more than the limit spans, since the current tick is under way.
                let ticks = limit.as_nanos().div_ceil(ticker.period.as_nanos().max(1));
                let deadline = ticker.now() + u64::try_from(ticks).unwrap_or(u64::MAX - 1) + 1;
                let expiry = async {
                    ticker.reach(deadline).await;
                    Err(late())
                };
                smol::future::or(work, expiry).await
            }
        }
    }

    /// Waits for `duration`.
    pub(crate) async fn sleep(&self, duration: Duration) {
        match self {
            Self::Tokio(_) => tokio::time::sleep(duration).await,
            Self::Smol(_) => {
                smol::Timer::after(duration).await;
            }
        }
    }

    /// Runs `task` in the background until it ends.
    pub(crate) fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        match self {
            Self::Tokio(handle) => drop(handle.spawn(task)),
            Self::Smol(_) => smol::spawn(task).detach(),
        }
    }
}
