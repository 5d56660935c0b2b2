//! HTTP/1.1 request decoding: incremental, bounded, and strict about framing that could
//! smuggle a request.
//!
//! `Decoder` takes the bytes of one connection in pieces of any size with `push` and
//! hands out heads, bodies and refusals with `next`; the output is the same however the
//! input is split. Each byte of a head is scanned once for the blank line that ends it, and
//! the head is parsed (with `httparse`) only when it is complete, so a head that trickles in
//! one byte at a time costs no more than one that arrives whole. A body is returned once,
//! complete: read by `Content-Length` or de-chunked into a buffer of its own.
//!
//! Strict means that anything two HTTP implementations could read as different requests is
//! refused: `Content-Length` with `Transfer-Encoding`, more than one or a malformed
//! `Content-Length`, transfer codings other than a final `chunked`, bad chunk framing, a bare
//! LF, obs-fold, control bytes in a field value, a missing or repeated `Host`. A refusal
//! carries the status to answer with, and nothing after it is ever decoded; nothing after a
//! request that closes the connection is decoded either.
//!
//! Every buffer is bounded: a head by `Limits::max_head_bytes`, a body by
//! `Limits::max_body_bytes`, a chunk-size line by 1 KiB, the chunk extensions of one body
//! by 16 KiB, and a trailer section (parsed, then discarded) by what the head left of the head
//! limits. Bytes of pipelined requests stay buffered until `next` reaches them; the caller
//! stops reading while `Decoder::buffered` is large.

mod chunked;
mod head;
#[cfg(test)]
mod tests;

use std::ops::Range;

use chunked::{Chunk, Chunked};
use head::{HeadScan, Scan};

/// The limits the decoder enforces; each overrun maps to its status code.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Bytes in the request line plus header section (431 beyond, 414 when the target alone is too long).
    pub(crate) max_head_bytes: usize,
    /// Header fields per request (431 beyond).
    pub(crate) max_headers: usize,
    /// Bytes in the request target (414 beyond).
    pub(crate) max_target_bytes: usize,
    /// Bytes of body, decided from Content-Length before reading, or while de-chunking (413).
    pub(crate) max_body_bytes: usize,
}

/// How the body of a request is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyFraming {
    /// No body (no Content-Length and no Transfer-Encoding, or Content-Length: 0).
    None,
    /// `Content-Length: n`, n > 0.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// A parsed request line and header section.
///
/// Its text is kept in one buffer, `text`: the method, the target, then the name (lowercased)
/// and value (trimmed) of each field, end to end; the ranges point into it. One buffer per
/// head, rather than one per name and value, keeps decoding to two allocations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Head {
    text: Vec<u8>,
    method: Range<usize>,
    target: Range<usize>,
    /// The name and value of each field, in order.
    fields: Vec<(Range<usize>, Range<usize>)>,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub(crate) minor_version: u8,
    /// How the body is framed.
    pub(crate) body: BodyFraming,
    /// Whether the connection stays open after this request (version default and `Connection`).
    pub(crate) keep_alive: bool,
    /// Whether the client sent `Expect: 100-continue` (and has a body).
    pub(crate) expect_continue: bool,
}

impl Head {
    /// Returns the method, as sent (case-sensitive), e.g. `POST`.
    pub(crate) fn method(&self) -> &str {
        self.ascii(&self.method)
    }

    /// Returns the request target, as sent (ASCII), e.g. `/mcp?x=1`.
    pub(crate) fn target(&self) -> &str {
        self.ascii(&self.target)
    }

    /// Returns the header fields in order: names lowercased, values with surrounding
    /// whitespace trimmed.
    pub(crate) fn fields(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.fields
            .iter()
            .map(|(name, value)| (self.bytes(name), self.bytes(value)))
    }

    /// Returns the number of header fields.
    pub(crate) fn field_count(&self) -> usize {
        self.fields.len()
    }

    /// Returns the values of the fields named `name` (lowercase), in order.
    pub(crate) fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> {
        self.fields()
            .filter(move |(n, _)| *n == name.as_bytes())
            .map(|(_, value)| value)
    }

