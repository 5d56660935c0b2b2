//! The `ops` target: a whole server driven through a list of operations decoded from bytes,
//! drained into a host that records everything and checks it as it arrives.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::dictionary::{http_message, message};
use super::{Reader, check_stats, fuzz_config, fuzz_tools, start, wire};
use crate::jsonrpc::{self, ParseFailure};
use crate::{
    Call, CallError, CallId, ConnectionId, Event, Framing, HandlerError, LogRecord, LoggingLevel, Message,
    Now, Server, ToolOutput, Transmit,
};

/// Decodes `data` as operations on one server (accept, input, end of input, disconnect,
/// time, call outcomes, tool messages, readiness, shutdown), drains after each, and checks
/// framing, answers and caps throughout. `base` is the caller's instant the virtual clock
/// starts from (the core reads no clock).
pub fn ops(data: &[u8], base: Instant) {
    let mut input = Reader(data);
    let mut run = Run::new(base);
    while let Some(code) = input.byte() {
        run.step(code, &mut input);
        run.host.drain(&mut run.server, run.now);
        check_stats(run.server.stats(), run.server.config());
    }
    run.finish();
}

/// How many connections one input may open.
const MAX_CONNECTIONS: usize = 8;

struct Run {
    server: Server,
    now: Now,
    host: Recorder,
}

impl Run {
    fn new(base: Instant) -> Self {
        let now = start(base);
        Self {
            server: Server::new(fuzz_config(), fuzz_tools(), [0; 32], now),
            now,
            host: Recorder::default(),
        }
    }

    /// Performs one operation; `code % 14` picks it: 0 accept, 1-2 a dictionary message,
    /// 3 raw bytes, 4 end of input, 5 disconnect, 6 advance time, 7 advance to the next
    /// deadline, 8 complete a call, 9 complete a finished call again, 10 a tool message,
    /// 11 set_ready, 12 shutdown, 13 toggle failing writes. Arguments follow the code.
    fn step(&mut self, code: u8, input: &mut Reader<'_>) {
        let arg = input.byte().unwrap_or(0);
        match code % 14 {
            0 => self.accept(arg),
            1 | 2 => {
                let (kind, extra) = (input.byte().unwrap_or(0), input.byte().unwrap_or(0));
                let Some(conn) = self.host.pick(arg) else { return };
                let bytes = match self.host.conns[&conn].framing {
                    Framing::Http => http_message(kind, extra, &self.host.sessions),
                    _ => message(kind, extra).into_bytes(),
                };
                self.input(conn, bytes);
            }
            3 => {
                let len = usize::from(input.byte().unwrap_or(0));
                let bytes = input.take(len).to_vec();
                if let Some(conn) = self.host.pick(arg) {
                    self.input(conn, bytes);
                }
            }
            4 => self.eof(arg),
            5 => {
                if let Some(conn) = self.host.pick(arg) {
                    self.server.handle_disconnect(conn, self.now);
                }
            }
            6 => self.advance(Duration::from_millis(u64::from(arg) * u64::from(arg) * 16)),
            7 => {
                if let Some(timeout) = self.server.poll_timeout() {
                    self.advance(timeout.at.saturating_duration_since(self.now.instant));
                }
            }
            8 => self.complete(arg, input.byte().unwrap_or(0)),
            9 => self.complete_stale(arg),
            10 => self.call_message(arg, input.byte().unwrap_or(0)),
            11 => self.server.set_ready(arg & 1 == 1),
            12 => self.server.shutdown(self.now),
            _ => {
                if let Some(conn) = self.host.pick(arg) {
                    let broken = &mut self.host.conns.get_mut(&conn).expect("picked").broken;
                    *broken = !*broken;
                }
            }
        }
    }

    fn accept(&mut self, arg: u8) {
        if self.host.conns.len() >= MAX_CONNECTIONS {
            return;
        }
        let framing = if arg & 1 == 0 {
            Framing::Http
        } else {
            Framing::Ndjson
        };
        let client = format!("127.0.0.{}", (arg >> 1) % 4 + 1);
        let conn = self.server.accept(client, framing, self.now);
        self.host.conns.insert(conn, Conn::new(framing));
    }

    /// Hands bytes to a connection as an adapter's reader would: when the server takes
    /// input, or once while it is paused (the chunk is parked), then waits for a resume.
    fn input(&mut self, conn: ConnectionId, bytes: Vec<u8>) {
        let wants = self.server.wants_input(conn);
        let state = self.host.conns.get_mut(&conn).expect("picked");
        if !wants && (state.awaiting_resume || state.eof) {
            return;
        }
        let result = self.server.handle_input(conn, &bytes, self.now);
        assert!(
            result.is_ok(),
            "input refused while allowed (wants_input {wants}): {result:?}"
        );
        state.awaiting_resume = true;
        state.note_input(&bytes);
    }

