//! The shared store's sub-machine: the requests the core has out, their deadlines, and the
//! store's health (a circuit breaker). While the store fails, requests are decided without
//! it (`RATE_LIMIT_FAILURE`); a probe asks it every interval whether it is back.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::Instant;

use super::timers::Timer;
use super::{ConnectionId, Event, Server};
use crate::handler::{Call, CallId};
use crate::log::{Level, LogRecord, Status};
use crate::rate_limit::Decision;
use crate::store::{StoreAnswer, StoreError, StoreFailure, StoreId, StoreOp, StoreRequest, Take};
use crate::time::Now;

/// What waits on one store request.
pub(super) enum Waiter {
    /// An HTTP request head, parked in its connection until its client's limit is known.
    Head(ConnectionId),
    /// A tool call, not started until its client's limit for the tool is known.
    Call(CallId, Box<Call>),
    /// A probe of the store's health.
    Probe,
    /// Nothing: the answer only tells the store's health.
    Ignore,
    /// An HTTP request head naming a session this replica does not hold yet.
    Load(ConnectionId),
    /// An `initialize` response, sent once its session is stored.
    Open(ConnectionId),
    /// An HTTP request that forwarded a client's answer to another replica.
    Forward(ConnectionId),
    /// A `GET` resuming a stream, waiting for the session's kept events.
    Events(ConnectionId),
    /// A response that waits until the replicas were told of its session's change.
    Changed(ConnectionId),
}

/// How the store has been answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Health {
    /// No answer yet.
    Unknown,
    Up,
    /// Failing: requests are decided without it until a probe succeeds.
    Down,
}

/// The store requests out, and the store's health.
pub(super) struct Store {
    shared: bool,
    next: u64,
    waiting: BTreeMap<u64, (Instant, Waiter)>,
    health: Health,
    /// Requests that failed or timed out.
    pub(super) failures: u64,
    /// Limits decided without the store because it was failing.
    pub(super) fallbacks: u64,
    /// Requests whose answers nothing waits for, sent at the end of the step.
    deferred: Vec<StoreOp>,
    /// Of those, how many are out now.
    unanswered: usize,
    /// Of those, how many were dropped because too many were out.
    pub(super) dropped: u64,
}

impl Store {
    pub(super) fn new(shared: bool) -> Self {
        Self {
            shared,
            next: 0,
            waiting: BTreeMap::new(),
            health: Health::Unknown,
            failures: 0,
            fallbacks: 0,
            deferred: Vec::new(),
            unanswered: 0,
            dropped: 0,
        }
    }

    /// Returns whether limits are asked of the store now (it is configured and not failing).
    pub(super) fn is_asked(&self) -> bool {
        self.shared && self.health != Health::Down
    }

    /// Returns the store's state for `/ready`, when there is a store.
    pub(super) fn readiness(&self) -> Option<&'static str> {
        self.shared.then_some(match self.health {
            Health::Up => "ok",
            Health::Unknown => "connecting",
            Health::Down => "unreachable",
        })
    }

    /// Queues `op`, whose answer nothing waits for, for the end of the step.
    pub(super) fn defer(&mut self, op: StoreOp) {
        self.deferred.push(op);
    }

    /// Returns how many store requests wait for an answer.
    pub(super) fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// Returns whether the store is known to answer.
    pub(super) fn is_up(&self) -> bool {
        self.health == Health::Up
    }
}

/// What a store request decided for a rate limit.
pub(super) enum Limit {
    /// The store's (or the local fallback's) decision.
    Decided(Decision),
    /// The store fails and `RATE_LIMIT_FAILURE=closed`: refuse with 503.
    Unavailable,
}

impl Server {
    /// Arms the first probe of a configured store, so that `/ready` learns its state at once.
    pub(super) fn start_store(&mut self, now: Instant) {
        if self.store.shared {
            self.timers.arm(now, Timer::StoreProbe);
        }
    }

    /// Sends `op` to the store for `waiter`, with its deadline; a request nothing waits for
    /// is dropped while `max_unanswered` of them are out.
    pub(super) fn ask_store(&mut self, op: StoreOp, waiter: Waiter, now: Now) {
        if matches!(waiter, Waiter::Ignore) {
            // What nothing waits for is dropped, and counted, while too much of it is out.
            if self.store.unanswered >= self.config.store.max_unanswered {
                self.store.dropped += 1;
                return;
            }
            self.store.unanswered += 1;
        }
        let id = self.store.next;
        self.store.next += 1;
        let deadline = now.instant + self.config.store.timeout;
        self.store.waiting.insert(id, (deadline, waiter));
        self.timers.arm(deadline, Timer::Store(id));
        self.events
            .push_back(Event::Store(StoreRequest { id: StoreId(id), op }));
    }

    /// Sends the requests queued during the step (with their deadlines from `now`).
    pub(super) fn flush_store(&mut self, now: Now) {
        for op in std::mem::take(&mut self.store.deferred) {
            self.ask_store(op, Waiter::Ignore, now);
        }
    }