    /// Returns the value of the first header named `name` (lowercase), if any.
    pub(crate) fn header(&self, name: &str) -> Option<&[u8]> {
        self.fields()
            .find(|(n, _)| *n == name.as_bytes())
            .map(|(_, value)| value)
    }

    fn bytes(&self, range: &Range<usize>) -> &[u8] {
        self.text.get(range.clone()).unwrap_or_default()
    }

    /// The method and target were checked to be ASCII when the head was parsed.
    fn ascii(&self, range: &Range<usize>) -> &str {
        std::str::from_utf8(self.bytes(range)).unwrap_or_default()
    }
}

/// A request the decoder refuses; the connection must be closed after the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// The HTTP status to answer with: 400, 413, 414, 417, 431, 501 or 505.
    pub(crate) status: u16,
    /// A short reason for logs and the error body.
    pub(crate) reason: &'static str,
}

/// One decoded item, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decoded {
    /// A request head; when its body framing is not `None`, `Body` follows once the whole
    /// body has arrived.
    Head(Head),
    /// The complete (de-chunked) body of the request whose head came last, as a range into
    /// the decoder's buffer (valid until the next `push`/`next`).
    Body(Range<usize>),
    /// The input cannot be a valid request: answer with the status and close. Nothing after
    /// it is ever decoded.
    Refused(Refusal),
}

/// Where the decoder is inside the current request, for deadlines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Between requests, with no byte of the next one buffered.
    Idle,
    /// Inside a request line or header section.
    Head,
    /// Inside a body.
    Body,
    /// After a refusal, or after the last request of a connection that closes: nothing more
    /// will be decoded.
    Done,
}

/// The incremental request decoder for one connection.
///
/// `push` appends input; `next` returns decoded items until it returns `None`, which means
/// it needs more input (or, in `Phase::Done`, that nothing more will come). The getters
/// `phase`, `buffered` and `body` never change the state; `skip_body` is the one command.
#[derive(Debug)]
pub(crate) struct Decoder {
    limits: Limits,
    /// Received bytes; those before `start` are consumed.
    buf: Vec<u8>,
    /// Start of the unconsumed bytes in `buf`.
    start: usize,
    state: State,
    /// The body being read, or the one `next` returned last.
    body: Vec<u8>,
    /// Whether `body` holds a returned body, to be dropped on the next `push` or `next`.
    body_returned: bool,
    /// Whether the body being read is dropped instead of returned.
    skipping: bool,
    /// Whether the request being read is the last one on the connection.
    closes: bool,
    /// How many times a head went to the parser.
    #[cfg(test)]
    head_parses: usize,
}

/// What the decoder is waiting for.
#[derive(Debug)]
enum State {
    /// The end of a request head.
    Head(HeadScan),
    /// The rest of a body of known length.
    Length { remaining: u64 },
    /// The rest of a chunked body.
    Chunked(Chunked),
    /// Nothing: a refusal or a closing request ended the connection.
    Done,
}

/// What one decoding step produced.
enum Step {
    /// More input is needed.
    Pending,
    /// An item for the caller.
    Item(Decoded),
    /// A skipped body ended; decoding goes on with the next request.
    Skipped,
}

/// Capacity a buffer may keep while it holds little; above it, it is given back.
const KEEP_CAPACITY: usize = 64 * 1024;

impl Decoder {
    /// Creates a decoder with the given limits.
    pub(crate) fn new(limits: Limits) -> Self {
        Self {
            limits,
            buf: Vec::new(),
            start: 0,
            state: State::Head(HeadScan::default()),
            body: Vec::new(),
            body_returned: false,
            skipping: false,
            closes: false,
            #[cfg(test)]
            head_parses: 0,
        }
    }

    /// Appends bytes read from the connection.
    pub(crate) fn push(&mut self, data: &[u8]) {
        self.release_body();
        if matches!(self.state, State::Done) {
            return;
        }
        self.compact();
        self.buf.extend_from_slice(data);
    }

