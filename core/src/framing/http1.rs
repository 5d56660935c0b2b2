//! HTTP/1.1 request decoding: incremental, bounded, and strict about framing that could
//! smuggle a request. (Interface stub: the decoder itself is being written.)

use std::ops::Range;

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Head {
    /// The method, as sent (case-sensitive), e.g. `POST`.
    pub(crate) method: String,
    /// The request target, as sent (ASCII), e.g. `/mcp?x=1`.
    pub(crate) target: String,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub(crate) minor_version: u8,
    /// Header fields in order: names lowercased, values with surrounding whitespace trimmed.
    pub(crate) headers: Vec<(String, Vec<u8>)>,
    /// How the body is framed.
    pub(crate) body: BodyFraming,
    /// Whether the connection stays open after this request (version default and `Connection`).
    pub(crate) keep_alive: bool,
    /// Whether the client sent `Expect: 100-continue` (and has a body).
    pub(crate) expect_continue: bool,
}

impl Head {
    /// Returns the value of the first header named `name` (lowercase), if any.
    pub(crate) fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_slice())
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
    /// After a refusal or end of input: nothing more will be decoded.
    Done,
}

/// The incremental request decoder for one connection.
#[derive(Debug)]
pub(crate) struct Decoder {
    _limits: Limits,
}

impl Decoder {
    /// Creates a decoder with the given limits.
    pub(crate) fn new(limits: Limits) -> Self {
        Self { _limits: limits }
    }

    /// Appends bytes read from the connection.
    pub(crate) fn push(&mut self, _data: &[u8]) {}

    /// Returns the next decoded item, or `None` until more input arrives.
    pub(crate) fn next(&mut self) -> Option<Decoded> {
        None
    }

    /// Returns the bytes of a body range returned by `next`.
    pub(crate) fn body(&self, _range: Range<usize>) -> &[u8] {
        &[]
    }

    /// Returns where the decoder is, for deadlines.
    pub(crate) fn phase(&self) -> Phase {
        Phase::Idle
    }

    /// Returns the number of bytes buffered and not yet decoded.
    pub(crate) fn buffered(&self) -> usize {
        0
    }

    /// Skips the body of the request whose head came last (after an early answer), so the
    /// next request can be decoded; returns false if the body cannot be skipped safely.
    pub(crate) fn skip_body(&mut self) -> bool {
        false
    }
}