    fn eof(&mut self, arg: u8) {
        let Some(conn) = self.host.pick(arg) else { return };
        let state = self.host.conns.get_mut(&conn).expect("picked");
        if state.eof {
            return;
        }
        state.eof = true;
        state.note_eof();
        let result = self.server.handle_eof(conn, self.now);
        assert!(
            result.is_ok(),
            "end of input on an open connection refused: {result:?}"
        );
    }

    fn advance(&mut self, by: Duration) {
        self.now = self.now.advanced(by);
        self.server.handle_timeout(self.now);
    }

    fn complete(&mut self, index: u8, kind: u8) {
        if self.host.pending.is_empty() {
            return;
        }
        let call = self
            .host
            .pending
            .remove(usize::from(index) % self.host.pending.len());
        let id = call.id;
        let outcome = match kind % 5 {
            0 => Ok(ToolOutput::structured(json!({"name": call.name})).into()),
            1 => Ok(ToolOutput::error("fuzz tool error").into()),
            2 => Err(HandlerError::failed("fuzz failure")),
            // What `Call::run` makes of a handler that panics.
            3 => Err(HandlerError::failed("handler panicked: fuzz")),
            _ => super::poll_once(call),
        };
        let result = self.server.complete(id, outcome, self.now);
        assert!(result.is_ok(), "complete() refused a running call: {result:?}");
        self.host.finished.push(id);
    }

    fn complete_stale(&mut self, index: u8) {
        if self.host.finished.is_empty() {
            return;
        }
        let id = self.host.finished[usize::from(index) % self.host.finished.len()];
        let result = self
            .server
            .complete(id, Ok(ToolOutput::text("late").into()), self.now);
        assert!(
            matches!(result, Err(CallError::NotRunning(call)) if call == id),
            "complete() on a finished call: {result:?}"
        );
        assert!(self.server.poll_transmit().is_none(), "a late outcome sent bytes");
        assert!(
            self.server.poll_event().is_none(),
            "a late outcome emitted an event"
        );
    }

    fn call_message(&mut self, index: u8, kind: u8) {
        if self.host.pending.is_empty() {
            return;
        }
        let id = self.host.pending[usize::from(index) % self.host.pending.len()].id;
        let message = if kind & 1 == 0 {
            let level = ["debug", "info", "warning", "emergency"][usize::from(kind >> 1) % 4];
            Message::Log {
                level: LoggingLevel::parse(level).expect("a level"),
                logger: (kind & 2 == 0).then(|| "fuzz".to_owned()),
                data: json!({"kind": kind}),
            }
        } else {
            Message::Progress {
                progress: f64::from(kind),
                total: (kind & 2 == 0).then_some(256.0),
                message: (kind & 4 == 0).then(|| "step".to_owned()),
            }
        };
        let result = self.server.call_message(id, message, self.now);
        assert!(
            result.is_ok(),
            "call_message() refused for a running call: {result:?}"
        );
    }

    /// Ends input everywhere and lets every deadline pass: nothing may be left running.
    fn finish(mut self) {
        let open: Vec<ConnectionId> = self.host.conns.keys().copied().collect();
        for conn in open {
            let state = self.host.conns.get_mut(&conn).expect("open");
            if state.closed || state.eof {
                continue;
            }
            // An unterminated last line is still a message at end of input.
            state.note_eof();
            let _ = self.server.handle_eof(conn, self.now);
            self.host.drain(&mut self.server, self.now);
        }
        // Each pass times out the calls running; pipelined requests may start more.
        for _ in 0..512 {
            if self.server.stats().running_calls == 0 && self.host.pending.is_empty() {
                break;
            }
            self.advance(Duration::from_secs(3600));
            self.host.drain(&mut self.server, self.now);
        }
        let stats = self.server.stats();
        assert_eq!(stats.running_calls, 0, "calls outlive their deadline: {stats:?}");
        assert!(
            self.host.pending.is_empty(),
            "calls never completed nor cancelled"
        );
    }
}

/// The adapter side: what was written to each connection, which calls run, what closed.
#[derive(Default)]
struct Recorder {
    conns: BTreeMap<ConnectionId, Conn>,
    pending: Vec<Call>,
    finished: Vec<CallId>,
    sessions: Vec<String>,
    logs: usize,
}

impl Recorder {
    /// Picks one of the connections not yet closed.
    fn pick(&self, arg: u8) -> Option<ConnectionId> {
        let open: Vec<ConnectionId> = self
            .conns
            .iter()
            .filter(|(_, conn)| !conn.closed)
            .map(|(id, _)| *id)
            .collect();
        (!open.is_empty()).then(|| open[usize::from(arg) % open.len()])
    }
}

