//! The server behind a lock per shard, for adapters that drive each connection on its own
//! task.
//!
//! A [`SharedServer`] owns a [`Server`] (or several, its shards, each behind a lock of its
//! own: see [`SharedServer::sharded`] and docs/scaling.md) and everything an HTTP adapter would otherwise keep
//! beside it: each connection's unwritten output, the running calls, the log lines not yet
//! written. A connection's task reads, feeds the core and writes what the core answered in
//! one place, with no hand-off to another task: [`SharedServer::input`] runs the request,
//! polls each tool call it starts once on the spot, and returns the connection's output.
//! Calls that do not finish at once go to the runtime through the spawner the adapter gives,
//! and their output reaches the connection's task through its waker.
//!
//! Only std futures and wakers are used: the adapter brings its runtime (spawning, sockets,
//! sleeping) and its clock, which is passed in as a function, so the core still reads none.
//!
//! [`serve`] is the HTTP driver built on it, the same for every runtime: the accept loop, the
//! connections' tasks, the timer and log tasks, and the shutdown. An adapter implements
//! [`Runtime`], [`Listener`] and [`Stream`] with its runtime's calls and hands them to it.

use rustc_hash::FxHashMap as HashMap;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, Waker};

use crate::Framing;
use crate::handler::{Call, CallFuture, CallId, Message, Outbox, Outcome};
use crate::server::{ConnectionId, Server};
use crate::store::StoreRequest;
use crate::time::Now;
use crate::trace::SpanExporter;

mod accept;
mod buffer;
mod drain;
mod logs;
mod runtime;
mod serve;
mod shards;
mod store;
#[cfg(test)]
mod tests;
mod wait;
mod waits;

pub use buffer::ReadBuffer;
pub use runtime::{Listener, Runtime, Stream};

use drain::Drain;
pub use serve::{Log, Services, serve};
use shards::outbox;
use waits::Waits;

/// A task for the adapter's runtime: a tool call that did not finish when first polled.
pub type Task = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A [`Server`] shared by the tasks of one adapter, split into shards.
///
/// Each shard is a [`Server`] of its own behind a lock of its own; a connection belongs to
/// the shard its client's address picks (an IPv4 address, or an IPv6 /64, as rate limits
/// count clients), so every connection of one client is served by one shard, and its
/// rate-limit buckets and sessions live there. What the shards share: the cap on HTTP
/// sessions (one atomic count), the metrics a scrape merges, the timer, log and drain wake-ups.
/// With one shard it is one server behind one lock.
pub struct SharedServer {
    shards: Box<[Shard]>,
    clock: Box<dyn Fn() -> Now + Send + Sync>,
    spawn: Box<dyn Fn(Task) + Send + Sync>,
    /// Where store requests run, when replicas share state.
    store: OnceLock<Arc<store::Store>>,
    /// Where spans go, when traces are exported.
    spans: OnceLock<Arc<dyn SpanExporter>>,
    /// The timer's, the log writer's and the drain's wake-ups, shared by the shards.
    waits: Waits,
    log_output: crate::log::LogOutput,
    max_output: usize,
}

impl std::fmt::Debug for SharedServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedServer")
            .field("shards", &self.shards.len())
            .finish_non_exhaustive()
    }
}

/// One shard: its state behind its lock, on a cache line of its own.
#[repr(align(128))]
struct Shard {
    state: Mutex<State>,
    /// Where the shard's running handlers send their messages; one per shard, cloned per call.
    outbox: OnceLock<Outbox>,
}

/// What a connection's task must do next, taken from its slot.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct Output {
    /// Read the next chunk: the core takes input again.
    pub resume: bool,
    /// Close once the bytes handed over are written.
    pub close: bool,
    /// Drop the connection without writing more: its client is cut off or gone.
    pub gone: bool,
}

impl Output {
    /// Returns whether the task has nothing to do until woken again.
    fn is_idle(self, data: &[u8]) -> bool {
        data.is_empty() && !self.resume && !self.close && !self.gone
    }
}