    /// Takes the store's answer to a request; a late or unknown one is dropped.
    pub(super) fn store_answer(&mut self, id: StoreId, answer: Result<StoreAnswer, StoreError>, now: Now) {
        let Some((deadline, waiter)) = self.store.waiting.remove(&id.0) else {
            return;
        };
        self.timers.disarm(deadline, Timer::Store(id.0));
        match answer {
            Ok(answer) => {
                self.store_up(now);
                self.resolve(waiter, Some(answer), now);
            }
            Err(error) => {
                self.store_down(&error.to_string(), now);
                self.resolve(waiter, None, now);
            }
        }
    }

    /// A store request's deadline passed without an answer.
    pub(super) fn store_timed_out(&mut self, id: u64, now: Now) {
        let Some((_, waiter)) = self.store.waiting.remove(&id) else {
            return;
        };
        let reason = format!("no answer within {} ms", self.config.store.timeout.as_millis());
        self.store_down(&reason, now);
        self.resolve(waiter, None, now);
    }

    /// The probe timer fired: ask the store whether it answers, and arm the next probe (a
    /// failing store is probed every interval, a healthy one every five, so that `/ready`
    /// notices an outage even when no request asks the store).
    pub(super) fn probe_store(&mut self, now: Now) {
        self.ask_store(StoreOp::Ping, Waiter::Probe, now);
        let interval = self.config.store.probe_interval;
        let next = if self.store.health == Health::Up {
            interval * 5
        } else {
            interval
        };
        let at = now.instant + next;
        self.timers.arm(at, Timer::StoreProbe);
    }

    /// Decides a rate limit without the store: by this replica's own limiter (`open`), or not
    /// at all (`closed`).
    pub(super) fn limit_locally(&mut self, decide: impl FnOnce(&mut Self) -> Decision) -> Limit {
        self.store.fallbacks += 1;
        match self.config.store.failure {
            StoreFailure::Open => Limit::Decided(decide(self)),
            StoreFailure::Closed => Limit::Unavailable,
        }
    }

    /// Returns the store request that takes one token of `per_minute` from `key`.
    pub(super) fn take_op(key: String, per_minute: u32) -> StoreOp {
        StoreOp::Take(Take {
            key,
            per_minute,
            burst: per_minute,
        })
    }

    /// Hands the store's answer (`None`: it failed or timed out) to what waits for it; an
    /// answer of the wrong kind counts as none.
    fn resolve(&mut self, waiter: Waiter, answer: Option<StoreAnswer>, now: Now) {
        let decision = match &answer {
            Some(StoreAnswer::Taken(decision)) => Some(*decision),
            _ => None,
        };
        match waiter {
            Waiter::Head(connection) => self.http_admitted(connection, decision, now),
            Waiter::Call(call, run) => self.call_admitted(call, *run, decision, now),
            Waiter::Probe => {}
            Waiter::Ignore => self.store.unanswered = self.store.unanswered.saturating_sub(1),
            Waiter::Load(connection) => {
                let record = match answer {
                    Some(StoreAnswer::Session(record)) => record,
                    _ => None,
                };
                self.http_loaded(connection, record, now);
            }
            Waiter::Open(connection) => {
                let opened = match answer {
                    Some(StoreAnswer::Opened(opened)) => Some(opened),
                    _ => None,
                };
                self.http_opened(connection, opened, now);
            }
            Waiter::Events(connection) => {
                let events = match answer {
                    Some(StoreAnswer::Events(events)) => Some(events),
                    _ => None,
                };
                self.http_events(connection, events, now);
            }
            Waiter::Changed(connection) => self.http_changed(connection, now),
            Waiter::Forward(connection) => {
                let delivered = matches!(answer, Some(StoreAnswer::Delivered(n)) if n > 0);
                self.http_forwarded(connection, delivered, now);
            }
        }
    }

    fn store_up(&mut self, now: Now) {
        if self.store.health == Health::Down {
            self.store_log(
                Level::Info,
                "shared store reachable again: limits are shared".into(),
                now,
            );
        }
        self.store.health = Health::Up;
    }

    fn store_down(&mut self, reason: &str, now: Now) {
        self.store.failures += 1;
        if self.store.health != Health::Down {
            let consequence = match self.config.store.failure {
                StoreFailure::Open => "each replica limits on its own (RATE_LIMIT_FAILURE=open)",
                StoreFailure::Closed => {
                    "rate-limited requests are refused with 503 (RATE_LIMIT_FAILURE=closed)"
                }
            };
            let message = format!("shared store unreachable ({reason}): {consequence}");
            self.store_log(Level::Warning, message.into(), now);
        }
        self.store.health = Health::Down;
    }

    fn store_log(&mut self, level: Level, message: Cow<'static, str>, now: Now) {
        let request_id = self.new_request_id();
        self.events.push_back(Event::Log(LogRecord {
            timestamp: now.timestamp(),
            level,
            message,
            request_id,
            method: None,
            duration_ms: None,
            status: if level == Level::Info {
                Status::Ok
            } else {
                Status::Error
            },
            code: None,
            client: None,
            principal: None,
            session: None,
            http_status: None,
            http: None,
            traceparent: None,
            tracestate: None,
        }));
    }
}
