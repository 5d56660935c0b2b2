//! The request head: finding its end once per byte, then parsing and checking it whole.

use std::mem::MaybeUninit;
use std::ops::Range;

use super::{BodyFraming, Head, Limits, Refusal, is_forbidden_control, is_token, refusal, trim_ows};

const BARE_LF: Refusal = refusal(400, "bare LF in the request head");
const OBS_FOLD: Refusal = refusal(400, "obsolete line folding in a header field");
const HEAD_TOO_LARGE: Refusal = refusal(431, "request head too large");
const TARGET_TOO_LONG: Refusal = refusal(414, "request target too long");
const MALFORMED: Refusal = refusal(400, "malformed request head");

/// How far the search for the end of a head has come; offsets count from the head's first
/// byte, so they survive the buffer being compacted.
#[derive(Debug, Default)]
pub(super) struct HeadScan {
    /// Bytes searched for line ends.
    scanned: usize,
    /// Start of the line being searched.
    line_start: usize,
    /// Start of the request line (after any empty lines before it).
    request_start: usize,
    /// Whether the request line is complete and header lines follow.
    in_fields: bool,
    /// The space after the method, once seen.
    method_end: Option<usize>,
    /// The space after the target, once seen.
    target_end: Option<usize>,
    /// Bytes of the request line searched for those spaces.
    spaces_scanned: usize,
}

/// The result of searching buffered bytes for the end of a head.
pub(super) enum Scan {
    /// The head is not complete yet.
    Pending,
    /// The head is refused before it is complete (or when it is, for bare LF and obs-fold).
    Refused(Refusal),
    /// The head is complete: the request line and fields are `request`, and the head
    /// (with any empty lines before the request line) ends at `request.end`.
    Complete { request: Range<usize> },
}

impl HeadScan {
    /// Searches the bytes after those already searched; `input` starts at the head's first
    /// byte and holds everything buffered.
    pub(super) fn advance(&mut self, input: &[u8], limits: &Limits) -> Scan {
        let window = input.get(..limits.max_head_bytes).unwrap_or(input);
        loop {
            let from = self.scanned.min(window.len());
            let Some(offset) = window.get(from..).and_then(|rest| memchr::memchr(b'\n', rest)) else {
                break;
            };
            let lf = from + offset;
            self.scanned = lf + 1;
            let crlf = lf > self.line_start && window.get(lf - 1) == Some(&b'\r');
            let content_end = if crlf { lf - 1 } else { lf };
            // The target's length is judged on the request line first, as it is when the
            // line arrives in pieces.
            if !self.in_fields && self.target_too_long(window, content_end, limits.max_target_bytes) {
                return Scan::Refused(TARGET_TOO_LONG);
            }
            if !crlf {
                return Scan::Refused(BARE_LF);
            }
            let line_start = std::mem::replace(&mut self.line_start, lf + 1);
            if line_start == content_end {
                if self.in_fields {
                    return Scan::Complete {
                        request: self.request_start..lf + 1,
                    };
                }
                // An empty line before the request line, which a server should ignore.
                self.request_start = lf + 1;
                self.spaces_scanned = lf + 1;
                self.method_end = None;
                self.target_end = None;
            } else if !self.in_fields {
                self.in_fields = true;
            } else if matches!(window.get(line_start), Some(b' ' | b'\t')) {
                return Scan::Refused(OBS_FOLD);
            }
        }
        self.scanned = window.len();
        if !self.in_fields {
            // A CR at the end may be the start of the line's CRLF: leave it out for now.
            let end = window.len() - usize::from(window.last() == Some(&b'\r'));
            if self.target_too_long(window, end, limits.max_target_bytes) {
                return Scan::Refused(TARGET_TOO_LONG);
            }
        }
        if input.len() >= limits.max_head_bytes.max(1) {
            return Scan::Refused(HEAD_TOO_LARGE);
        }
        Scan::Pending
    }

    /// Returns whether the request line, as far as `end`, shows a target over `max` bytes.
    fn target_too_long(&mut self, window: &[u8], end: usize, max: usize) -> bool {
        if self.method_end.is_none() {
            self.method_end = self.find_space(window, end);
        }
        let Some(method_end) = self.method_end else {
            return false;
        };
        if self.target_end.is_none() {
            self.target_end = self.find_space(window, end);
        }
        let target_end = self.target_end.unwrap_or(end);
        target_end.saturating_sub(method_end + 1) > max
    }

    /// Finds the next space of the request line before `end`, searching each byte once.
    fn find_space(&mut self, window: &[u8], end: usize) -> Option<usize> {
        let from = self.spaces_scanned;
        let found = window
            .get(from..end)
            .and_then(|rest| rest.iter().position(|&b| b == b' '))
            .map(|offset| from + offset);
        self.spaces_scanned = found.map_or(end.max(from), |at| at + 1);
        found
    }
}

