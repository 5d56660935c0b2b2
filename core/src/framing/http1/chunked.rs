//! The chunked transfer coding: chunk-size lines, data, and a trailer section that is checked
//! and discarded.

use super::{Limits, Refusal, is_forbidden_control, is_token, refusal, reserve_within, trim_ows};

/// Bytes in a chunk-size line, extensions and CRLF included.
const MAX_CHUNK_LINE_BYTES: usize = 1024;
/// Bytes of chunk extensions in one body.
const MAX_EXTENSION_BYTES: usize = 16 * 1024;
/// Hex digits in a chunk size (enough for any `u64`).
const MAX_SIZE_DIGITS: usize = 16;

const BARE_LF: Refusal = refusal(400, "bare LF in chunked framing");
const TRAILER_TOO_LARGE: Refusal = refusal(431, "trailer section too large");

/// Progress through one chunked body.
#[derive(Debug)]
pub(super) struct Chunked {
    step: Expect,
    /// Body bytes announced so far by chunk sizes.
    total: u64,
    /// The body limit.
    max_body: usize,
    /// Extension bytes so far.
    extension_bytes: usize,
    /// Bytes of the current line already searched for its LF.
    scanned: usize,
    /// Bytes the trailer fields may still take (what the head left of the head limit).
    trailer_bytes_left: usize,
    /// Fields the trailer may still add (what the head left of the field limit).
    trailer_fields_left: usize,
}

/// What comes next in the coding.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// A chunk-size line.
    Size,
    /// This many more bytes of chunk data.
    Data(u64),
    /// The CRLF after chunk data.
    DataEnd,
    /// A trailer field line, or the empty line that ends the body.
    Trailer,
}

/// The result of decoding buffered bytes.
pub(super) enum Chunk {
    /// More input is needed.
    Pending,
    /// The body ended (its last byte consumed).
    Done,
    /// The coding is broken or over a limit.
    Refused(Refusal),
}

/// The result of one step of the coding.
enum Advance {
    /// The step took this many bytes; the next step follows.
    Consumed(usize),
    /// The step needs more input.
    Pending,
    /// The body ended with a line of this many bytes.
    Ended(usize),
    /// The coding is broken or over a limit.
    Refused(Refusal),
}

/// A line found in the input.
enum Line<'a> {
    /// No LF yet, and the line may still fit.
    Pending,
    /// No LF within the maximum line length.
    TooLong,
    /// An LF without a CR before it.
    BareLf,
    /// A line: its content without CRLF, and its length with CRLF.
    Complete { content: &'a [u8], len: usize },
}

impl Chunked {
    /// Starts a body whose head took `head_bytes` bytes and `head_fields` fields.
    pub(super) fn new(limits: &Limits, head_bytes: usize, head_fields: usize) -> Self {
        Self {
            step: Expect::Size,
            total: 0,
            max_body: limits.max_body_bytes,
            extension_bytes: 0,
            scanned: 0,
            trailer_bytes_left: limits.max_head_bytes.saturating_sub(head_bytes),
            trailer_fields_left: limits.max_headers.saturating_sub(head_fields),
        }
    }

    /// Decodes from `input` (everything buffered), appending chunk data to `sink` unless the
    /// body is skipped; returns how many bytes were consumed and what happened.
    pub(super) fn decode(&mut self, input: &[u8], mut sink: Option<&mut Vec<u8>>) -> (usize, Chunk) {
        let mut used = 0usize;
        loop {
            let rest = input.get(used..).unwrap_or_default();
            let advance = match self.step {
                Expect::Size => self.size_line(rest),
                Expect::Data(left) => self.data(rest, left, sink.as_deref_mut()),
                Expect::DataEnd => self.data_end(rest),
                Expect::Trailer => self.trailer_line(rest),
            };
            match advance {
                Advance::Consumed(len) => used = used.saturating_add(len),
                Advance::Pending => return (used, Chunk::Pending),
                Advance::Ended(len) => return (used.saturating_add(len), Chunk::Done),
                Advance::Refused(refusal) => return (used, Chunk::Refused(refusal)),
            }
        }
    }

    /// Reads a chunk-size line.
    fn size_line(&mut self, rest: &[u8]) -> Advance {
        let (content, len) = match self.line(rest, MAX_CHUNK_LINE_BYTES) {
            Line::Pending => return Advance::Pending,
            Line::TooLong => return Advance::Refused(refusal(400, "chunk-size line too long")),
            Line::BareLf => return Advance::Refused(BARE_LF),
            Line::Complete { content, len } => (content, len),
        };
        let Some((size, extensions)) = parse_size_line(content) else {
            return Advance::Refused(refusal(400, "malformed chunk size"));
        };
        self.extension_bytes = self.extension_bytes.saturating_add(extensions);
        if self.extension_bytes > MAX_EXTENSION_BYTES {
            return Advance::Refused(refusal(400, "chunk extensions too long"));
        }
        self.total = self.total.saturating_add(size);
        if self.total > u64::try_from(self.max_body).unwrap_or(u64::MAX) {
            return Advance::Refused(refusal(413, "request body too large"));
        }
        self.step = if size == 0 {
            Expect::Trailer
        } else {
            Expect::Data(size)
        };
        Advance::Consumed(len)
    }

