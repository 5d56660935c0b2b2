//! The shared store, seen from the shared server: the backend store requests run on, the one
//! task that starts them in the order the core asked and feeds their answers back, and the
//! subscription to the server's channels.
//!
//! One task, not one per request: a backend that pipelines requests on one connection sends
//! them in the order their futures are first polled, and a session's kept events, or a
//! session saved and then announced, must reach the store in the order the core asked.

use std::collections::{BTreeMap, VecDeque};
use std::future::poll_fn;
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Wake, Waker};

use super::SharedServer;
use crate::store::{StoreBackend, StoreError, StoreId, StoreRequest};

/// A store request under way.
type Running = crate::store::StoreFuture;

/// The backend, and the requests the core asked that its task has not started yet.
pub(super) struct Store {
    backend: Arc<dyn StoreBackend>,
    queue: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    /// Each with the shard that asked.
    requests: VecDeque<(usize, StoreRequest)>,
    waker: Option<Waker>,
}

impl Store {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        lock(&self.queue)
    }
}

impl SharedServer {
    /// Sets the shared store that store requests run on (once; a second call is ignored),
    /// starts the task that runs them, and subscribes to the server's channels on it (every
    /// shard's: to the store, each shard is a replica of its own).
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
        for shard in 0..self.shards.len() {
            let channels = self.lock(shard).server.store_channels();
            if channels.is_empty() {
                continue;
            }
            let shared = Arc::downgrade(self);
            backend.subscribe(
                channels,
                Box::new(move |message| {
                    if let Some(shared) = shared.upgrade() {
                        shared.drive(shard, None, |state, now| {
                            state.server.store_message(&message, now)
                        });
                    }
                }),
            );
        }
    }

    /// Hands a store request to the store's task; its answer is fed back when it comes (the
    /// core keeps the deadline).
    pub(super) fn run_store(self: &Arc<Self>, shard: usize, request: StoreRequest) {
        let Some(store) = self.store.get() else {
            let answer = Err(StoreError::new("no store backend is set"));
            return self.drive(shard, None, |state, now| {
                state.server.store_reply(request.id, answer, now)
            });
        };
        let mut queue = store.lock();
        queue.requests.push_back((shard, request));
        if let Some(waker) = queue.waker.take() {
            waker.wake();
        }
    }
}

/// The store's task: starts the requests in the order they were asked, runs them together,
/// and reports each answer; ends with the server.
async fn run_requests(shared: Weak<SharedServer>, store: Arc<Store>) {
    let woken = Arc::new(Mutex::new(Woken::default()));
    let mut running: BTreeMap<u64, (usize, StoreId, Running, Waker)> = BTreeMap::new();
    let mut next = 0u64;
    loop {
        let answered = poll_fn(|cx| {
            let mut to_poll = {
                let mut woken = lock(&woken);
                woken.task = Some(cx.waker().clone());
                std::mem::take(&mut woken.slots)
            };
            {
                let mut queue = store.lock();
                queue.waker = Some(cx.waker().clone());
                for (shard, StoreRequest { id, op }) in queue.requests.drain(..) {
                    let waker = Waker::from(Arc::new(RequestWaker {
                        slot: next,
                        woken: Arc::clone(&woken),
                    }));
                    running.insert(next, (shard, id, store.backend.run(op), waker));
                    // First polled in the order asked: every request reaches the backend in order.
                    to_poll.push(next);
                    next += 1;
                }
            }
            let mut answered = Vec::new();
            for slot in to_poll {
                let Some((_, _, future, waker)) = running.get_mut(&slot) else {
                    continue;
                };
                if let Poll::Ready(answer) = future.as_mut().poll(&mut Context::from_waker(waker))
                    && let Some((shard, id, _, _)) = running.remove(&slot)
                {
                    answered.push((shard, id, answer));
                }
            }
            if !answered.is_empty() || shared.strong_count() == 0 {
                return Poll::Ready(answered);
            }
            Poll::Pending
        })
        .await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        // Each shard's answers in one step of that shard, in the order they came.
        let mut answered = answered;
        while let Some(&(shard, _, _)) = answered.first() {
            let (mine, others) = answered.into_iter().partition(|(of, _, _)| *of == shard);
            answered = others;
            let mine: Vec<_> = mine;
            shared.drive(shard, None, |state, now| {
                for (_, id, answer) in mine {
                    state.server.store_reply(id, answer, now);
                }
            });
        }
    }
}

/// The requests of the store's task woken since it last looked, and the task's own waker.
#[derive(Default)]
struct Woken {
    slots: Vec<u64>,
    task: Option<Waker>,
}

/// The waker of one request: notes it as woken and wakes the store's task.
struct RequestWaker {
    slot: u64,
    woken: Arc<Mutex<Woken>>,
}

impl Wake for RequestWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let task = {
            let mut woken = lock(&self.woken);
            woken.slots.push(self.slot);
            woken.task.take()
        };
        if let Some(task) = task {
            task.wake();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Nothing under these locks panics; were one poisoned, what it guards is still whole.
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