/// Header slots kept on the stack; a head that could hold more gets its slots from the heap.
const STACK_SLOTS: usize = 64;

/// Parses a complete head (request line to the empty line, CRLF line ends already checked)
/// and applies the framing and field rules.
pub(super) fn parse(bytes: &[u8], limits: &Limits) -> Result<Head, Refusal> {
    // A field line takes at least 4 bytes ("a:" CRLF): no head needs more slots than this.
    let slot_count = limits.max_headers.min(bytes.len() / 4 + 1);
    // httparse fills the slots it uses, so they start uninitialized (no unsafe code involved).
    let mut on_stack = [const { MaybeUninit::uninit() }; STACK_SLOTS];
    let mut on_heap = Vec::new();
    let slots = match on_stack.get_mut(..slot_count) {
        Some(slots) => slots,
        None => {
            on_heap.resize_with(slot_count, MaybeUninit::uninit);
            on_heap.as_mut_slice()
        }
    };
    let mut request = httparse::Request::new(&mut []);
    match request.parse_with_uninit_headers(bytes, slots) {
        Ok(httparse::Status::Complete(len)) if len == bytes.len() => {}
        Ok(_) => return Err(MALFORMED),
        Err(httparse::Error::Version) => return Err(refusal(505, "HTTP version not supported")),
        Err(httparse::Error::TooManyHeaders) => return Err(refusal(431, "too many header fields")),
        Err(_) => return Err(MALFORMED),
    }
    let (Some(method), Some(target), Some(minor_version)) = (request.method, request.path, request.version)
    else {
        return Err(MALFORMED);
    };
    check_target(method, target, limits)?;
    let mut head = copy_head(bytes, method, target, minor_version, request.headers);
    let fields = Fields::of(&head);
    if fields.hosts > 1 || (fields.hosts == 0 && minor_version == 1) {
        return Err(refusal(400, "missing or repeated Host"));
    }
    let body = framing(&head, &fields, limits)?;
    let expect_continue =
        expects_continue(&head, &fields)? && minor_version == 1 && body != BodyFraming::None;
    let keep_alive = keep_alive(&head, &fields);
    head.body = body;
    head.expect_continue = expect_continue;
    head.keep_alive = keep_alive;
    Ok(head)
}

/// What the framing and connection rules look at, gathered in one pass over the fields.
#[derive(Default)]
struct Fields<'a> {
    hosts: usize,
    /// The first `Content-Length` value, and how many there were.
    length: Option<&'a [u8]>,
    lengths: usize,
    transfer_encoding: bool,
    connection: bool,
    expect: bool,
}

impl<'a> Fields<'a> {
    fn of(head: &'a Head) -> Self {
        let mut fields = Self::default();
        for (name, value) in head.fields() {
            match name {
                b"host" => fields.hosts += 1,
                b"content-length" => {
                    fields.lengths += 1;
                    fields.length = fields.length.or(Some(value));
                }
                b"transfer-encoding" => fields.transfer_encoding = true,
                b"connection" => fields.connection = true,
                b"expect" => fields.expect = true,
                _ => {}
            }
        }
        fields
    }
}

/// Copies the head into a `Head` in one piece, with ranges for the method, the target and
/// each field (names lowercased in the copy, values trimmed). The framing and connection options are left for the caller to decide.
fn copy_head(
    bytes: &[u8],
    method: &str,
    target: &str,
    minor_version: u8,
    raw: &[httparse::Header<'_>],
) -> Head {
    // httparse's slices all point into `bytes`: their offsets are where they sit in the copy.
    let at = |part: &[u8]| {
        let start = (part.as_ptr() as usize).saturating_sub(bytes.as_ptr() as usize);
        start..start + part.len()
    };
    let mut text = bytes.to_vec();
    let mut fields = Vec::with_capacity(raw.len());
    for field in raw {
        // httparse refuses control bytes in values itself (its value bytes are HTAB, SP to
        // `~` and obs-text), so none reach here.
        debug_assert!(!field.value.iter().any(|&b| is_forbidden_control(b)));
        let name = at(field.name.as_bytes());
        if let Some(name) = text.get_mut(name.clone()) {
            name.make_ascii_lowercase();
        }
        fields.push((name, at(trim_ows(field.value))));
    }
    Head {
        text,
        method: at(method.as_bytes()),
        target: at(target.as_bytes()),
        fields,
        minor_version,
        body: BodyFraming::None,
        keep_alive: false,
        expect_continue: false,
    }
}

/// Checks the request target: its length, its bytes, and its form.
fn check_target(method: &str, target: &str, limits: &Limits) -> Result<(), Refusal> {
    if target.len() > limits.max_target_bytes {
        return Err(TARGET_TOO_LONG);
    }
    if !target.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(refusal(400, "invalid byte in the request target"));
    }
    let scheme = |prefix: &str| {
        target
            .get(..prefix.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
    };
    let valid = match target {
        "*" => method == "OPTIONS",
        _ => target.starts_with('/') || scheme("http://") || scheme("https://"),
    };
    if valid {
        Ok(())
    } else {
        Err(refusal(400, "unsupported request target form"))
    }
}

/// Returns the trimmed elements of a comma-separated list value, empty ones included.
fn elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b',').map(trim_ows)
}