impl Recorder {
    /// Drains the server as an adapter would: writes, events, resumes.
    fn drain(&mut self, server: &mut Server, now: Now) {
        loop {
            let mut progressed = false;
            while let Some(transmit) = server.poll_transmit() {
                progressed = true;
                let connection = transmit.connection;
                if !self.transmit(transmit) {
                    server.handle_disconnect(connection, now);
                }
            }
            while let Some(event) = server.poll_event() {
                progressed = true;
                match event {
                    Event::Call(call) => self.run(call),
                    Event::Cancel(call) => self.cancel(call),
                    Event::Log(record) => self.log(record),
                    Event::Resume(connection) => self.resume(connection),
                    Event::Closed(connection) => self.close(connection),
                }
            }
            if !progressed {
                return;
            }
        }
    }

    fn transmit(&mut self, transmit: Transmit) -> bool {
        let conn = self
            .conns
            .get_mut(&transmit.connection)
            .expect("transmit to a connection never accepted");
        assert!(!conn.closed, "transmit after the connection closed");
        if conn.broken {
            return false;
        }
        conn.output.extend_from_slice(&transmit.data);
        match conn.framing {
            Framing::Http => {
                wire::check_http(&conn.output);
                for id in wire::session_ids(&transmit.data) {
                    if !self.sessions.contains(&id) {
                        self.sessions.push(id);
                    }
                }
            }
            _ => conn.check_lines(),
        }
        true
    }

    fn run(&mut self, call: Call) {
        self.pending.push(call);
    }

    fn cancel(&mut self, call: CallId) {
        let before = self.pending.len();
        self.pending.retain(|pending| pending.id != call);
        assert_eq!(
            self.pending.len() + 1,
            before,
            "cancel of a call not running: {call}"
        );
        self.finished.push(call);
    }

    fn log(&mut self, _record: LogRecord) {
        self.logs += 1;
    }

    fn close(&mut self, connection: ConnectionId) {
        let conn = self
            .conns
            .get_mut(&connection)
            .expect("close of a connection never accepted");
        assert!(!conn.closed, "a connection closed twice");
        conn.closed = true;
    }

    fn resume(&mut self, connection: ConnectionId) {
        let conn = self
            .conns
            .get_mut(&connection)
            .expect("resume of a connection never accepted");
        conn.awaiting_resume = false;
    }
}

/// One connection as the adapter sees it.
struct Conn {
    framing: Framing,
    output: Vec<u8>,
    /// How much of an NDJSON connection's output was checked, line by line.
    checked: usize,
    /// The unterminated tail of what was sent on an NDJSON connection.
    tail: Vec<u8>,
    /// How often each request id was sent, and answered (NDJSON only).
    requests: BTreeMap<String, usize>,
    answers: BTreeMap<String, usize>,
    awaiting_resume: bool,
    eof: bool,
    closed: bool,
    broken: bool,
}

impl Conn {
    fn new(framing: Framing) -> Self {
        Self {
            framing,
            output: Vec::new(),
            checked: 0,
            tail: Vec::new(),
            requests: BTreeMap::new(),
            answers: BTreeMap::new(),
            awaiting_resume: false,
            eof: false,
            closed: false,
            broken: false,
        }
    }

    /// Notes the ids of what was sent that may be answered, line by line.
    fn note_input(&mut self, bytes: &[u8]) {
        if self.framing == Framing::Http {
            return;
        }
        self.tail.extend_from_slice(bytes);
        while let Some(end) = self.tail.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.tail.drain(..=end).collect();
            self.note_line(&line);
        }
    }

    fn note_eof(&mut self) {
        let tail = std::mem::take(&mut self.tail);
        self.note_line(&tail);
    }

    fn note_line(&mut self, line: &[u8]) {
        // Requests get one answer, and so do messages refused with a readable id;
        // notifications and responses from the client get none.
        let id = match crate::jsonrpc::parse_message(line) {
            Ok(jsonrpc::Message::Request(request)) => request.id,
            Ok(_) | Err(ParseFailure { id: None, .. }) => return,
            Err(ParseFailure { id: Some(id), .. }) => id,
        };
        *self.requests.entry(id_key(id.as_json())).or_default() += 1;
    }

    /// Checks each new output line, and that no id is answered more often than it was sent.
    fn check_lines(&mut self) {
        while let Some(end) = self.output[self.checked..].iter().position(|&b| b == b'\n') {
            let line = &self.output[self.checked..self.checked + end];
            self.checked += end + 1;
            let message = wire::check_line(line);
            if message.get("method").is_some() {
                continue;
            }
            let id = message.get("id").cloned().unwrap_or(Value::Null);
            if id.is_null() {
                continue;
            }
            let key = id_key(&id.to_string());
            let answers = self.answers.entry(key.clone()).or_default();
            *answers += 1;
            let sent = self.requests.get(&key).copied().unwrap_or(0);
            assert!(
                *answers <= sent,
                "id {key} answered {answers} times, sent as a request {sent} times: {message}"
            );
        }
    }
}

/// Returns an id's JSON text in one normal form, whatever escapes the client used.
fn id_key(json: &str) -> String {
    serde_json::from_str::<Value>(json).map_or_else(|_| json.to_owned(), |id| id.to_string())
}
