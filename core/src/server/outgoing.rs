//! The table of requests the server sent to clients for running handlers (sampling,
//! elicitation, roots), waiting for their answers.
//!
//! An answer is routed back only to the handler that asked, and only when it comes from the
//! same session and principal the request went to.

use std::collections::BTreeMap;
use std::time::Instant;

use super::sessions::SessionKey;
use crate::handler::{CallId, Reply};
use crate::jsonrpc::Id;

/// A request waiting for the client's answer.
#[derive(Debug)]
pub(crate) struct Pending {
    /// The handler that asked.
    pub(crate) call: CallId,
    /// The session the request went to.
    pub(crate) session: SessionKey,
    /// The principal of the request the handler answers.
    pub(crate) principal: Option<String>,
    /// Where the answer goes.
    pub(crate) reply: Reply,
    /// When the handler stops waiting.
    pub(crate) deadline: Instant,
}

/// Why an answer was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// No request of that id is waiting.
    Unknown,
    /// The request went to another session or principal.
    Foreign,
}

/// The requests waiting for answers, by the id they were sent with.
#[derive(Debug, Default)]
pub(crate) struct Outgoing {
    pending: BTreeMap<u64, Pending>,
    next: u64,
}

impl Outgoing {
    /// Numbers the next requests from `base` on (a replica's tag in the high bits).
    pub(crate) fn start_at(&mut self, base: u64) {
        self.next = base;
    }

    /// Records a request about to be sent; returns its JSON-RPC id.
    pub(crate) fn open(&mut self, pending: Pending) -> u64 {
        self.next += 1;
        self.pending.insert(self.next, pending);
        self.next
    }

    /// Takes the request `id` answers, if it went to `session` and `principal`.
    pub(crate) fn answer(
        &mut self,
        id: &Id,
        session: &SessionKey,
        principal: Option<&str>,
    ) -> Result<Pending, Refused> {
        let key = id.as_u64().ok_or(Refused::Unknown)?;
        let pending = self.pending.get(&key).ok_or(Refused::Unknown)?;
        if &pending.session != session || pending.principal.as_deref() != principal {
            return Err(Refused::Foreign);
        }
        self.pending.remove(&key).ok_or(Refused::Unknown)
    }

    /// Takes request `id` (its deadline passed).
    pub(crate) fn take(&mut self, id: u64) -> Option<Pending> {
        self.pending.remove(&id)
    }

    /// Takes every request of `call` (it ended).
    pub(crate) fn take_call(&mut self, call: CallId) -> Vec<(u64, Pending)> {
        let ids: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, pending)| pending.call == call)
            .map(|(id, _)| *id)
            .collect();
        ids.into_iter()
            .filter_map(|id| self.pending.remove(&id).map(|pending| (id, pending)))
            .collect()
    }

    /// Returns how many requests of `call` are waiting.
    pub(crate) fn count_for(&self, call: CallId) -> usize {
        self.pending
            .values()
            .filter(|pending| pending.call == call)
            .count()
    }

    pub(crate) fn len(&self) -> usize {
        self.pending.len()
    }
}