/// One connection's side of the shared state.
#[derive(Default)]
pub(super) struct Slot {
    /// Bytes the core transmitted and the task has not taken yet.
    out: Vec<u8>,
    /// Bytes the task took and is writing (it takes again only after writing them).
    writing: usize,
    flags: Output,
    waker: Option<Waker>,
}

/// A call started by the core and not finished yet.
#[derive(Default)]
pub(super) struct CallSlot {
    cancelled: bool,
    waker: Option<Waker>,
}

/// Everything behind one shard's lock.
struct State {
    server: Server,
    slots: HashMap<ConnectionId, Slot>,
    calls: HashMap<CallId, CallSlot>,
    logs: Vec<u8>,
    dropped_logs: u64,
}

impl State {
    fn new(server: Server) -> Self {
        Self {
            server,
            slots: HashMap::default(),
            calls: HashMap::default(),
            logs: Vec::new(),
            dropped_logs: 0,
        }
    }

    fn is_drained(&self) -> bool {
        self.server.is_drained() && self.slots.is_empty()
    }

    /// Notes that the connection's task wrote what it took: it reads only after writing.
    fn written(&mut self, connection: ConnectionId) {
        if let Some(slot) = self.slots.get_mut(&connection) {
            slot.writing = 0;
        }
    }
}

impl SharedServer {
    /// Shares `server` in as many shards as its `serving.shards` says (one when it says 0);
    /// `clock` tells the time, `spawn` runs tool calls that did not finish at once on the
    /// adapter's runtime.
    pub fn new(
        server: Server,
        clock: impl Fn() -> Now + Send + Sync + 'static,
        spawn: impl Fn(Task) + Send + Sync + 'static,
    ) -> Arc<Self> {
        let shards = server.config().serving.shards.max(1);
        Self::sharded(server, shards, clock, spawn)
    }

    /// Shares `server` split into `shards` shards (at least one): `server` is the first, the
    /// others serve the same definitions with the same settings, each drawing from a seed
    /// taken from `server`'s CSPRNG.
    pub fn sharded(
        mut server: Server,
        shards: usize,
        clock: impl Fn() -> Now + Send + Sync + 'static,
        spawn: impl Fn(Task) + Send + Sync + 'static,
    ) -> Arc<Self> {
        let max_output = server.config().max_output_bytes;
        let log_output = server.config().serving.log_output;
        let now = clock();
        let others = server.split(shards, now);
        let shards = std::iter::once(server)
            .chain(others)
            .map(|server| Shard {
                state: Mutex::new(State::new(server)),
                outbox: OnceLock::new(),
            })
            .collect();
        let shared = Arc::new(Self {
            shards,
            clock: Box::new(clock),
            spawn: Box::new(spawn),
            store: OnceLock::new(),
            spans: OnceLock::new(),
            waits: Waits::new(now.instant),
            log_output,
            max_output,
        });
        for (index, shard) in shared.shards.iter().enumerate() {
            let _ = shard.outbox.set(outbox(Arc::downgrade(&shared), index));
        }
        shared
    }

    /// Sends the server's span records to `exporter`, from now on; a second exporter is
    /// ignored.
    pub fn set_span_exporter(&self, exporter: Arc<dyn SpanExporter>) {
        let _ = self.spans.set(exporter);
    }

    /// Runs `f` on the first shard's server under its lock (with one shard, the server);
    /// for inspection. [`with_each`](Self::with_each) configures every shard, and
    /// [`stats`](Self::stats) counts them all.
    pub fn with<R>(&self, f: impl FnOnce(&mut Server) -> R) -> R {
        f(&mut self.lock(0).server)
    }

    /// Opens an HTTP connection from `client` (its peer address) in the shard the address
    /// picks, and returns its id.
    pub fn accept(self: &Arc<Self>, client: impl Into<String>) -> ConnectionId {
        let client = client.into();
        let shard = self.shard_for(&client);
        self.drive(shard, None, |state, now| {
            let connection = state.server.accept(client, Framing::Http, now);
            state.slots.insert(connection, Slot::default());
            connection
        })
    }

