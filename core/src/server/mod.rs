//! The server state machine. This file holds its public face: the getters, the `handle_*`
//! inputs, the commands and the `poll_*` outputs. The parts it is composed of own their
//! state and are drained here: the session table (`sessions`), the call table (`calls`), the
//! table of requests to clients (`outgoing`), the task table (`tasks`, driven by
//! `task_calls`), the timer table (`timers`), each session's replay buffer (`replay`), and
//! one transport per framing (`ndjson`, `http`).

mod calls;
mod connections;
mod dispatch;
mod drain;
mod finish;
mod http;
mod ids;
mod messages;
mod ndjson;
mod notify;
mod outgoing;
mod output;
mod readiness;
mod record;
mod replay;
mod replicas;
mod resume;
mod sessions;
mod shard;
mod store;
mod task_calls;
mod tasks;
#[cfg(test)]
mod tests;
mod timers;

pub use output::{CallError, ConnectionId, Event, InputError, Stats, Timeout, TimeoutReason, Transmit};
pub use readiness::ReadinessCheck;

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::time::Instant;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use crate::config::Config;
use crate::framing::Framing;
use crate::handler::{CallId, Message, Notice, Outcome};
use crate::mcp::StateKey;
use crate::rate_limit::{ClientKey, Limits, RateLimiter};
use crate::registry::Registry;
use crate::store::{StoreAnswer, StoreError, StoreId};
use crate::time::Now;

use calls::Calls;
use connections::Connection;
use outgoing::Outgoing;
use sessions::Sessions;
use store::Store;
use tasks::Tasks;
use timers::{Timer, Timers};

