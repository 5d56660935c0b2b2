//! The shared store, seen from the shared server: the backend store requests run on, the one
//! task that starts them in the order the core asked and feeds their answers back, and the
//! subscription to the server's channels.
//!
//! One task, not one per request: a backend that pipelines requests on one connection sends
//! them in the order their futures are first polled, and a session's kept events, or a
//! session saved and then announced, must reach the store in the order the core asked.

use std::collections::VecDeque;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};
use std::task::{Poll, Waker};

use futures_util::stream::{FuturesUnordered, StreamExt};

use super::SharedServer;
use crate::store::{StoreAnswer, StoreBackend, StoreError, StoreId, StoreRequest};

/// A store request under way, with the id its answer is reported under.
type Running = Pin<Box<dyn Future<Output = (StoreId, Result<StoreAnswer, StoreError>)> + Send>>;

/// The backend, and the requests the core asked that its task has not started yet.
pub(super) struct Store {
    backend: Arc<dyn StoreBackend>,
    queue: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    requests: VecDeque<StoreRequest>,
    waker: Option<Waker>,
}

impl Store {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        // Nothing under this lock panics; were it poisoned, the queue is still whole.
        self.queue.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl SharedServer {
    /// Sets the shared store that store requests run on (once; a second call is ignored),
    /// starts the task that runs them, and subscribes to the server's channels on it.
    ///
    /// Without one, a server configured with a store sees every store request fail, and
    /// limits as `RATE_LIMIT_FAILURE` says.
    pub fn set_store(self: &Arc<Self>, backend: Arc<dyn StoreBackend>) {
        let store = Arc::new(Store {
            backend: Arc::clone(&backend),
            queue: Mutex::default(),
        });
        if self.store.set(Arc::clone(&store)).is_err() {
            return;
        }
        (self.spawn)(Box::pin(run_requests(Arc::downgrade(self), store)));
        let channels = self.with(|server| server.store_channels());
        if channels.is_empty() {
            return;
        }
        let shared = Arc::downgrade(self);
        backend.subscribe(
            channels,
            Box::new(move |message| {
                if let Some(shared) = shared.upgrade() {
                    shared.drive(None, |state, now| state.server.store_message(&message, now));
                }
            }),
        );
    }

    /// Hands a store request to the store's task; its answer is fed back when it comes (the
    /// core keeps the deadline).
    pub(super) fn run_store(self: &Arc<Self>, request: StoreRequest) {
        let Some(store) = self.store.get() else {
            let answer = Err(StoreError::new("no store backend is set"));
            return self.drive(None, |state, now| {
                state.server.store_reply(request.id, answer, now)
            });
        };
        let mut queue = store.lock();
        queue.requests.push_back(request);
        if let Some(waker) = queue.waker.take() {
            waker.wake();
        }
    }
}

/// The store's task: starts the requests in the order they were asked, runs them together,
/// and reports each answer; ends with the server.
async fn run_requests(shared: Weak<SharedServer>, store: Arc<Store>) {
    let mut running: FuturesUnordered<Running> = FuturesUnordered::new();
    loop {
        let answered = poll_fn(|cx| {
            {
                let mut queue = store.lock();
                for StoreRequest { id, op } in queue.requests.drain(..) {
                    let answer = store.backend.run(op);
                    running.push(Box::pin(async move { (id, answer.await) }));
                }
                queue.waker = Some(cx.waker().clone());
            }
            // Polled in the order pushed: every new request reaches the backend in order.
            match running.poll_next_unpin(cx) {
                Poll::Ready(Some(answered)) => Poll::Ready(Some(answered)),
                Poll::Ready(None) | Poll::Pending if shared.strong_count() == 0 => Poll::Ready(None),
                Poll::Ready(None) | Poll::Pending => Poll::Pending,
            }
        })
        .await;
        let Some((id, answer)) = answered else {
            return;
        };
        let Some(shared) = shared.upgrade() else {
            return;
        };
        shared.drive(None, |state, now| state.server.store_reply(id, answer, now));
    }
}
