//! The `ops` target: a whole server driven through a list of operations decoded from bytes,
//! drained into a host that records everything and checks it as it arrives.

mod calls;
mod conn;
mod handlers;
mod host;
mod modern;
mod pipe;
mod store;

use std::time::{Duration, Instant};

use super::dictionary::{self, HttpRequest, NEW, http_message, message};
use super::peer::{Expect, Route};
use super::registry::{URIS, fuzz_registry};
use super::{Reader, check_stats, fuzz_config, start};
use crate::{CallId, ConnectionId, Framing, Notice, Now, Server};

use conn::Conn;
use handlers::{Ask, Mail};
use host::Recorder;
use store::StoreHost;

/// Decodes `data` as operations on one server (accept, input, end of input, disconnect,
/// time, call outcomes, handler messages, answers to the server's requests, streams,
/// notices, readiness, shutdown, 2026-07-28 messages and retries of their rounds), drains
/// after each, and checks framing, answers, routing and caps throughout. `base` is the caller's instant the virtual clock starts from (the
/// core reads no clock).
///
/// An input that starts with [`SHARED_STORE`] runs the server with a shared store; the byte
/// after it scripts how the store answers (see `StoreHost`).
pub fn ops(data: &[u8], base: Instant) {
    let (store, data) = match data {
        [SHARED_STORE, script, rest @ ..] => (Some(*script), rest),
        _ => (None, data),
    };
    let mut input = Reader(data);
    let mut run = Run::new(base, store);
    while let Some(code) = input.byte() {
        run.step(code, &mut input);
        run.host.drain(&mut run.server, run.now);
        run.check();
    }
    run.finish();
}

/// A first byte that gives the server a shared store; no input before it started so.
const SHARED_STORE: u8 = 0xFF;

/// How many connections one input may open.
const MAX_CONNECTIONS: usize = 8;

/// Codes from here on pick the operations added with the later features; codes below keep
/// the meaning they had when the first seeds were written.
const NEW_OPS: u8 = 0xC0;

/// Codes from here to `MODERN_OPS + 15` pick the operations of the 2026-07-28 revision (see
/// `modern_step`); no earlier seed used them.
const MODERN_OPS: u8 = 0xE0;

struct Run {
    server: Server,
    now: Now,
    host: Recorder,
    /// What handlers sent, until it is passed on.
    mail: Mail,
    asks: Vec<Ask>,
}

impl Run {
    fn new(base: Instant, store: Option<u8>) -> Self {
        let now = start(base);
        let mut config = fuzz_config();
        if store.is_some() {
            config.store.url = Some("redis://fuzz".into());
            config.tool_rate_limits = [("echo".to_owned(), 3)].into_iter().collect();
        }
        Self {
            server: Server::new(config, fuzz_registry(), [0; 32], now),
            now,
            host: Recorder::new(store.map(StoreHost::new)),
            mail: Mail::default(),
            asks: Vec::new(),
        }
    }

