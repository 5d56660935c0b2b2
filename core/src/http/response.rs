//! Writing HTTP/1.1 responses: status line, headers, bodies by length, chunked or
//! close-delimited, and Server-Sent Events.

use std::io::Write;

/// The security headers every response carries, errors included, with `Vary: Origin`
/// (CORS answers depend on it): header lines, written as one block.
pub(crate) const COMMON_HEADER_LINES: &[u8] = b"X-Content-Type-Options: nosniff\r\n\
X-Frame-Options: DENY\r\n\
X-XSS-Protection: 1; mode=block\r\n\
Strict-Transport-Security: max-age=31536000; includeSubDomains\r\n\
Vary: Origin\r\n";

/// Builds one response head, header by header.
pub(crate) struct Head {
    buf: Vec<u8>,
}

impl Head {
    /// Starts a response with `status`.
    pub(crate) fn new(status: u16) -> Self {
        Self::with_room(status, 0)
    }

    /// Starts a response with `status`, with room for a body of `body` bytes after the head.
    pub(crate) fn with_room(status: u16, body: usize) -> Self {
        let mut buf = Vec::with_capacity(512 + body);
        if status == 200 {
            buf.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
        } else {
            buf.extend_from_slice(b"HTTP/1.1 ");
            buf.extend_from_slice(itoa::Buffer::new().format(status).as_bytes());
            buf.push(b' ');
            buf.extend_from_slice(reason(status).as_bytes());
            buf.extend_from_slice(b"\r\n");
        }
        Self { buf }
    }

    /// Adds header lines the server wrote beforehand, each ending in CRLF.
    pub(crate) fn lines(&mut self, lines: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(lines);
        self
    }

    /// The head written so far, for writers that add whole header lines (each ending in
    /// CRLF) without an intermediate string.
    pub(crate) fn buf_mut(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// Adds a header; values reaching here are built by the server, never raw client bytes.
    pub(crate) fn header(&mut self, name: &str, value: &str) -> &mut Self {
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.extend_from_slice(b": ");
        // Guard against header injection should a value ever carry a line break.
        if memchr::memchr2(b'\r', b'\n', value.as_bytes()).is_some() {
            self.buf
                .extend(value.bytes().filter(|&b| b != b'\r' && b != b'\n'));
        } else {
            self.buf.extend_from_slice(value.as_bytes());
        }
        self.buf.extend_from_slice(b"\r\n");
        self
    }

    /// Ends the head with `Content-Length` and appends the body.
    pub(crate) fn body(mut self, content_type: Option<&str>, body: &[u8]) -> Vec<u8> {
        if let Some(content_type) = content_type {
            // Content types are the server's own constants.
            self.buf.extend_from_slice(b"Content-Type: ");
            self.buf.extend_from_slice(content_type.as_bytes());
            self.buf.extend_from_slice(b"\r\n");
        }
        self.buf.extend_from_slice(b"Content-Length: ");
        self.buf
            .extend_from_slice(itoa::Buffer::new().format(body.len()).as_bytes());
        self.buf.extend_from_slice(b"\r\n\r\n");
        self.buf.reserve(body.len());
        self.buf.extend_from_slice(body);
        self.buf
    }

    /// Ends the head of a response that has no body and no `Content-Length` (204).
    pub(crate) fn without_body(mut self) -> Vec<u8> {
        self.buf.extend_from_slice(b"\r\n");
        self.buf
    }

    /// Ends the head for a body sent in chunks (or, for HTTP/1.0, until the connection closes).
    pub(crate) fn streaming(mut self, content_type: &str, chunked: bool) -> Vec<u8> {
        self.header("Content-Type", content_type);
        self.header("Cache-Control", "no-cache");
        // Proxies such as nginx must pass each event on as it comes.
        self.header("X-Accel-Buffering", "no");
        if chunked {
            self.header("Transfer-Encoding", "chunked");
        }
        self.buf.extend_from_slice(b"\r\n");
        self.buf
    }
}

/// Frames `data` as one chunk (or as raw bytes when not chunked).
pub(crate) fn chunk(data: &[u8], chunked: bool) -> Vec<u8> {
    if !chunked {
        return data.to_vec();
    }
    let mut out = Vec::with_capacity(data.len() + 12);
    let _ = write!(out, "{:x}\r\n", data.len());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

/// The last chunk of a chunked body.
pub(crate) const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// Frames one JSON-RPC message as a Server-Sent Event, with its event id when it has one.
pub(crate) fn sse_event(message: &[u8], id: Option<&str>) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 48);
    if let Some(id) = id {
        out.extend_from_slice(b"id: ");
        out.extend_from_slice(id.as_bytes());
        out.push(b'\n');
    }
    out.extend_from_slice(b"event: message\ndata: ");
    out.extend_from_slice(message);
    out.extend_from_slice(b"\n\n");
    out
}

/// The first event of a resumable stream: an id and a reconnection delay, with no data, so
/// that a client whose stream breaks knows where to resume from.
pub(crate) fn sse_priming(id: &str, retry_ms: u64) -> Vec<u8> {
    format!("id: {id}\nretry: {retry_ms}\ndata: \n\n").into_bytes()
}

/// Returns the reason phrase of a status code.
pub(crate) fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        202 => "Accepted",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        417 => "Expectation Failed",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_head_and_body() {
        let mut head = Head::new(200);
        head.header("X-A", "1").header("X-B", "a\r\nb");
        let bytes = head.body(Some("application/json"), b"{}");
        assert_eq!(
            bytes,
            b"HTTP/1.1 200 OK\r\nX-A: 1\r\nX-B: ab\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
        );
    }
}