    /// Returns the next decoded item, or `None` until more input arrives.
    pub(crate) fn next(&mut self) -> Option<Decoded> {
        self.release_body();
        loop {
            let step = match self.state {
                State::Head(_) => self.decode_head(),
                State::Length { .. } => self.decode_length(),
                State::Chunked(_) => self.decode_chunked(),
                State::Done => return None,
            };
            match step {
                Step::Pending => return None,
                Step::Item(item) => return Some(item),
                Step::Skipped => {}
            }
        }
    }

    /// Returns the bytes of a body range returned by `next`.
    pub(crate) fn body(&self, range: Range<usize>) -> &[u8] {
        self.body.get(range).unwrap_or_default()
    }

    /// Returns where the decoder is, for deadlines.
    pub(crate) fn phase(&self) -> Phase {
        match self.state {
            State::Head(_) if self.buffered() == 0 => Phase::Idle,
            State::Head(_) => Phase::Head,
            State::Length { .. } | State::Chunked(_) => Phase::Body,
            State::Done => Phase::Done,
        }
    }

    /// Returns the number of bytes buffered and not yet decoded.
    pub(crate) fn buffered(&self) -> usize {
        self.buf.len().saturating_sub(self.start)
    }

    /// Skips the body of the request whose head came last (after an early answer), so the
    /// next request can be decoded; returns false if the body cannot be skipped safely.
    ///
    /// A skipped body is still framed and held to the body limit, so a refusal can follow;
    /// no `Body` is returned for it.
    pub(crate) fn skip_body(&mut self) -> bool {
        match self.state {
            State::Length { .. } | State::Chunked(_) => {
                self.skipping = true;
                self.body = Vec::new();
                true
            }
            State::Head(_) | State::Done => false,
        }
    }

    /// Searches for the end of a head, then parses it and sets up its body.
    fn decode_head(&mut self) -> Step {
        let State::Head(scan) = &mut self.state else {
            return Step::Pending;
        };
        let pending = self.buf.get(self.start..).unwrap_or_default();
        if pending.is_empty() {
            return Step::Pending;
        }
        let request = match scan.advance(pending, &self.limits) {
            Scan::Pending => return Step::Pending,
            Scan::Refused(refusal) => return self.refuse(refusal),
            Scan::Complete { request } => request,
        };
        #[cfg(test)]
        {
            self.head_parses += 1;
        }
        let parsed = head::parse(pending.get(request.clone()).unwrap_or_default(), &self.limits);
        let head = match parsed {
            Ok(head) => head,
            Err(refusal) => return self.refuse(refusal),
        };
        self.start = self.start.saturating_add(request.end);
        self.closes = !head.keep_alive;
        self.skipping = false;
        self.body.clear();
        self.state = match head.body {
            BodyFraming::None => self.after_request(),
            BodyFraming::Length(length) => State::Length { remaining: length },
            BodyFraming::Chunked => {
                State::Chunked(Chunked::new(&self.limits, request.end, head.field_count()))
            }
        };
        if matches!(self.state, State::Done) {
            self.drop_input();
        }
        Step::Item(Decoded::Head(head))
    }

    /// Takes body bytes up to the Content-Length.
    fn decode_length(&mut self) -> Step {
        let State::Length { remaining } = &mut self.state else {
            return Step::Pending;
        };
        let pending = self.buf.get(self.start..).unwrap_or_default();
        let take = usize::try_from(*remaining).map_or(pending.len(), |left| left.min(pending.len()));
        if take == 0 {
            return Step::Pending;
        }
        if !self.skipping {
            let total = self
                .body
                .len()
                .saturating_add(usize::try_from(*remaining).unwrap_or(usize::MAX));
            reserve_within(&mut self.body, take, total);
            self.body
                .extend_from_slice(pending.get(..take).unwrap_or_default());
        }
        self.start = self.start.saturating_add(take);
        *remaining = remaining.saturating_sub(u64::try_from(take).unwrap_or(u64::MAX));
        if *remaining > 0 {
            return Step::Pending;
        }
        self.finish_body()
    }