    /// Performs one operation; below [`NEW_OPS`], `code % 14` picks it: 0 accept, 1-2 a
    /// dictionary message, 3 raw bytes, 4 end of input, 5 disconnect, 6 advance time, 7
    /// advance to the next deadline, 8 complete a call, 9 complete a finished call again, 10
    /// a log or progress message, 11 set_ready, 12 shutdown, 13 toggle failing writes; from
    /// [`NEW_OPS`] on, see `new_step` (and `modern_step` from [`MODERN_OPS`] to 15 past
    /// it). Arguments follow the code.
    fn step(&mut self, code: u8, input: &mut Reader<'_>) {
        if (MODERN_OPS..MODERN_OPS + 0x10).contains(&code) {
            return self.modern_step(code - MODERN_OPS, input);
        }
        if code >= NEW_OPS {
            return self.new_step(code - NEW_OPS, input);
        }
        let arg = input.byte().unwrap_or(0);
        match code % 14 {
            0 => self.accept(arg),
            1 | 2 => {
                let (kind, extra) = (input.byte().unwrap_or(0), input.byte().unwrap_or(0));
                self.dictionary(arg, kind, extra);
            }
            3 => {
                let len = usize::from(input.byte().unwrap_or(0));
                let bytes = input.take(len).to_vec();
                if let Some(conn) = self.host.pick(arg)
                    && self.takes_input(conn)
                {
                    self.conn(conn).http.raw();
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
            7 => self.jump(),
            8 => self.complete(arg, input.byte().unwrap_or(0)),
            9 => self.complete_stale(arg),
            10 => self.call_message(arg, input.byte().unwrap_or(0)),
            11 => self.server.set_ready(arg & 1 == 1),
            12 => self.server.shutdown(self.now),
            _ => {
                if let Some(conn) = self.host.pick(arg) {
                    let broken = &mut self.conn(conn).broken;
                    *broken = !*broken;
                }
            }
        }
    }

    /// The operations added with the later features; `code % 8` picks: 0 poll a handler, 1
    /// answer a request of the server, 2 `GET /mcp` (resuming a stream), 3 `Server::notify`,
    /// 4 a heartbeat, notice or extra request from a running call, 5 a message of the
    /// dictionary's second table, 6 poll every handler, 7 answer the latest requests well.
    fn new_step(&mut self, code: u8, input: &mut Reader<'_>) {
        let arg = input.byte().unwrap_or(0);
        match code % 8 {
            0 => self.poll(arg),
            1 => {
                let (how, whence) = (input.byte().unwrap_or(0), input.byte().unwrap_or(0));
                self.answer(arg, how, whence);
            }
            2 => {
                let (pick, how) = (input.byte().unwrap_or(0), input.byte().unwrap_or(0));
                self.resume(arg, pick, how);
            }
            3 => self.server.notify(notice(arg), self.now),
            4 => self.handler_message(arg, input.byte().unwrap_or(0)),
            5 => {
                let (kind, extra) = (input.byte().unwrap_or(0), input.byte().unwrap_or(0));
                self.dictionary(arg, kind | NEW, extra);
            }
            6 => {
                let ids: Vec<CallId> = self.host.pending.iter().map(|handler| handler.id).collect();
                for id in ids {
                    self.poll_id(id);
                }
            }
            _ => {
                let latest: Vec<u8> = (0..4).map(|back| arg.wrapping_sub(back)).collect();
                for pick in latest {
                    self.answer(pick, 0x10 | (arg & 0x20), 0);
                }
            }
        }
    }

    /// Checks what must hold between steps: the tables within their caps, and every request
    /// made for a call that ended resolved.
    fn check(&mut self) {
        check_stats(self.server.stats(), self.server.config());
        for ask in &mut self.asks {
            if !self.host.is_pending(ask.call) {
                ask.poll();
                assert!(
                    ask.done,
                    "a request of {} left unresolved after it ended",
                    ask.call
                );
            }
        }
        self.asks.retain(|ask| !ask.done);
    }

    fn conn(&mut self, conn: ConnectionId) -> &mut Conn {
        self.host.conns.get_mut(&conn).expect("a known connection")
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
        self.accept_as(arg, framing);
    }

    /// Accepts a connection of the client `arg >> 1` picks.
    fn accept_as(&mut self, arg: u8, framing: Framing) -> ConnectionId {
        let client = format!("127.0.0.{}", (arg >> 1) % 4 + 1);
        let conn = self.server.accept(client, framing, self.now);
        self.host.conns.insert(conn, Conn::new(framing));
        conn
    }

    /// Sends a message of the dictionary to the connection `arg` picks.
    fn dictionary(&mut self, arg: u8, kind: u8, extra: u8) {
        let Some(conn) = self.host.pick(arg) else { return };
        match self.host.conns[&conn].framing {
            Framing::Http => {
                let request = http_message(kind, extra, &self.host.peer.sessions);
                self.send_http(conn, request);
            }
            _ => {
                self.input(conn, message(kind, extra).0.into_bytes());
            }
        }
    }

    /// Sends a request of the dictionary, noted first: what answers it at once is read back
    /// before `input` returns.
    fn send_http(&mut self, conn: ConnectionId, request: HttpRequest) {
        if self.takes_input(conn) {
            self.conn(conn).http.sent(request.sent);
            self.input(conn, request.bytes);
        }
    }

    /// Returns whether an adapter's reader hands the connection a chunk now: when the server
    /// takes input, or once while it is paused (the chunk is parked), then not until a resume.
    fn takes_input(&self, conn: ConnectionId) -> bool {
        let state = &self.host.conns[&conn];
        self.server.wants_input(conn) || !(state.awaiting_resume || state.eof)
    }

    /// Hands bytes to a connection as an adapter's reader would (see `takes_input`).
    /// Returns whether the bytes were handed over.
    fn input(&mut self, conn: ConnectionId, bytes: Vec<u8>) -> bool {
        if !self.takes_input(conn) {
            return false;
        }
        let wants = self.server.wants_input(conn);
        let host = &mut self.host;
        let state = host.conns.get_mut(&conn).expect("picked");
        let result = self.server.handle_input(conn, &bytes, self.now);
        assert!(
            result.is_ok(),
            "input refused while allowed (wants_input {wants}): {result:?}"
        );
        state.awaiting_resume = true;
        state.note_input(&bytes, &host.peer);
        // Drained at once, as an adapter does: a resume must not be taken for a later chunk.
        self.host.drain(&mut self.server, self.now);
        true
    }

    fn eof(&mut self, arg: u8) {
        let Some(conn) = self.host.pick(arg) else { return };
        let host = &mut self.host;
        let state = host.conns.get_mut(&conn).expect("picked");
        if state.eof {
            return;
        }
        state.eof = true;
        state.note_eof(&host.peer);
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

    fn jump(&mut self) {
        if let Some(timeout) = self.server.poll_timeout() {
            self.advance(timeout.at.saturating_duration_since(self.now.instant));
        }
    }

    /// Answers a request of the server (or an id none has), from where `whence` says: 0-1
    /// where the request went, 2 a connection `whence` picks (in a session it picks), 3 an
    /// HTTP connection without a session.
    fn answer(&mut self, pick: u8, how: u8, whence: u8) {
        let answer = self.host.peer.answer(pick, how);
        let other = whence >> 2;
        let (conn, session) = match (whence % 4, &answer.route) {
            (0 | 1, Some(Route::Conn(conn))) => (Some(*conn), None),
            (0 | 1, Some(Route::Session(session))) => {
                let conn = self.host.pick_where(other, |conn| conn.framing == Framing::Http);
                (conn, Some(session.clone()))
            }
            (3, _) => (
                self.host.pick_where(other, |conn| conn.framing == Framing::Http),
                None,
            ),
            _ => {
                let sessions = &self.host.peer.sessions;
                let session =
                    (!sessions.is_empty()).then(|| sessions[usize::from(other) % sessions.len()].clone());
                (self.host.pick(other), session)
            }
        };
        let Some(conn) = conn.filter(|conn| self.host.conns.get(conn).is_some_and(|c| !c.closed)) else {
            return;
        };
        match self.host.conns[&conn].framing {
            Framing::Http => {
                let request = dictionary::post(&answer.body, session.as_deref(), Expect::Answer(answer.id));
                self.send_http(conn, request);
            }
            _ => {
                self.input(conn, format!("{}\n", answer.body).into_bytes());
            }
        }
    }

    /// Opens `GET /mcp` on the HTTP connection `arg` picks, resuming a stream as the peer
    /// picks.
    fn resume(&mut self, arg: u8, pick: u8, how: u8) {
        let Some(conn) = self.host.pick_where(arg, |conn| conn.framing == Framing::Http) else {
            return;
        };
        let (session, last, expect) = self.host.peer.resume(pick, how);
        let request = dictionary::stream(session, last.as_deref(), expect);
        self.send_http(conn, request);
    }

    /// Ends input everywhere and lets every deadline pass: nothing may be left running, no
    /// request to a client waiting, and every request made for a call resolved.
    fn finish(mut self) {
        let open: Vec<ConnectionId> = self.host.conns.keys().copied().collect();
        for conn in open {
            let host = &mut self.host;
            let state = host.conns.get_mut(&conn).expect("a known connection");
            if state.closed || state.eof {
                continue;
            }
            // An unterminated last line is still a message at end of input.
            state.note_eof(&host.peer);
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
        assert_eq!(
            stats.client_requests, 0,
            "requests to clients outlive their calls: {stats:?}"
        );
        assert!(
            self.host.pending.is_empty(),
            "calls never completed nor cancelled"
        );
        self.check();
        assert!(self.asks.is_empty(), "requests to clients never resolved");
    }
}

/// Returns the notice `arg` picks: an update of one of the URIs, or a changed list.
fn notice(arg: u8) -> Notice {
    match arg % 4 {
        0 => Notice::ResourceUpdated(URIS[usize::from(arg >> 2) % URIS.len()].to_owned()),
        1 => Notice::ResourcesChanged,
        2 => Notice::ToolsChanged,
        _ => Notice::PromptsChanged,
    }
}