    /// Takes up to `left` bytes of chunk data, keeping them unless the body is skipped.
    fn data(&mut self, rest: &[u8], left: u64, sink: Option<&mut Vec<u8>>) -> Advance {
        let take = usize::try_from(left).map_or(rest.len(), |left| left.min(rest.len()));
        if take == 0 {
            return Advance::Pending;
        }
        if let Some(sink) = sink {
            reserve_within(sink, take, self.max_body);
            sink.extend_from_slice(rest.get(..take).unwrap_or_default());
        }
        let left = left.saturating_sub(u64::try_from(take).unwrap_or(u64::MAX));
        self.step = if left == 0 {
            Expect::DataEnd
        } else {
            Expect::Data(left)
        };
        Advance::Consumed(take)
    }

    /// Reads the CRLF that must follow chunk data.
    fn data_end(&mut self, rest: &[u8]) -> Advance {
        match rest.get(..2) {
            None => Advance::Pending,
            Some(b"\r\n") => {
                self.step = Expect::Size;
                Advance::Consumed(2)
            }
            Some(_) => Advance::Refused(refusal(400, "missing CRLF after chunk data")),
        }
    }

    /// Reads a trailer field line (checked, counted, discarded) or the empty line that ends
    /// the body.
    fn trailer_line(&mut self, rest: &[u8]) -> Advance {
        // The empty line that ends the body is always allowed its two bytes.
        let (content, len) = match self.line(rest, self.trailer_bytes_left.max(2)) {
            Line::Pending => return Advance::Pending,
            Line::TooLong => return Advance::Refused(TRAILER_TOO_LARGE),
            Line::BareLf => return Advance::Refused(BARE_LF),
            Line::Complete { content, len } => (content, len),
        };
        if content.is_empty() {
            return Advance::Ended(len);
        }
        if len > self.trailer_bytes_left {
            return Advance::Refused(TRAILER_TOO_LARGE);
        }
        if self.trailer_fields_left == 0 {
            return Advance::Refused(refusal(431, "too many trailer fields"));
        }
        if matches!(content.first(), Some(b' ' | b'\t')) {
            return Advance::Refused(refusal(400, "obsolete line folding in a trailer field"));
        }
        if !is_field_line(content) {
            return Advance::Refused(refusal(400, "malformed trailer field"));
        }
        self.trailer_bytes_left -= len;
        self.trailer_fields_left -= 1;
        Advance::Consumed(len)
    }

    /// Finds the end of the line at the start of `input`, which must come within `max` bytes;
    /// each byte is searched once however the line arrives.
    fn line<'a>(&mut self, input: &'a [u8], max: usize) -> Line<'a> {
        let window = input.get(..max).unwrap_or(input);
        let from = self.scanned.min(window.len());
        let Some(offset) = window.get(from..).and_then(|rest| memchr::memchr(b'\n', rest)) else {
            self.scanned = window.len();
            return if input.len() >= max {
                Line::TooLong
            } else {
                Line::Pending
            };
        };
        self.scanned = 0;
        let lf = from + offset;
        let Some(content_len) = lf.checked_sub(1).filter(|&cr| window.get(cr) == Some(&b'\r')) else {
            return Line::BareLf;
        };
        Line::Complete {
            content: window.get(..content_len).unwrap_or_default(),
            len: lf + 1,
        }
    }
}

/// Parses `chunk-size [ BWS ";" chunk-ext ]`; returns the size and the extension length.
///
/// The extensions are not interpreted, only checked for control bytes (a CR or LF in them
/// could end the line differently for another parser).
fn parse_size_line(line: &[u8]) -> Option<(u64, usize)> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 || digits > MAX_SIZE_DIGITS {
        return None;
    }
    let size = line.get(..digits)?.iter().try_fold(0u64, |size, &b| {
        let digit = char::from(b).to_digit(16)?;
        size.checked_mul(16)?.checked_add(u64::from(digit))
    })?;
    let extensions = line.get(digits..)?;
    let opens_extension = trim_ows(extensions).first() == Some(&b';');
    if !extensions.is_empty() && !opens_extension {
        return None;
    }
    if extensions.iter().any(|&b| is_forbidden_control(b)) {
        return None;
    }
    Some((size, extensions.len()))
}

/// Returns whether `line` is `name ":" value` with a token name and no control bytes.
fn is_field_line(line: &[u8]) -> bool {
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return false;
    };
    let (name, value) = line.split_at(colon);
    is_token(name) && !value.iter().any(|&b| is_forbidden_control(b))
}
