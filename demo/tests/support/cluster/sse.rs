//! Server-sent events read as they arrive: the body of a `GET /mcp` stream, decoded from its
//! chunks and split into events as the SSE spec says, with a deadline on every wait and a cap
//! on what is kept.

use std::io::{BufReader, ErrorKind, Read};
use std::net::{Shutdown, TcpStream};
use std::time::Instant;

use serde_json::Value;

use super::http::{HttpResponse, IO_DEADLINE, MAX_RESPONSE_BYTES, is_chunked};

/// One event of an SSE stream.
#[derive(Debug, Clone, Default)]
pub struct SseEvent {
    /// The `id:` of the event itself, if it had one.
    pub id: Option<String>,
    /// The `event:` type, if it had one.
    pub event: Option<String>,
    /// Its `data:` lines, joined with `\n`.
    pub data: String,
}

impl SseEvent {
    /// The JSON-RPC message the event carries; `Value::Null` when its data is not JSON.
    pub fn message(&self) -> Value {
        serde_json::from_str(&self.data).unwrap_or(Value::Null)
    }
}

/// An SSE response whose events are read one at a time, as the server sends them; dropping
/// it closes the connection.
pub struct EventStream {
    head: HttpResponse,
    reader: BufReader<TcpStream>,
    /// Bytes read but not decoded yet (a chunked body's framing).
    raw: Vec<u8>,
    /// Where a chunked body's decoding stands; `None` when the body is not chunked, or its
    /// last chunk came.
    chunk: Option<Chunk>,
    /// Decoded body bytes not split into lines yet.
    body: Vec<u8>,
    /// The fields of the event being read.
    pending: SseEvent,
    ended: bool,
}

/// Where the decoding of a chunked body stands.
#[derive(Clone, Copy)]
enum Chunk {
    /// Waiting for a chunk-size line.
    Size,
    /// This many bytes of the chunk's data are still to come.
    Data(usize),
    /// Waiting for the CRLF after a chunk's data.
    End,
}

impl EventStream {
    /// Reads the body that follows `head` on `reader`.
    pub(super) fn new(head: HttpResponse, reader: BufReader<TcpStream>) -> Self {
        let chunk = is_chunked(&head).then_some(Chunk::Size);
        Self {
            head,
            reader,
            raw: Vec::new(),
            chunk,
            body: Vec::new(),
            pending: SseEvent::default(),
            ended: false,
        }
    }

    /// The response's status and header fields (its body is empty).
    pub fn head(&self) -> &HttpResponse {
        &self.head
    }

    /// The next event, waiting for it until `deadline`. Fails when the stream ends or the
    /// deadline passes first, or when the body is not a well-formed stream.
    pub fn next_event(&mut self, deadline: Instant) -> Result<SseEvent, String> {
        loop {
            while let Some(line) = self.take_line() {
                if let Some(event) = self.handle_line(&line) {
                    return Ok(event);
                }
            }
            if self.ended {
                return Err("the stream ended".into());
            }
            if Instant::now() >= deadline {
                return Err("no event before the deadline".into());
            }
            self.fill(deadline)?;
        }
    }

    /// Closes the connection, as a client that goes away does.
    pub fn close(self) {
        let _ = self.reader.get_ref().shutdown(Shutdown::Both);
    }

    /// Reads what the server sent (waiting until `deadline` at most) and decodes it.
    fn fill(&mut self, deadline: Instant) -> Result<(), String> {
        let wait = deadline
            .saturating_duration_since(Instant::now())
            .min(IO_DEADLINE);
        if wait.is_zero() {
            return Ok(());
        }
        self.reader
            .get_ref()
            .set_read_timeout(Some(wait))
            .map_err(|e| e.to_string())?;
        let mut buf = [0u8; 8192];
        let n = match self.reader.read(&mut buf) {
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => return Ok(()),
            Err(e) => return Err(format!("read: {e}")),
        };
        if n == 0 {
            self.ended = true;
            return Ok(());
        }
        if self.raw.len() + self.body.len() + self.pending.data.len() + n > MAX_RESPONSE_BYTES {
            return Err("the stream holds more than the cap without a whole event".into());
        }
        match self.chunk {
            Some(_) => {
                self.raw.extend_from_slice(&buf[..n]);
                self.decode_chunks()
            }
            None => {
                self.body.extend_from_slice(&buf[..n]);
                Ok(())
            }
        }
    }

    /// Moves the data of every whole piece of chunk framing in `raw` to `body`.
    fn decode_chunks(&mut self) -> Result<(), String> {
        while let Some(state) = self.chunk {
            match state {
                Chunk::Size => {
                    let Some(end) = self.raw.windows(2).position(|w| w == b"\r\n") else {
                        return Ok(());
                    };
                    let line = String::from_utf8_lossy(&self.raw[..end]).into_owned();
                    self.raw.drain(..end + 2);
                    let size = line.split(';').next().unwrap_or_default().trim();
                    let size =
                        usize::from_str_radix(size, 16).map_err(|_| format!("bad chunk size {line:?}"))?;
                    if size == 0 {
                        self.ended = true;
                        self.chunk = None;
                        return Ok(());
                    }
                    self.chunk = Some(Chunk::Data(size));
                }
                Chunk::Data(left) => {
                    let n = left.min(self.raw.len());
                    if n == 0 {
                        return Ok(());
                    }
                    self.body.extend(self.raw.drain(..n));
                    self.chunk = Some(if n == left {
                        Chunk::End
                    } else {
                        Chunk::Data(left - n)
                    });
                }
                Chunk::End => {
                    if self.raw.len() < 2 {
                        return Ok(());
                    }
                    if !self.raw.starts_with(b"\r\n") {
                        return Err("a chunk without its CRLF".into());
                    }
                    self.raw.drain(..2);
                    self.chunk = Some(Chunk::Size);
                }
            }
        }
        Ok(())
    }

    /// The next whole line of the body, without its line end.
    fn take_line(&mut self) -> Option<String> {
        let end = self.body.iter().position(|&b| b == b'\n')?;
        let mut line: Vec<u8> = self.body.drain(..=end).collect();
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Some(String::from_utf8_lossy(&line).into_owned())
    }

    /// Adds a line's field to the pending event; a blank line ends the event, which is
    /// returned when it has data.
    fn handle_line(&mut self, line: &str) -> Option<SseEvent> {
        if line.is_empty() {
            let mut event = std::mem::take(&mut self.pending);
            // No `data:` field: no event (the SSE spec's dispatch rule).
            event.data.pop()?;
            return Some(event);
        }
        if line.starts_with(':') {
            return None;
        }
        let (name, value) = match line.split_once(':') {
            Some((name, value)) => (name, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match name {
            "data" => {
                self.pending.data.push_str(value);
                self.pending.data.push('\n');
            }
            "id" => self.pending.id = Some(value.to_owned()),
            "event" => self.pending.event = Some(value.to_owned()),
            _ => {}
        }
        None
    }
}