    /// Opens a connection of the metrics listener (`METRICS_ADDR`), which serves only
    /// `/metrics` and the probes, and returns its id.
    pub fn accept_metrics(self: &Arc<Self>, client: impl Into<String>) -> ConnectionId {
        let connection = self.accept(client);
        self.lock(Self::shard_of(connection))
            .server
            .serve_metrics_only(connection);
        connection
    }

    /// Feeds a chunk read from the connection (read only after an [`Output`] said `resume`,
    /// or right after [`accept`](Self::accept)); moves its output into `out`, which must be
    /// empty.
    pub fn input(self: &Arc<Self>, connection: ConnectionId, chunk: &[u8], out: &mut Vec<u8>) -> Output {
        let shard = Self::shard_of(connection);
        self.drive(shard, Some(connection), |state, now| {
            state.written(connection);
            // A chunk the core cannot take yet is parked by it; the task reads no further
            // until it is told to resume.
            let _ = state.server.handle_input(connection, chunk, now);
        });
        self.take(connection, out)
    }

    /// Reports that the client finished sending; moves the connection's output into `out`.
    pub fn eof(self: &Arc<Self>, connection: ConnectionId, out: &mut Vec<u8>) -> Output {
        let shard = Self::shard_of(connection);
        self.drive(shard, Some(connection), |state, now| {
            state.written(connection);
            let _ = state.server.handle_eof(connection, now);
        });
        self.take(connection, out)
    }

    /// Reports that the connection broke (a read or write failed, or a write stalled).
    pub fn disconnect(self: &Arc<Self>, connection: ConnectionId) {
        let shard = Self::shard_of(connection);
        self.drive(shard, Some(connection), |state, now| {
            state.server.handle_disconnect(connection, now)
        });
    }

    /// Forgets the connection's slot once its task ends (after writing all it took).
    pub fn finish(&self, connection: ConnectionId) {
        let mut state = self.lock(Self::shard_of(connection));
        state.slots.remove(&connection);
        if state.is_drained() {
            drop(state);
            self.shard_drained();
        }
    }

    /// Resolves when another task left output or a command for the connection; take it
    /// with [`take`](Self::take).
    pub async fn ready(&self, connection: ConnectionId) {
        let shard = Self::shard_of(connection);
        poll_fn(|cx| {
            let mut state = self.lock(shard);
            let Some(slot) = state.slots.get_mut(&connection) else {
                return Poll::Ready(());
            };
            // The task has written what it took before it waits.
            slot.writing = 0;
            if slot.flags.is_idle(&slot.out) {
                slot.waker = Some(cx.waker().clone());
                return Poll::Pending;
            }
            Poll::Ready(())
        })
        .await;
    }

    /// Moves the connection's output into `out`, which must be empty, and says what to do
    /// after writing it.
    pub fn take(&self, connection: ConnectionId, out: &mut Vec<u8>) -> Output {
        let mut state = self.lock(Self::shard_of(connection));
        match state.slots.get_mut(&connection) {
            Some(slot) => Self::take_slot(slot, out),
            None => Output {
                gone: true,
                ..Output::default()
            },
        }
    }

    fn lock(&self, shard: usize) -> MutexGuard<'_, State> {
        waits::touches::shard_lock(shard);
        // Shard indexes come from `shard_for` and `shard_of`, which stay below the count.
        let shard = self.shards.get(shard).unwrap_or(&self.shards[0]);
        // Nothing under the lock panics; were it poisoned, the state is still consistent
        // between steps, so go on.
        shard
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn take_slot(slot: &mut Slot, out: &mut Vec<u8>) -> Output {
        debug_assert!(out.is_empty());
        let flags = std::mem::take(&mut slot.flags);
        if flags.gone {
            // Nothing more is written to a client that is cut off.
            slot.out.clear();
        } else {
            std::mem::swap(&mut slot.out, out);
        }
        slot.writing = out.len();
        flags
    }