/// Decides how the body is framed, refusing anything ambiguous.
fn framing(head: &Head, fields: &Fields<'_>, limits: &Limits) -> Result<BodyFraming, Refusal> {
    if fields.transfer_encoding {
        if head.minor_version == 0 {
            return Err(refusal(400, "Transfer-Encoding in an HTTP/1.0 request"));
        }
        if fields.lengths > 0 {
            return Err(refusal(400, "both Content-Length and Transfer-Encoding"));
        }
        check_codings(head.values("transfer-encoding"))?;
        return Ok(BodyFraming::Chunked);
    }
    let Some(length) = fields.length else {
        return Ok(BodyFraming::None);
    };
    if fields.lengths > 1 {
        return Err(refusal(400, "more than one Content-Length"));
    }
    let length = parse_length(length).ok_or(refusal(400, "malformed Content-Length"))?;
    if length > u64::try_from(limits.max_body_bytes).unwrap_or(u64::MAX) {
        return Err(refusal(413, "request body too large"));
    }
    Ok(if length == 0 {
        BodyFraming::None
    } else {
        BodyFraming::Length(length)
    })
}

/// Parses a Content-Length value: 1 to 19 ASCII digits, nothing else.
fn parse_length(value: &[u8]) -> Option<u64> {
    if value.is_empty() || value.len() > 19 {
        return None;
    }
    value.iter().try_fold(0u64, |total, &b| {
        let digit = b.is_ascii_digit().then(|| u64::from(b - b'0'))?;
        total.checked_mul(10)?.checked_add(digit)
    })
}

/// Accepts exactly one `chunked`, last; refuses misplaced or repeated `chunked` (400) and
/// any other coding (501).
fn check_codings<'a>(values: impl Iterator<Item = &'a [u8]>) -> Result<(), Refusal> {
    let malformed = refusal(400, "malformed Transfer-Encoding");
    let mut chunked = 0usize;
    let mut last_chunked = false;
    let mut unknown = false;
    for value in values {
        for element in elements(value) {
            let (name, params) = match element.iter().position(|&b| b == b';') {
                Some(semicolon) => (element.get(..semicolon).unwrap_or_default(), true),
                None => (element, false),
            };
            let name = trim_ows(name);
            if !is_token(name) {
                return Err(malformed);
            }
            last_chunked = name.eq_ignore_ascii_case(b"chunked");
            if last_chunked {
                if params {
                    return Err(malformed);
                }
                chunked += 1;
            } else {
                unknown = true;
            }
        }
    }
    if chunked > 1 {
        return Err(refusal(400, "chunked applied more than once"));
    }
    if chunked == 1 && !last_chunked {
        return Err(refusal(400, "chunked is not the final transfer coding"));
    }
    if unknown {
        return Err(refusal(501, "unsupported transfer coding"));
    }
    if chunked == 0 {
        return Err(malformed);
    }
    Ok(())
}

/// Returns whether the connection stays open: HTTP/1.1 unless `close`, HTTP/1.0 only with
/// `keep-alive` (and no `close`).
fn keep_alive(head: &Head, fields: &Fields<'_>) -> bool {
    if !fields.connection {
        return head.minor_version == 1;
    }
    let mut close = false;
    let mut keep = false;
    for option in head.values("connection").flat_map(elements) {
        close |= option.eq_ignore_ascii_case(b"close");
        keep |= option.eq_ignore_ascii_case(b"keep-alive");
    }
    !close && (head.minor_version == 1 || keep)
}

/// Returns whether `Expect: 100-continue` was sent; refuses any other expectation (417).
fn expects_continue(head: &Head, fields: &Fields<'_>) -> Result<bool, Refusal> {
    if !fields.expect {
        return Ok(false);
    }
    let mut expects = false;
    for value in head.values("expect") {
        if !value.eq_ignore_ascii_case(b"100-continue") {
            return Err(refusal(417, "unsupported expectation"));
        }
        expects = true;
    }
    Ok(expects)
}