/// The sans-IO MCP server: feed it input and time, drain its output.
///
/// Its methods come in four kinds:
/// - getters (`&self`): [`stats`](Self::stats), [`wants_input`](Self::wants_input),
///   [`is_ready`](Self::is_ready), [`is_drained`](Self::is_drained), [`config`](Self::config);
/// - input, `handle_*`: [`accept`](Self::accept), [`handle_input`](Self::handle_input),
///   [`handle_eof`](Self::handle_eof), [`handle_disconnect`](Self::handle_disconnect),
///   [`handle_timeout`](Self::handle_timeout);
/// - commands: [`complete`](Self::complete) and [`call_message`](Self::call_message) for
///   running handlers, [`store_reply`](Self::store_reply) for the shared store, [`notify`](Self::notify), [`shutdown`](Self::shutdown), ...;
/// - output, `poll_*`: [`poll_transmit`](Self::poll_transmit),
///   [`poll_event`](Self::poll_event), [`poll_timeout`](Self::poll_timeout).
///
/// After every input or command, drain `poll_transmit` and `poll_event` until they return
/// `None`, then ask `poll_timeout` for the next deadline. The crate documentation shows the
/// loop.
pub struct Server {
    config: Config,
    /// `POST {mcp_path}`, the request line most log records name.
    post_line: std::sync::Arc<str>,
    /// Shared by the shards of a [`SharedServer`](crate::SharedServer).
    registry: std::sync::Arc<Registry>,
    rng: ChaCha20Rng,
    /// Seals 2026-07-28 `requestState`.
    state_key: StateKey,
    /// The `_meta` member naming the server on 2026-07-28 results, written once.
    server_info: String,
    started: Instant,
    checks: Vec<(String, ReadinessCheck)>,
    ready: bool,
    /// Counters and histograms for `/metrics`.
    metrics: crate::metrics::Metrics,
    /// `/ready` answers 503: a drain has begun ([`Server::begin_drain`]).
    draining: bool,
    /// Shutdown has begun: connections close after their answer ([`Server::shutdown`]).
    stopping: bool,
    /// Open connections; looked up on every step, never walked in order (walks sort).
    connections: rustc_hash::FxHashMap<ConnectionId, Connection>,
    next_connection: u64,
    sessions: Sessions,
    calls: Calls,
    outgoing: Outgoing,
    /// Calls that run as tasks of the tasks extension, and ended ones kept for `tasks/get`.
    tasks: Tasks,
    timers: Timers,
    /// Requests per client.
    limiter: RateLimiter<ClientKey>,
    /// Calls per client, for tools with a limit of their own.
    tool_limiters: BTreeMap<String, RateLimiter<ClientKey>>,
    /// The shared store's requests and health, when replicas share limits.
    store: Store,
    /// This replica's tag among those sharing the store (random, never 0): the high bits of
    /// its requests' ids, and its channel's name.
    replica: u32,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    /// Connections whose state changed since the last resume pass.
    touched: Vec<ConnectionId>,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Creates a server with its config, what it serves (a [`Registry`], or a
    /// [`ToolRegistry`](crate::ToolRegistry) alone), a 32-byte seed for its CSPRNG, and the
    /// moment it starts (for `uptime_seconds`).
    pub fn new(config: Config, registry: impl Into<Registry>, seed: [u8; 32], now: Now) -> Self {
        let limits = |per_minute| Limits {
            per_minute,
            burst: per_minute,
            max_clients: config.rate_limit_max_clients,
            idle_sweep: std::time::Duration::from_secs(60),
        };
        let limiter = RateLimiter::new(limits(config.rate_limit));
        let tool_limiters = config
            .tool_rate_limits
            .iter()
            .map(|(tool, per_minute)| (tool.clone(), RateLimiter::new(limits(*per_minute))))
            .collect();
        let mut rng = ChaCha20Rng::from_seed(seed);
        let state_key = config.request_state_key.clone().unwrap_or_else(|| {
            let mut key = [0u8; 32];
            rand_core::RngCore::fill_bytes(&mut rng, &mut key);
            StateKey::from_random(key)
        });
        let server_info = crate::mcp::modern::server_info_member(&config);
        let store = Store::new(config.store.is_shared());
        // 20 bits: ids of requests to clients stay exact in JavaScript (below 2^53).
        let replica = (rand_core::RngCore::next_u32(&mut rng) >> 12).max(1);
        let mut outgoing = Outgoing::default();
        if config.store.is_shared() {
            outgoing.start_at(u64::from(replica) << 32);
        }
        let mut server = Self {
            post_line: format!("POST {}", config.mcp_path).into(),
            config,
            registry: std::sync::Arc::new(registry.into()),
            rng,
            state_key,
            server_info,
            started: now.instant,
            checks: Vec::new(),
            ready: true,
            metrics: crate::metrics::Metrics::default(),
            draining: false,
            stopping: false,
            connections: Default::default(),
            next_connection: 0,
            sessions: Sessions::default(),
            calls: Calls::default(),
            outgoing,
            tasks: Tasks::default(),
            timers: Timers::default(),
            limiter,
            tool_limiters,
            store,
            replica,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            touched: Vec::new(),
        };
        server.start_store(now.instant);
        server
    }

    // ---- getters ----

    /// Returns the configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Returns what the server serves.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Returns counters of connections, running calls and sessions.
    pub fn stats(&self) -> Stats {
        Stats {
            connections: self.connections.len(),
            running_calls: self.calls.len(),
            sessions: self.sessions.http_count(),
            client_requests: self.outgoing.len(),
            rate_limited_clients: self.limiter.len(),
            store_requests: self.store.waiting(),
            store_failures: self.store.failures,
            store_fallbacks: self.store.fallbacks,
            store_dropped: self.store.dropped,
        }
    }

    /// Returns whether `GET /ready` answers 200: ready, not draining, every check healthy,
    /// and, with `RATE_LIMIT_FAILURE=closed`, the shared store answering.
    pub fn is_ready(&self) -> bool {
        let store_ok = self.config.store.failure == crate::store::StoreFailure::Open
            || !self.config.store.is_shared()
            || self.store.is_up();
        self.ready && !self.draining && store_ok && self.checks.iter().all(|(_, check)| check.is_healthy())
    }

    /// Returns whether shutdown has begun and every connection has closed.
    pub fn is_drained(&self) -> bool {
        self.stopping && self.connections.is_empty()
    }

    /// Returns whether the connection takes input now.
    ///
    /// False while its running calls are at their cap, its buffer is full or a chunk is
    /// parked, and after end of input; it turns true again as calls complete, and an
    /// [`Event::Resume`] says so to a reader that waits.
    pub fn wants_input(&self, connection: ConnectionId) -> bool {
        self.connections
            .get(&connection)
            .is_some_and(|conn| conn.wants_input(&self.config))
    }

    // ---- handle_* (input) ----

    /// Opens a connection from `client` (a label for logs, such as a peer address).
    ///
    /// A label that parses as an IP address is the peer address rate limits count against.
    /// The new connection takes input at once.
    pub fn accept(&mut self, client: impl Into<String>, framing: Framing, now: Now) -> ConnectionId {
        let id = ConnectionId(self.next_connection);
        self.next_connection += 1;
        let connection = Connection::new(client.into(), framing, &self.config, now.instant);
        self.connections.insert(id, connection);
        match framing {
            Framing::Ndjson => self.open_ndjson(id, now),
            Framing::Http => self.http_reschedule(id),
        }
        id
    }

    /// Takes bytes read from `connection`, in pieces of any size.
    ///
    /// After each chunk the reader waits for [`Event::Resume`] before it reads the next: a
    /// chunk that arrives while the connection is paused is parked and fed when it takes
    /// input again, so the core never holds more than one unread chunk per connection. A
    /// second chunk before the resume is refused with [`InputError::NotTakingInput`].
    pub fn handle_input(
        &mut self,
        connection: ConnectionId,
        data: &[u8],
        now: Now,
    ) -> Result<(), InputError> {
        let wants = self.wants_input(connection);
        let Some(conn) = self.connections.get_mut(&connection) else {
            return Err(InputError::UnknownConnection(connection));
        };
        if conn.awaiting_resume || conn.eof {
            return Err(InputError::NotTakingInput(connection));
        }
        conn.awaiting_resume = true;
        self.touched.push(connection);
        if wants {
            self.take_input(connection, data, now);
        } else {
            conn.parked = Some(data.to_vec());
        }
        self.settle(now);
        Ok(())
    }

    /// Notes that the client sent end of input (a half-close): every accepted request is
    /// still answered, then [`Event::Closed`] is emitted.
    pub fn handle_eof(&mut self, connection: ConnectionId, now: Now) -> Result<(), InputError> {
        let Some(conn) = self.connections.get_mut(&connection) else {
            return Err(InputError::UnknownConnection(connection));
        };
        conn.eof = true;
        if conn.parked.is_none() {
            self.input_ended(connection, now);
        }
        self.settle(now);
        Ok(())
    }

    /// Notes that `connection` is gone (the peer vanished or writing failed): its running
    /// calls are cancelled and nothing more is sent to it.
    pub fn handle_disconnect(&mut self, connection: ConnectionId, now: Now) {
        if self.connections.contains_key(&connection) {
            self.close(connection, now);
        }
        self.transmits.retain(|t| t.connection != connection);
        self.settle(now);
    }

    /// Fires every deadline at or before `now`; spurious calls are harmless.
    pub fn handle_timeout(&mut self, now: Now) {
        self.limiter.handle_timeout(now.instant);
        for limiter in self.tool_limiters.values_mut() {
            limiter.handle_timeout(now.instant);
        }
        while let Some(timer) = self.timers.pop_due(now.instant) {
            match timer {
                Timer::Call(call) => self.call_timed_out(call, now),
                Timer::Drain => self.drain_timed_out(now),
                Timer::Heartbeat(call) => self.heartbeat(call, now),
                Timer::Connection(connection) => {
                    self.touched.push(connection);
                    self.http_timer(connection, now);
                }
                Timer::Session(id) => self.session_timer(id, now),
                Timer::ClientRequest(id) => self.client_request_timed_out(id),
                Timer::Store(id) => self.store_timed_out(id, now),
                Timer::StoreProbe => self.probe_store(now),
            }
        }
        self.settle(now);
    }

    // ---- commands ----

    /// Reports how a call ended; its response is sent unless it already timed out or was
    /// cancelled, in which case the outcome is refused with [`CallError::NotRunning`].
    pub fn complete(&mut self, call: CallId, outcome: Outcome, now: Now) -> Result<(), CallError> {
        let result = self.finish(call, outcome, now);
        self.settle(now);
        result
    }

    /// Passes on what a running handler sends before its result (see [`Message`]): log and
    /// progress notifications, announcements, and requests to the client.
    pub fn call_message(&mut self, call: CallId, message: Message, now: Now) -> Result<(), CallError> {
        let result = self.handler_message(call, message, now);
        self.settle(now);
        result
    }

    /// Reports the shared store's answer to [`Event::Store`]; an answer after the request's
    /// deadline (when the core has decided without it) is dropped.
    pub fn store_reply(&mut self, id: StoreId, answer: Result<StoreAnswer, StoreError>, now: Now) {
        self.store_answer(id, answer, now);
        self.settle(now);
    }

    /// Returns the store channels this server listens on when it shares a store with
    /// replicas (none otherwise): pass what arrives on them to
    /// [`store_message`](Self::store_message).
    pub fn store_channels(&self) -> Vec<String> {
        self.channels()
    }

    /// Takes a message that arrived on one of the [`store_channels`](Self::store_channels):
    /// what another replica tells this one (a session changed or ended, an announcement, a
    /// client's answer to a request of this replica). Anything else is ignored.
    pub fn store_message(&mut self, message: &[u8], now: Now) {
        self.bulletin(message, now);
        self.settle(now);
    }

    /// Announces a change to the clients that care (subscribers of a resource, or every
    /// session for a changed list), on every replica when replicas share a store.
    pub fn notify(&mut self, notice: Notice, now: Now) {
        self.announce(&notice, now);
        self.settle(now);
    }

    /// Returns the registry to change what is served; announce the change with
    /// [`notify`](Self::notify) (for instance [`Notice::ToolsChanged`]). `None` once the
    /// shards of a [`SharedServer`](crate::SharedServer) share it: change it before serving.
    pub fn registry_mut(&mut self) -> Option<&mut Registry> {
        std::sync::Arc::get_mut(&mut self.registry)
    }

    /// Registers a readiness check under `name`; `/ready` reports it and fails while it fails.
    pub fn add_readiness_check(&mut self, name: impl Into<String>, check: ReadinessCheck) {
        self.checks.push((name.into(), check));
    }

    /// Sets whether the server reports itself ready (all checks aside).
    pub fn set_ready(&mut self, ready: bool) {
        self.ready = ready;
    }

    /// Counts `n` of something only the embedding code sees, for `/metrics`.
    pub fn count(&mut self, counter: crate::metrics::HostCounter, n: u64) {
        self.metrics.host.add(counter, n);
    }

    // ---- poll_* (output) ----

    /// Returns the next bytes to write.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// Returns the next event for the embedder.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Returns the next deadline and its reason, if any.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Timeout> {
        let timer = self.timers.first().map(|(at, timer)| Timeout {
            at,
            reason: match timer {
                Timer::Call(call) => TimeoutReason::Call(*call),
                Timer::Heartbeat(call) => TimeoutReason::Heartbeat(*call),
                Timer::Connection(connection) => TimeoutReason::Connection(*connection),
                Timer::Session(_) => TimeoutReason::SessionExpiry,
                Timer::ClientRequest(_) => TimeoutReason::ClientRequest,
                Timer::Store(_) | Timer::StoreProbe => TimeoutReason::Store,
                Timer::Drain => TimeoutReason::Drain,
            },
        });
        let sweep = std::iter::once(&self.limiter)
            .chain(self.tool_limiters.values())
            .filter_map(RateLimiter::poll_timeout)
            .min()
            .map(|at| Timeout {
                at,
                reason: TimeoutReason::RateLimitSweep,
            });
        match (timer, sweep) {
            (Some(timer), Some(sweep)) if sweep.at < timer.at => Some(sweep),
            (Some(timer), _) => Some(timer),
            (None, sweep) => sweep,
        }
    }

    // ---- internals shared by the parts ----

    fn take_input(&mut self, connection: ConnectionId, data: &[u8], now: Now) {
        match self.connections.get(&connection).map(Connection::framing) {
            Some(Framing::Http) => self.http_input(connection, data, now),
            Some(Framing::Ndjson) => self.ndjson_input(connection, data, now),
            None => {}
        }
    }

    /// The client sent its last byte and nothing is parked: finish what is pending.
    fn input_ended(&mut self, connection: ConnectionId, now: Now) {
        match self.connections.get(&connection).map(Connection::framing) {
            Some(Framing::Http) => self.http_drive(connection, now),
            Some(Framing::Ndjson) => self.drain_lines(connection, now),
            None => {}
        }
    }

    fn transmit(&mut self, connection: ConnectionId, data: Vec<u8>) {
        if self.connections.contains_key(&connection) {
            self.transmits.push_back(Transmit { connection, data });
        }
    }

    fn new_request_id(&mut self) -> std::sync::Arc<str> {
        use rand_core::RngCore;
        let digits = ids::hex16_digits(self.rng.next_u64());
        std::str::from_utf8(&digits).unwrap_or_default().into()
    }
}