    /// Runs one step on a shard's server under its lock, drains it, then polls each call it
    /// started once outside the lock; calls that finished are completed and drained in
    /// turn, the others are spawned. `own` is the connection whose task is running the step:
    /// its output is left in its slot for the task to take, without waking it.
    fn drive<R>(
        self: &Arc<Self>,
        shard: usize,
        own: Option<ConnectionId>,
        step: impl FnOnce(&mut State, Now) -> R,
    ) -> R {
        let mut started = Vec::new();
        let mut stores = Vec::new();
        let mut state = self.lock(shard);
        let now = (self.clock)();
        let result = step(&mut state, now);
        self.drain(&mut state, own, &mut started, &mut stores, now);
        while !started.is_empty() {
            drop(state);
            let mut finished = Vec::new();
            let mut skipped = Vec::new();
            for (call, cancelled) in started.drain(..) {
                let id = call.id;
                if cancelled {
                    skipped.push(id);
                    continue;
                }
                let mut future = Box::pin(call.run(self.outbox(shard)));
                match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
                    Poll::Ready(outcome) => finished.push((id, outcome)),
                    // The spawned task polls it again with its own waker.
                    Poll::Pending => (self.spawn)(Box::pin(Arc::clone(self).run_call(shard, id, future))),
                }
            }
            state = self.lock(shard);
            let now = (self.clock)();
            for id in skipped {
                state.calls.remove(&id);
            }
            for (id, outcome) in finished {
                state.calls.remove(&id);
                // A call cancelled meanwhile is refused: its outcome is dropped.
                let _ = state.server.complete(id, outcome, now);
            }
            self.drain(&mut state, own, &mut started, &mut stores, now);
        }
        state.server.publish_stats();
        let drained = state.is_drained();
        drop(state);
        if drained {
            self.shard_drained();
        }
        for request in stores {
            self.run_store(shard, request);
        }
        result
    }

    fn drain(
        &self,
        state: &mut State,
        own: Option<ConnectionId>,
        started: &mut Vec<(Call, bool)>,
        stores: &mut Vec<StoreRequest>,
        now: Now,
    ) {
        let State {
            server,
            slots,
            calls,
            logs,
            dropped_logs,
        } = state;
        let logs_before = logs.len();
        let mut host = Drain {
            own,
            slots,
            calls,
            started,
            stores,
            logs,
            dropped_logs,
            spans: self.spans.get().map(|exporter| &**exporter),
            log_output: self.log_output,
            max_output: self.max_output,
            max_logs: drain::max_pending_logs(self.shards.len()),
        };
        host.pour(server, now);
        if logs.len() > logs_before || *dropped_logs > 0 {
            self.waits.logs_written();
        }
        self.waits.deadline_armed(server.poll_timeout().map(|t| t.at));
    }

    /// Completes a call that did not finish at once, unless it is cancelled first.
    async fn run_call(self: Arc<Self>, shard: usize, id: CallId, mut future: Pin<Box<CallFuture>>) {
        let outcome = poll_fn(|cx| {
            {
                let mut state = self.lock(shard);
                match state.calls.get_mut(&id) {
                    Some(call) if !call.cancelled => call.waker = Some(cx.waker().clone()),
                    _ => return Poll::Ready(None),
                }
            }
            future.as_mut().poll(cx).map(Some)
        })
        .await;
        drop(future);
        match outcome {
            Some(outcome) => self.complete(shard, id, outcome),
            None => {
                self.lock(shard).calls.remove(&id);
            }
        }
    }

    fn complete(self: &Arc<Self>, shard: usize, id: CallId, outcome: Outcome) {
        self.drive(shard, None, |state, now| {
            state.calls.remove(&id);
            // A call that timed out is refused here: its late result is dropped.
            let _ = state.server.complete(id, outcome, now);
        });
    }

    fn call_message(self: &Arc<Self>, shard: usize, id: CallId, message: Message) {
        self.drive(shard, None, |state, now| {
            let _ = state.server.call_message(id, message, now);
        });
    }

    /// Returns the shard's outbox: one per shard, so a call clones a count of its shard's
    /// own rather than one every shard writes.
    fn outbox(self: &Arc<Self>, shard: usize) -> Outbox {
        match self.shards.get(shard).and_then(|shard| shard.outbox.get()) {
            Some(outbox) => outbox.clone(),
            None => outbox(Arc::downgrade(self), shard),
        }
    }
}

pub(super) fn wake(waker: &mut Option<Waker>) {
    if let Some(waker) = waker.take() {
        waker.wake();
    }
}
