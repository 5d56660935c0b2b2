//! A scripted shared store for the virtual-clock harnesses: a model of what Redis keeps
//! (GCRA buckets, session records with their expiry and cap) on the harness's clock, that
//! can be taken down and brought back.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::Instant;

use rampart_core::rate_limit::{Limits, RateLimiter};
use rampart_core::store::{StoreAnswer, StoreError, StoreOp};

/// The store replicas share in a test.
#[derive(Default)]
pub struct ScriptedStore {
    buckets: BTreeMap<String, RateLimiter<()>>,
    /// Each session's kept events, oldest first.
    events: BTreeMap<String, Vec<(String, String)>>,
    /// Session records and when they expire.
    sessions: BTreeMap<String, (String, Instant)>,
    /// Every operation asked, in order.
    pub ops: Vec<StoreOp>,
    /// While set, every request fails.
    pub down: bool,
}

impl ScriptedStore {
    /// Answers `op` at `now`; a `Publish` is answered by the caller, who knows the
    /// subscribers.
    pub fn answer(&mut self, op: &StoreOp, now: Instant) -> Result<StoreAnswer, StoreError> {
        self.ops.push(op.clone());
        if self.down {
            return Err(StoreError::new("connection refused"));
        }
        self.sessions.retain(|_, (_, expiry)| *expiry > now);
        Ok(match op {
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
                    let entry = (session.record.clone(), now + session.ttl);
                    self.sessions.insert(session.id.clone(), entry);
                }
                StoreAnswer::Opened(open)
            }
            StoreOp::LoadSession { id, ttl } => match self.sessions.get_mut(id) {
                Some((record, expiry)) => {
                    *expiry = now + *ttl;
                    StoreAnswer::Session(Some(record.clone()))
                }
                None => StoreAnswer::Session(None),
            },
            StoreOp::SaveSession(write) => {
                if let Some(entry) = self.sessions.get_mut(&write.id) {
                    *entry = (write.record.clone(), now + write.ttl);
                }
                StoreAnswer::Done
            }
            StoreOp::TouchSession { id, ttl } => {
                if let Some((_, expiry)) = self.sessions.get_mut(id) {
                    *expiry = now + *ttl;
                }
                StoreAnswer::Done
            }
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
            StoreOp::Publish { .. } => panic!("the harness answers publishes"),
            other => panic!("unexpected store op {other:?}"),
        })
    }

    /// Returns how many sessions live at `now`.
    pub fn sessions(&self, now: Instant) -> usize {
        self.sessions.values().filter(|(_, expiry)| *expiry > now).count()
    }

    /// Returns the keys of the takes asked so far.
    pub fn takes(&self) -> Vec<String> {
        self.ops
            .iter()
            .filter_map(|op| match op {
                StoreOp::Take(take) => Some(take.key.clone()),
                _ => None,
            })
            .collect()
    }
}