    /// De-chunks what is buffered of a chunked body.
    fn decode_chunked(&mut self) -> Step {
        let State::Chunked(chunked) = &mut self.state else {
            return Step::Pending;
        };
        let pending = self.buf.get(self.start..).unwrap_or_default();
        let sink = if self.skipping { None } else { Some(&mut self.body) };
        let (used, outcome) = chunked.decode(pending, sink);
        self.start = self.start.saturating_add(used);
        match outcome {
            Chunk::Pending => Step::Pending,
            Chunk::Done => self.finish_body(),
            Chunk::Refused(refusal) => self.refuse(refusal),
        }
    }

    /// Ends the body being read: returns it, or goes on if it was skipped.
    fn finish_body(&mut self) -> Step {
        self.state = self.after_request();
        if matches!(self.state, State::Done) {
            self.drop_input();
        }
        if std::mem::take(&mut self.skipping) {
            return Step::Skipped;
        }
        self.body_returned = true;
        Step::Item(Decoded::Body(0..self.body.len()))
    }

    /// The state after a complete request: the next head, or nothing if it closes.
    fn after_request(&self) -> State {
        if self.closes {
            State::Done
        } else {
            State::Head(HeadScan::default())
        }
    }

    /// Ends decoding with a refusal, dropping everything buffered.
    fn refuse(&mut self, refusal: Refusal) -> Step {
        self.state = State::Done;
        self.drop_input();
        self.body = Vec::new();
        self.skipping = false;
        Step::Item(Decoded::Refused(refusal))
    }

    /// Frees the input once nothing more will be decoded from it.
    fn drop_input(&mut self) {
        self.buf = Vec::new();
        self.start = 0;
    }

    /// Drops a body that `next` returned, whose range is no longer valid.
    fn release_body(&mut self) {
        if std::mem::take(&mut self.body_returned) {
            self.body.clear();
            if self.body.capacity() > KEEP_CAPACITY {
                self.body = Vec::new();
            }
        }
    }

    /// Moves unconsumed bytes to the front of the buffer, when that costs no more than the
    /// bytes consumed since the last move (so each byte is moved at most once on average).
    fn compact(&mut self) {
        let unconsumed = self.buffered();
        if self.start == 0 || self.start < unconsumed {
            return;
        }
        self.buf.drain(..self.start.min(self.buf.len()));
        self.start = 0;
        if self.buf.capacity() > KEEP_CAPACITY && self.buf.len() < self.buf.capacity() / 4 {
            self.buf.shrink_to(self.buf.len().max(KEEP_CAPACITY));
        }
    }
}

/// Builds a refusal.
const fn refusal(status: u16, reason: &'static str) -> Refusal {
    Refusal { status, reason }
}

/// Returns whether `byte` may appear in a token (a method, field name or coding).
fn is_tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// Returns whether `bytes` is a non-empty token.
fn is_token(bytes: &[u8]) -> bool {
    !bytes.is_empty() && bytes.iter().all(|&b| is_tchar(b))
}

/// Returns whether `byte` is a control byte other than HTAB (never allowed in a field value).
fn is_forbidden_control(byte: u8) -> bool {
    (byte < 0x20 && byte != b'\t') || byte == 0x7f
}

/// Makes room in `body` for `extra` more bytes, doubling its capacity as usual but not past
/// `limit` bytes in all (the body's known or largest possible length).
fn reserve_within(body: &mut Vec<u8>, extra: usize, limit: usize) {
    let needed = body.len().saturating_add(extra);
    if needed <= body.capacity() {
        return;
    }
    let target = body.capacity().saturating_mul(2).min(limit).max(needed);
    body.reserve_exact(target.saturating_sub(body.len()));
}

/// Returns `bytes` without leading and trailing spaces and tabs.
fn trim_ows(bytes: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = bytes.iter().position(|b| !is_ows(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |last| last + 1);
    bytes.get(start..end).unwrap_or_default()
}
