//! The client side of the deployment's HTTP: an HTTP/1.1 connection kept alive across
//! requests, as a client of a load balancer keeps it, with a deadline on every read and write
//! and a cap on what it reads. A `GET` answered with an SSE stream is handed on to
//! [`EventStream`], which reads it as it arrives.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::Value;

use super::sse::EventStream;

/// How long a read or write of [`HttpConnection`] may make no progress.
pub const IO_DEADLINE: Duration = Duration::from_secs(30);

/// The largest response head or body [`HttpConnection`] reads.
pub(super) const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// A response read by [`HttpConnection`].
pub struct HttpResponse {
    pub status: u16,
    /// Header fields in the order received, names as sent.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    /// The first value of the header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The JSON-RPC message of the body: the body itself, or the last `data:` of an SSE
    /// stream that parses as JSON; `Value::Null` when there is none.
    pub fn message(&self) -> Value {
        if let Ok(value) = serde_json::from_str(&self.body) {
            return value;
        }
        self.body
            .lines()
            .filter_map(|line| line.strip_prefix("data:"))
            .filter_map(|data| serde_json::from_str(data.trim()).ok())
            .next_back()
            .unwrap_or(Value::Null)
    }

    /// The status, headers and body, for a failure message.
    pub fn dump(&self) -> String {
        let headers: String = self
            .headers
            .iter()
            .map(|(name, value)| format!("{name}: {value}\n"))
            .collect();
        format!("HTTP {}\n{headers}\n{}", self.status, self.body)
    }
}

/// An HTTP/1.1 connection kept alive across requests; no read or write waits longer than
/// [`IO_DEADLINE`].
pub struct HttpConnection {
    port: u16,
    reader: BufReader<TcpStream>,
}

impl HttpConnection {
    /// Connects to `127.0.0.1:port`.
    pub fn open(port: u16) -> Result<Self, String> {
        let stream = connect(port, IO_DEADLINE)?;
        Ok(Self {
            port,
            reader: BufReader::new(stream),
        })
    }

