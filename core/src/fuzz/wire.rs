//! Checks that what the server wrote is well framed: HTTP/1.1 responses and JSON-RPC lines.

use serde_json::Value;

/// How much of a connection's output was whole responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct HttpOutput {
    /// Responses written to the end.
    pub(super) complete: usize,
    /// Whether a last response is still being written, or runs until the connection closes.
    pub(super) open: bool,
}

/// Checks that `bytes` is a sequence of HTTP/1.1 responses, each framed by `Content-Length`,
/// by chunks or by the connection's close; the last may be cut short.
pub(super) fn check_http(bytes: &[u8]) -> HttpOutput {
    let mut rest = bytes;
    let mut complete = 0;
    while !rest.is_empty() {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut response = httparse::Response::new(&mut headers);
        let head = match response.parse(rest) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => return HttpOutput { complete, open: true },
            Err(err) => panic!("response {complete} does not parse ({err}): {:?}", lossy(rest)),
        };
        assert_eq!(
            response.version,
            Some(1),
            "every response is HTTP/1.1: {:?}",
            lossy(rest)
        );
        let code = response.code.unwrap_or_default();
        let framing = body_framing(code, response.headers, rest);
        rest = &rest[head..];
        let body = match framing {
            Framing::Empty => 0,
            Framing::Length(len) if len <= rest.len() => len,
            Framing::Chunked => match chunked_len(rest) {
                Some(len) => len,
                None => return HttpOutput { complete, open: true },
            },
            Framing::Length(_) | Framing::Close => return HttpOutput { complete, open: true },
        };
        rest = &rest[body..];
        complete += 1;
    }
    HttpOutput {
        complete,
        open: false,
    }
}

/// One HTTP response at the start of a connection's output, as far as it has arrived.
#[derive(Debug)]
pub(super) struct Response {
    pub(super) status: u16,
    /// The body so far, without chunked framing.
    pub(super) body: Vec<u8>,
    /// Whether the body is an SSE stream.
    pub(super) sse: bool,
    /// Whether it names a session (`Mcp-Session-Id`).
    pub(super) session: bool,
    /// How many bytes of the output the response takes, once it is whole.
    pub(super) len: Option<usize>,
}

/// Reads the response at the start of `bytes`, which `check_http` passed; `None` while its
/// head is not whole.
pub(super) fn read_response(bytes: &[u8]) -> Option<Response> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    let Ok(httparse::Status::Complete(head)) = response.parse(bytes) else {
        return None;
    };
    let status = response.code.unwrap_or_default();
    let sse = response
        .headers
        .iter()
        .any(|h| h.name.eq_ignore_ascii_case("content-type") && h.value.starts_with(b"text/event-stream"));
    let session = response
        .headers
        .iter()
        .any(|h| h.name.eq_ignore_ascii_case("mcp-session-id"));
    let rest = &bytes[head..];
    let (body, len) = match body_framing(status, response.headers, bytes) {
        Framing::Empty => (Vec::new(), Some(0)),
        Framing::Length(len) => (
            rest[..len.min(rest.len())].to_vec(),
            (len <= rest.len()).then_some(len),
        ),
        Framing::Chunked => {
            let mut body = Vec::new();
            let len = dechunk(rest, &mut body);
            (body, len)
        }
        Framing::Close => (rest.to_vec(), None),
    };
    Some(Response {
        status,
        body,
        sse,
        session,
        len: len.map(|len| head + len),
    })
}

/// One whole SSE event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SseEvent {
    pub(super) id: Option<String>,
    pub(super) data: String,
}

/// Returns the whole events of an SSE body (each ends with a blank line).
pub(super) fn sse_events(body: &[u8]) -> Vec<SseEvent> {
    let text = String::from_utf8_lossy(body);
    let Some(end) = text.rfind("\n\n") else {
        return Vec::new();
    };
    text[..end]
        .split("\n\n")
        .map(|block| {
            let mut event = SseEvent {
                id: None,
                data: String::new(),
            };
            for line in block.lines() {
                if let Some(id) = line.strip_prefix("id: ") {
                    event.id = Some(id.to_owned());
                } else if let Some(data) = line.strip_prefix("data: ") {
                    event.data.push_str(data);
                }
            }
            event
        })
        .collect()
}

