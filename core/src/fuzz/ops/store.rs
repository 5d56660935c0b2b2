//! The shared store of the `ops` target, when the input asks for one: it answers the core's
//! store requests as a script byte says, from a model of the store (one GCRA bucket per
//! key, the session records), with failures, or late (a stalled request is answered at the next drain, after its
//! deadline if time moved on).

use std::collections::BTreeMap;
use std::time::Instant;

use crate::rate_limit::{Limits, RateLimiter};
use crate::store::{StoreAnswer, StoreError, StoreId, StoreOp, StoreRequest};

/// The store the host runs store requests on.
pub(super) struct StoreHost {
    /// Two bits per request, in turn: answer from the model (0, 1), fail (2), stall (3).
    script: u8,
    turn: u32,
    buckets: BTreeMap<String, RateLimiter<()>>,
    /// Each session's kept events, oldest first.
    events: BTreeMap<String, Vec<(String, String)>>,
    /// Session records by id.
    sessions: BTreeMap<String, String>,
    /// Requests that came since the last drain's answers.
    pub(super) fresh: Vec<StoreRequest>,
    stalled: Vec<StoreRequest>,
}

impl StoreHost {
    pub(super) fn new(script: u8) -> Self {
        Self {
            script,
            turn: 0,
            buckets: BTreeMap::new(),
            sessions: BTreeMap::new(),
            events: BTreeMap::new(),
            fresh: Vec::new(),
            stalled: Vec::new(),
        }
    }

    /// Returns the answers to give now: every stalled request, then the fresh ones the
    /// script does not stall.
    pub(super) fn answers(&mut self, now: Instant) -> Vec<(StoreId, Result<StoreAnswer, StoreError>)> {
        let mut due = std::mem::take(&mut self.stalled);
        let mut answers = Vec::new();
        for request in due.drain(..) {
            answers.push((request.id, Ok(self.model(&request.op, now))));
        }
        for request in std::mem::take(&mut self.fresh) {
            let how = (self.script >> ((self.turn % 4) * 2)) & 3;
            self.turn = self.turn.wrapping_add(1);
            match how {
                0 | 1 => answers.push((request.id, Ok(self.model(&request.op, now)))),
                2 => answers.push((request.id, Err(StoreError::new("scripted failure")))),
                _ => self.stalled.push(request),
            }
        }
        answers
    }

    fn model(&mut self, op: &StoreOp, now: Instant) -> StoreAnswer {
        match op {
            StoreOp::Take(take) => {
                let bucket = self.buckets.entry(take.key.clone()).or_insert_with(|| {
                    RateLimiter::new(Limits {
                        per_minute: take.per_minute,
                        burst: take.burst,
                        ..Limits::default()
                    })
                });
                StoreAnswer::Taken(bucket.check((), now))
            }
            StoreOp::Ping => StoreAnswer::Pong,
            StoreOp::OpenSession { session, max } => {
                let open = self.sessions.len() < *max;
                if open {
                    self.sessions.insert(session.id.clone(), session.record.clone());
                }
                StoreAnswer::Opened(open)
            }
            StoreOp::LoadSession { id, .. } => StoreAnswer::Session(self.sessions.get(id).cloned()),
            StoreOp::SaveSession(write) => {
                if let Some(record) = self.sessions.get_mut(&write.id) {
                    record.clone_from(&write.record);
                }
                StoreAnswer::Done
            }
            StoreOp::TouchSession { .. } => StoreAnswer::Done,
            StoreOp::CloseSession { id } => StoreAnswer::Closed(self.sessions.remove(id).is_some()),
            StoreOp::AppendEvent {
                session,
                event,
                message,
                max,
                ..
            } => {
                let events = self.events.entry(session.clone()).or_default();
                events.push((event.clone(), message.clone()));
                let excess = events.len().saturating_sub(*max);
                events.drain(..excess);
                StoreAnswer::Done
            }
            StoreOp::ReadEvents { session } => {
                StoreAnswer::Events(self.events.get(session).cloned().unwrap_or_default())
            }
            // This replica is the only one listening, and ignores its own bulletins.
            StoreOp::Publish { .. } => StoreAnswer::Delivered(1),
        }
    }
}
