//! One connection of the `shared` target: where its task is in an adapter's loop, and what
//! it sent and was handed.

use super::super::peer::{HttpLog, Peer};
use super::tasks::Waiter;
use crate::ConnectionId;

/// Where a connection's task is in an adapter's loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Waiting in its select: on `ready`, and on the socket if it may read.
    Select,
    /// Writing what it was handed.
    Write,
    /// Told to close or drop the connection, or it broke: only `finish` is left.
    End,
    Finished,
}

/// One connection's task and what it saw.
pub(super) struct Conn {
    pub(super) task: Waiter,
    pub(super) phase: Phase,
    pub(super) can_read: bool,
    pub(super) eof: bool,
    /// Whether it was fed raw bytes, which may draw one error response with no request.
    raw: bool,
    sent: Vec<u8>,
    /// The requests sent and the output handed over, read back response by response.
    pub(super) http: HttpLog,
}

impl Conn {
    pub(super) fn new() -> Self {
        Self {
            task: Waiter::new(),
            phase: Phase::Select,
            can_read: true,
            eof: false,
            raw: false,
            sent: Vec::new(),
            http: HttpLog::default(),
        }
    }

    /// Notes bytes fed to the core; `raw` when they are not a request of the dictionary.
    pub(super) fn sent(&mut self, bytes: &[u8], raw: bool) {
        self.sent.extend_from_slice(bytes);
        self.raw |= raw;
        if raw {
            self.http.raw();
        }
    }

    /// Returns whether the task reads now.
    pub(super) fn reads(&self) -> bool {
        self.phase == Phase::Select && self.can_read && !self.eof
    }

    /// Returns whether the task is still in its loop.
    pub(super) fn runs(&self) -> bool {
        matches!(self.phase, Phase::Select | Phase::Write)
    }

    /// Takes what the task was handed: checks that the output so far is HTTP/1.1 responses,
    /// no more than the requests sent, and each response against its request.
    pub(super) fn output(&mut self, id: ConnectionId, out: &[u8], peer: &mut Peer) {
        let framing = peer.http(id, &mut self.http, out);
        let output = &self.http.output;
        let interim = occurrences(output, b"HTTP/1.1 1");
        let responses = (framing.complete + usize::from(framing.open)).saturating_sub(interim);
        // Every request line names its version; a body may too, which only loosens this.
        let requests = occurrences(&self.sent, b"HTTP/1.") + usize::from(self.raw);
        assert!(
            responses <= requests,
            "{responses} responses to {requests} requests: {:?}",
            String::from_utf8_lossy(output)
        );
    }
}

fn occurrences(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|window| *window == needle)
        .count()
}
