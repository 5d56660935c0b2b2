//! The replay buffer of one session: the SSE events its streams carried (or would have
//! carried while no stream was open), kept so that a client reconnecting with
//! `Last-Event-ID` gets what it missed.
//!
//! A session's streams are numbered from a base: the base is its standalone `GET` stream,
//! and each `POST` answered with SSE gets the next number. An event id is `<stream>-<seq>`,
//! with `seq` counting every event of the session, so that an id names one stream and one
//! place in it. A replica that shares sessions numbers from its tag shifted into the high 32
//! bits, so that an id names the replica whose buffer holds the event too, and starts the
//! `POST` streams and the places at random points, so that a buffer made again for the same
//! session (its events still in the shared store) issues no id twice. The buffer holds at
//! most a number of events and of bytes; the oldest go first.

use std::collections::VecDeque;

/// The standalone `GET` stream's number, for a session whose streams number from 0.
#[cfg(test)]
pub(crate) const STANDALONE: u64 = 0;

/// Returns whether `stream` is a standalone `GET` stream (of any replica).
pub(crate) fn is_standalone(stream: u64) -> bool {
    stream & 0xFFFF_FFFF == 0
}

/// One kept event.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Kept {
    stream: u64,
    seq: u64,
    /// The JSON-RPC message (not SSE-framed).
    message: Vec<u8>,
}

/// A position in a session's streams, as named by an event id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EventId {
    /// The stream.
    pub(crate) stream: u64,
    /// The event's place among the session's events.
    pub(crate) seq: u64,
}

impl EventId {
    /// Parses `<stream>-<seq>`.
    pub(crate) fn parse(text: &[u8]) -> Option<Self> {
        let text = std::str::from_utf8(text).ok()?;
        let (stream, seq) = text.trim().split_once('-')?;
        Some(Self {
            stream: stream.parse().ok()?,
            seq: seq.parse().ok()?,
        })
    }

    /// Writes the id as it goes on the wire.
    pub(crate) fn to_text(self) -> String {
        format!("{}-{}", self.stream, self.seq)
    }
}

/// A session's kept events.
#[derive(Debug)]
pub(crate) struct Replay {
    kept: VecDeque<Kept>,
    bytes: usize,
    max_events: usize,
    max_bytes: usize,
    next_seq: u64,
    /// The standalone stream's number; `POST` streams follow it.
    base: u64,
    next_stream: u64,
    /// The last event of the standalone stream written to a live connection.
    delivered: u64,
}

impl Replay {
    /// Creates an empty buffer whose streams number from `base`.
    pub(crate) fn new(max_events: usize, max_bytes: usize, base: u64) -> Self {
        Self {
            kept: VecDeque::new(),
            bytes: 0,
            max_events,
            max_bytes,
            next_seq: 1,
            base,
            next_stream: base + 1,
            delivered: 0,
        }
    }

    /// Starts the `POST` streams' numbers `stream_offset` past the base, and the events'
    /// places at `seq`: a session served again after its buffer was dropped here (its
    /// earlier events kept in the shared store) must not reuse their ids.
    pub(crate) fn starting_at(mut self, stream_offset: u32, seq: u64) -> Self {
        self.next_stream = self.base + u64::from(stream_offset.max(1));
        self.next_seq = seq.max(1);
        self
    }

    /// Returns the standalone stream's number.
    pub(crate) fn standalone(&self) -> u64 {
        self.base
    }

    /// Numbers a new `POST` stream.
    pub(crate) fn open_stream(&mut self) -> u64 {
        let stream = self.next_stream;
        self.next_stream = self.next_stream.saturating_add(1);
        stream
    }

    /// Returns the id of a place in `stream` that carries no message (a priming event).
    pub(crate) fn mark(&mut self, stream: u64) -> EventId {
        let id = EventId {
            stream,
            seq: self.next_seq,
        };
        self.next_seq += 1;
        id
    }

    /// Keeps `message` as the next event of `stream`; returns its id.
    pub(crate) fn push(&mut self, stream: u64, message: &[u8]) -> EventId {
        let id = self.mark(stream);
        if message.len() > self.max_bytes || self.max_events == 0 {
            // Too big to keep: it is sent live or not at all.
            return id;
        }
        while self.kept.len() >= self.max_events || self.bytes + message.len() > self.max_bytes {
            let Some(old) = self.kept.pop_front() else {
                break;
            };
            self.bytes -= old.message.len();
        }
        self.bytes += message.len();
        self.kept.push_back(Kept {
            stream,
            seq: id.seq,
            message: message.to_vec(),
        });
        id
    }

    /// Returns the kept events of `stream` after `after` (all of them for `None`).
    pub(crate) fn after(&self, stream: u64, after: Option<u64>) -> Vec<(EventId, &[u8])> {
        self.kept
            .iter()
            .filter(|kept| kept.stream == stream && after.is_none_or(|seq| kept.seq > seq))
            .map(|kept| {
                let id = EventId {
                    stream,
                    seq: kept.seq,
                };
                (id, kept.message.as_slice())
            })
            .collect()
    }

    /// Returns the standalone stream's events no live connection has carried yet.
    pub(crate) fn undelivered(&self) -> Vec<(EventId, &[u8])> {
        self.after(self.base, Some(self.delivered))
    }

    /// Notes that the standalone stream's events up to `seq` reached a live connection.
    pub(crate) fn mark_delivered(&mut self, seq: u64) {
        self.delivered = self.delivered.max(seq);
    }

    /// Returns whether `stream` was ever opened in this session, here.
    pub(crate) fn knows(&self, stream: u64) -> bool {
        (self.base..self.next_stream).contains(&stream)
    }

    /// Notes that events up to `seq` exist elsewhere (another replica's): this buffer's
    /// next events come after them, so that a client's `Last-Event-ID` keeps growing.
    pub(crate) fn follow(&mut self, seq: u64) {
        self.next_seq = self.next_seq.max(seq.saturating_add(1));
    }

    /// Returns how many events are kept.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.kept.len()
    }
}
