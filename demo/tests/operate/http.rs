//! A small HTTP/1.1 client over std sockets for the operations tests: keep-alive requests,
//! responses framed by Content-Length, chunks or the close, and the JSON-RPC messages in a
//! JSON or SSE body. Every read and write has a deadline.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::Value;

/// How long one read or write may wait.
pub const IO_DEADLINE: Duration = Duration::from_secs(30);

/// A JSON-RPC `initialize` of the 2025-11-25 revision (the legacy era: it makes a session).
pub const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"operate","version":"1"}}}"#;

/// A response: status, headers (names lowercased) and body.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The JSON-RPC messages of the body: the body itself when it is JSON, or each SSE
    /// `data:` line.
    pub fn messages(&self) -> Vec<Value> {
        let text = self.text();
        if let Ok(value) = serde_json::from_str::<Value>(&text) {
            return vec![value];
        }
        text.lines()
            .filter_map(|line| line.strip_prefix("data:"))
            .filter_map(|data| serde_json::from_str(data.trim()).ok())
            .collect()
    }

    /// The message that answers request `id`.
    pub fn answer(&self, id: u64) -> Option<Value> {
        self.messages().into_iter().find(|m| m["id"] == id)
    }
}

/// One client connection to 127.0.0.1.
pub struct Conn {
    stream: TcpStream,
    port: u16,
    /// Bytes read past the last response.
    buf: Vec<u8>,
}

impl Conn {
    /// Connects to `port` on 127.0.0.1.
    pub fn connect(port: u16) -> io::Result<Self> {
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let stream = TcpStream::connect_timeout(&address, Duration::from_secs(5))?;
        stream.set_read_timeout(Some(IO_DEADLINE))?;
        stream.set_write_timeout(Some(IO_DEADLINE))?;
        let _ = stream.set_nodelay(true);
        Ok(Self {
            stream,
            port,
            buf: Vec::new(),
        })
    }

    /// The socket, to change its timeouts or write raw bytes.
    pub fn stream(&mut self) -> &mut TcpStream {
        &mut self.stream
    }

    /// Sends `GET path` and reads the response.
    pub fn get(&mut self, path: &str, headers: &[(&str, &str)]) -> io::Result<Response> {
        self.send("GET", path, headers, "")?;
        self.read_response()
    }

    /// Sends a JSON-RPC `body` to `/mcp` and reads the response.
    pub fn post_mcp(&mut self, body: &str, headers: &[(&str, &str)]) -> io::Result<Response> {
        let mut all = vec![
            ("Content-Type", "application/json"),
            ("Accept", "application/json, text/event-stream"),
        ];
        all.extend_from_slice(headers);
        self.send("POST", "/mcp", &all, body)?;
        self.read_response()
    }

    /// Writes one request.
    pub fn send(&mut self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> io::Result<()> {
        let mut text = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n", self.port);
        for (name, value) in headers {
            text.push_str(&format!("{name}: {value}\r\n"));
        }
        if method != "GET" {
            text.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        text.push_str("\r\n");
        text.push_str(body);
        self.stream.write_all(text.as_bytes())
    }

    /// Reads one response.
    pub fn read_response(&mut self) -> io::Result<Response> {
        let end = loop {
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                break end;
            }
            self.fill()?;
        };
        let head = String::from_utf8_lossy(&self.buf[..end]).into_owned();
        self.buf.drain(..end + 4);
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| io::Error::other(format!("bad status line in {head:?}")))?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let mut response = Response {
            status,
            headers,
            body: Vec::new(),
        };
        if let Some(length) = response.header("content-length") {
            let length: usize = length.parse().map_err(io::Error::other)?;
            while self.buf.len() < length {
                self.fill()?;
            }
            response.body = self.buf.drain(..length).collect();
        } else if response
            .header("transfer-encoding")
            .is_some_and(|te| te.eq_ignore_ascii_case("chunked"))
        {
            response.body = self.read_chunks()?;
        } else {
            while self.fill().is_ok() {}
            response.body = std::mem::take(&mut self.buf);
        }
        Ok(response)
    }

    fn read_chunks(&mut self) -> io::Result<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(end) = find(&self.buf, b"\r\n") {
                    break end;
                }
                self.fill()?;
            };
            let size_text = String::from_utf8_lossy(&self.buf[..line_end]).into_owned();
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| io::Error::other(format!("bad chunk size {size_text:?}")))?;
            self.buf.drain(..line_end + 2);
            while self.buf.len() < size + 2 {
                self.fill()?;
            }
            body.extend(self.buf.drain(..size));
            self.buf.drain(..2);
            if size == 0 {
                return Ok(body);
            }
        }
    }

    /// Reads more bytes into the buffer; the end of input is an error.
    fn fill(&mut self) -> io::Result<()> {
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk)? {
            0 => Err(io::ErrorKind::UnexpectedEof.into()),
            n => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(())
            }
        }
    }
}

/// Sends a `tools/call` of `tool` with `arguments` (JSON text) on a connection of its own
/// and returns the response.
pub fn call_tool(port: u16, tool: &str, arguments: &str) -> io::Result<Response> {
    let body = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{tool}","arguments":{arguments}}}}}"#
    );
    let mut conn = Conn::connect(port)?;
    conn.post_mcp(&body, &[("Connection", "close")])
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The 50th percentile and the largest of `samples`.
pub fn p50_max(samples: &mut [Duration]) -> (Duration, Duration) {
    samples.sort();
    let p50 = samples.get(samples.len() / 2).copied().unwrap_or_default();
    let max = samples.last().copied().unwrap_or_default();
    (p50, max)
}

/// Sends `total` requests over keep-alive connections, handing each response to `seen`; a
/// request that fails panics. The server closes a connection after 1000 requests (it does
/// not always say so in the last response): a request that finds its reused connection
/// closed is sent again once on a new one, as HTTP clients do.
pub fn each_keep_alive(
    port: u16,
    total: usize,
    mut request: impl FnMut(&mut Conn) -> io::Result<Response>,
    mut seen: impl FnMut(&Response),
) {
    let mut conn = Conn::connect(port).expect("connect");
    let mut reused = false;
    for n in 0..total {
        let response = match request(&mut conn) {
            Err(err) if reused && is_closed(&err) => {
                conn = Conn::connect(port).expect("reconnect");
                request(&mut conn)
            }
            response => response,
        };
        let response = response.unwrap_or_else(|err| panic!("request {n}: {err}"));
        seen(&response);
        reused = true;
        if response
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
        {
            conn = Conn::connect(port).expect("reconnect");
            reused = false;
        }
    }
}

/// Returns whether `err` says the server had closed the connection.
pub fn is_closed(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionAborted
    )
}