/// Checks that `line` (without its newline) is one JSON-RPC 2.0 message; returns it.
pub(super) fn check_line(line: &[u8]) -> Value {
    let message: Value = serde_json::from_slice(line)
        .unwrap_or_else(|err| panic!("output line is not JSON ({err}): {:?}", lossy(line)));
    assert!(
        message.is_object() && message["jsonrpc"] == "2.0",
        "every output line is one JSON-RPC 2.0 object: {message}"
    );
    message
}

/// Returns the `Mcp-Session-Id` values announced in `bytes`.
pub(super) fn session_ids(bytes: &[u8]) -> impl Iterator<Item = String> + '_ {
    const NAME: &[u8] = b"\r\nMcp-Session-Id: ";
    bytes.windows(NAME.len()).enumerate().filter_map(|(at, window)| {
        if window != NAME {
            return None;
        }
        let value = &bytes[at + NAME.len()..];
        let end = value.iter().position(|&b| b == b'\r')?;
        Some(String::from_utf8_lossy(&value[..end]).into_owned())
    })
}

enum Framing {
    Empty,
    Length(usize),
    Chunked,
    Close,
}

fn body_framing(code: u16, headers: &[httparse::Header<'_>], raw: &[u8]) -> Framing {
    let lengths: Vec<&httparse::Header<'_>> = headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("content-length"))
        .collect();
    let chunked = headers
        .iter()
        .any(|h| h.name.eq_ignore_ascii_case("transfer-encoding") && h.value == b"chunked");
    assert!(lengths.len() <= 1, "one Content-Length at most: {:?}", lossy(raw));
    assert!(
        lengths.is_empty() || !chunked,
        "Content-Length and chunked together: {:?}",
        lossy(raw)
    );
    if (100..200).contains(&code) || code == 204 || code == 304 {
        assert!(!chunked, "a {code} response has no body: {:?}", lossy(raw));
        return Framing::Empty;
    }
    if chunked {
        return Framing::Chunked;
    }
    match lengths.first() {
        Some(header) => {
            let len = std::str::from_utf8(header.value)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("Content-Length is a number: {:?}", lossy(raw)));
            Framing::Length(len)
        }
        None => Framing::Close,
    }
}

/// Returns the length of a whole chunked body at the start of `bytes`, `None` if it is cut short.
fn chunked_len(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    loop {
        let (start, size) = match httparse::parse_chunk_size(&bytes[at..]) {
            Ok(httparse::Status::Complete(found)) => found,
            Ok(httparse::Status::Partial) => return None,
            Err(_) => panic!("bad chunk size line: {:?}", lossy(&bytes[at..])),
        };
        at += start;
        let size = usize::try_from(size).expect("chunk fits in memory");
        if bytes.len() < at + size + 2 {
            assert!(
                b"\r\n".starts_with(bytes.get(at + size..).unwrap_or_default()),
                "chunk data ends with CRLF: {:?}",
                lossy(&bytes[at..])
            );
            return None;
        }
        assert_eq!(
            &bytes[at + size..at + size + 2],
            b"\r\n",
            "chunk data ends with CRLF"
        );
        at += size + 2;
        if size == 0 {
            return Some(at);
        }
    }
}

/// Appends the data of the chunks at the start of `bytes` to `body`; returns the length of
/// the chunked body once it is whole.
fn dechunk(bytes: &[u8], body: &mut Vec<u8>) -> Option<usize> {
    let mut at = 0;
    loop {
        let Ok(httparse::Status::Complete((start, size))) = httparse::parse_chunk_size(&bytes[at..]) else {
            return None;
        };
        at += start;
        let size = usize::try_from(size).ok()?;
        let data = &bytes[at..];
        if data.len() < size + 2 {
            body.extend_from_slice(&data[..data.len().min(size)]);
            return None;
        }
        body.extend_from_slice(&data[..size]);
        at += size + 2;
        if size == 0 {
            return Some(at);
        }
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(600)]).into_owned()
}