    /// Sends `method path` with `headers` (`Host` and `Content-Length` are added) and
    /// `body`, and reads the whole response.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Result<HttpResponse, String> {
        self.send(method, path, headers, body)?;
        let head = self.read_head()?;
        self.read_body(head, method == "HEAD")
    }

    /// Sends `GET path` with `headers` and reads the response head: a `200` with a
    /// `text/event-stream` body becomes an [`EventStream`] that reads the events as they
    /// arrive; any other response is read whole and returned as the error.
    pub fn get_events(self, path: &str, headers: &[(&str, &str)]) -> Result<EventStream, String> {
        self.events("GET", path, headers, "")
    }

    /// Sends `POST path` with `headers` and `body`, and reads the response as
    /// [`get_events`](Self::get_events) does: a request whose answer streams, such as a tool
    /// call that asks the client something first.
    pub fn post_events(
        self,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Result<EventStream, String> {
        self.events("POST", path, headers, body)
    }

    fn events(
        mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Result<EventStream, String> {
        self.send(method, path, headers, body)?;
        let head = self.read_head()?;
        let is_sse = head
            .header("content-type")
            .is_some_and(|ct| ct.starts_with("text/event-stream"));
        if head.status == 200 && is_sse {
            return Ok(EventStream::new(head, self.reader));
        }
        let response = self.read_body(head, false)?;
        Err(format!(
            "{method} {path}: wanted 200 text/event-stream, got\n{}",
            response.dump()
        ))
    }

    fn send(&mut self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Result<(), String> {
        let mut request = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n", self.port);
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        if !body.is_empty() || method == "POST" {
            request.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        request.push_str("\r\n");
        request.push_str(body);
        let stream = self.reader.get_mut();
        stream
            .write_all(request.as_bytes())
            .map_err(|e| format!("write: {e}"))
    }

    /// The status line and header fields of a response, with an empty body.
    fn read_head(&mut self) -> Result<HttpResponse, String> {
        let status_line = self.read_line()?;
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| format!("bad status line {status_line:?}"))?;
        let mut headers = Vec::new();
        loop {
            let line = self.read_line()?;
            if line.is_empty() {
                break;
            }
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| format!("bad header line {line:?}"))?;
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
        Ok(HttpResponse {
            status,
            headers,
            body: String::new(),
        })
    }

    /// Reads the body that `response`'s head announces into it.
    fn read_body(&mut self, mut response: HttpResponse, head_only: bool) -> Result<HttpResponse, String> {
        let status = response.status;
        let no_body = head_only || status == 204 || status == 304 || (100..200).contains(&status);
        let body = if no_body {
            Vec::new()
        } else if is_chunked(&response) {
            self.read_chunked()?
        } else if let Some(length) = response.header("content-length") {
            let length: usize = length
                .parse()
                .map_err(|_| format!("bad Content-Length {length:?}"))?;
            if length > MAX_RESPONSE_BYTES {
                return Err(format!("a body of {length} bytes is over the cap"));
            }
            let mut body = vec![0; length];
            self.reader
                .read_exact(&mut body)
                .map_err(|e| format!("read body: {e}"))?;
            body
        } else {
            let mut body = Vec::new();
            (&mut self.reader)
                .take(MAX_RESPONSE_BYTES as u64)
                .read_to_end(&mut body)
                .map_err(|e| format!("read body: {e}"))?;
            body
        };
        response.body = String::from_utf8_lossy(&body).into_owned();
        Ok(response)
    }

    fn read_chunked(&mut self) -> Result<Vec<u8>, String> {
        let mut body = Vec::new();
        loop {
            let line = self.read_line()?;
            let size = line.split(';').next().unwrap_or_default().trim();
            let size = usize::from_str_radix(size, 16).map_err(|_| format!("bad chunk size {line:?}"))?;
            if size == 0 {
                // Trailers, up to the blank line.
                while !self.read_line()?.is_empty() {}
                return Ok(body);
            }
            if body.len() + size > MAX_RESPONSE_BYTES {
                return Err("a chunked body over the cap".into());
            }
            let start = body.len();
            body.resize(start + size, 0);
            self.reader
                .read_exact(&mut body[start..])
                .map_err(|e| format!("read chunk: {e}"))?;
            if !self.read_line()?.is_empty() {
                return Err("a chunk without its CRLF".into());
            }
        }
    }

    /// One line without its CRLF; end of input before it is an error.
    fn read_line(&mut self) -> Result<String, String> {
        let mut line = Vec::new();
        (&mut self.reader)
            .take(64 * 1024)
            .read_until(b'\n', &mut line)
            .map_err(|e| format!("read: {e}"))?;
        if line.last() != Some(&b'\n') {
            return Err(format!(
                "the connection ended mid-line: {:?}",
                String::from_utf8_lossy(&line)
            ));
        }
        while matches!(line.last(), Some(b'\n' | b'\r')) {
            line.pop();
        }
        Ok(String::from_utf8_lossy(&line).into_owned())
    }
}

/// Sends one request on a fresh connection (`Connection: close`) and reads the response.
pub fn http_request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<HttpResponse, String> {
    let mut headers = headers.to_vec();
    headers.push(("Connection", "close"));
    HttpConnection::open(port)?.request(method, path, &headers, body)
}

/// Whether `response`'s body comes in chunks.
pub(super) fn is_chunked(response: &HttpResponse) -> bool {
    response
        .header("transfer-encoding")
        .is_some_and(|te| te.eq_ignore_ascii_case("chunked"))
}

/// Connects to `127.0.0.1:port` with `deadline` on the connect and on every read and write.
pub(super) fn connect(port: u16, deadline: Duration) -> Result<TcpStream, String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let stream = TcpStream::connect_timeout(&addr, deadline).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(deadline))
        .and_then(|()| stream.set_write_timeout(Some(deadline)))
        .map_err(|e| e.to_string())?;
    Ok(stream)
}
