//! The `shared` target: a [`SharedServer`] driven from operations decoded from bytes, the way
//! an adapter's tasks drive it (a task per connection, spawned tool calls, a timer task, a
//! log writer), on a virtual clock, with wakers that count their wake-ups.
//!
//! After each step it checks what an adapter relies on: the bytes handed to each connection
//! are HTTP/1.1 responses, none after `close` or `gone`, no more responses than requests, no
//! task left asleep while there is something for it, each response fit for its request (see
//! `peer`: the server's requests to clients, answers to them, resumed streams, 2026-07-28
//! answers), and the server's tables within caps. At the end every connection must close
//! once input ends, calls are released and deadlines pass, and the server must drain once
//! every task finished.

mod conn;
mod finish;
mod runtime;
mod tasks;
mod tools;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::dictionary::{self, HttpRequest, NEW, http_message};
use super::modern;
use super::peer::{Expect, Peer, Route, Sent};
use super::{Reader, check_stats, fuzz_config, start};
use crate::shared::{Output, Task};
use crate::{Config, ConnectionId, Now, Server, SharedServer};

use conn::{Conn, Phase};
use tasks::{Gates, Waiter};
use tools::{registry, tool_request};

/// Decodes `data` as operations of an adapter's tasks on one [`SharedServer`] (accept, read,
/// end of input, disconnect, write done, run spawned calls, release calls, time, shutdown,
/// finish, take logs, answer the server's requests, resume streams, 2026-07-28 requests and
/// their retries) and checks the invariants after each. The first byte picks the
/// config. `base` is the caller's instant the virtual clock starts from.
pub fn shared(data: &[u8], base: Instant) {
    let mut input = Reader(data);
    let mut run = Run::new(input.byte().unwrap_or(0), base);
    while let Some(code) = input.byte() {
        run.step(code, &mut input);
        run.check();
    }
    run.finish();
}

/// How many connections one input may open.
const MAX_CONNECTIONS: usize = 8;

/// How many rounds of releasing, writing and letting deadlines pass the end may take.
const MAX_ROUNDS: usize = 512;

/// Codes from here on pick the operations added with the later features; codes below keep
/// the meaning they had when the first seeds were written.
const NEW_OPS: u8 = 0xC0;

/// Codes from here to `MODERN_OPS + 15` pick the operations of the 2026-07-28 revision (see
/// `modern_step`); no earlier seed used them.
const MODERN_OPS: u8 = 0xE0;

struct Run {
    shared: Arc<SharedServer>,
    now: Arc<Mutex<Now>>,
    /// Tasks handed to the spawner and not yet picked up by the runtime below.
    spawned: Arc<Mutex<Vec<Task>>>,
    tasks: Vec<(Task, Waiter)>,
    gates: Arc<Gates>,
    conns: BTreeMap<ConnectionId, Conn>,
    peer: Peer,
    timer: Waiter,
    writer: Waiter,
    main: Waiter,
    shut_down: bool,
}

impl Run {
    /// Bit 0 of `flags` turns stateless mode on (calls need no session); bit 1 lowers the
    /// output cap so that clients which do not write in time are cut off.
    fn new(flags: u8, base: Instant) -> Self {
        let start = start(base);
        let config = Config {
            stateless: flags & 1 == 1,
            max_output_bytes: if flags & 2 == 0 { 64 * 1024 } else { 3000 },
            ..fuzz_config()
        };
        let gates = Arc::new(Gates::default());
        let server = Server::new(config, registry(&gates), [0; 32], start);
        let now = Arc::new(Mutex::new(start));
        let spawned = Arc::new(Mutex::new(Vec::new()));
        let clock = {
            let now = Arc::clone(&now);
            move || *now.lock().expect("clock")
        };
        let spawn = {
            let spawned = Arc::clone(&spawned);
            move |task| spawned.lock().expect("spawner").push(task)
        };
        let mut run = Self {
            shared: SharedServer::new(server, clock, spawn),
            now,
            spawned,
            tasks: Vec::new(),
            gates,
            conns: BTreeMap::new(),
            peer: Peer::default(),
            timer: Waiter::new(),
            writer: Waiter::new(),
            main: Waiter::new(),
            shut_down: false,
        };
        run.arm_timer();
        run
    }

    /// Performs one operation; `code % 16` picks it: 0 accept, 1-2 a dictionary request, 3 raw
    /// bytes, 4 a call of a tool that talks or waits, 5 end of input, 6 disconnect, 7 write
    /// done, 8 run spawned calls, 9 release waiting calls, 10 advance time, 11 jump to the
    /// next deadline, 12 shutdown, 13 finish a connection, 14 logs, 15 every task catches
    /// up; from [`NEW_OPS`] on, see `new_step` (and `modern_step` from [`MODERN_OPS`] to 15
    /// past it).
    fn step(&mut self, code: u8, input: &mut Reader<'_>) {
        if (MODERN_OPS..MODERN_OPS + 0x10).contains(&code) {
            return self.modern_step(code - MODERN_OPS, input);
        }
        if code >= NEW_OPS {
            return self.new_step(code - NEW_OPS, input);
        }
        let arg = input.byte().unwrap_or(0);
        let op = code % 16;
        match op {
            0 => self.accept(arg),
            1 | 2 | 4 => {
                let (kind, extra) = (input.byte().unwrap_or(0), input.byte().unwrap_or(0));
                let Some(conn) = self.pick(arg, Conn::reads) else {
                    return;
                };
                let request = if op == 4 {
                    tool_request(kind, extra, &self.peer.sessions)
                } else {
                    http_message(kind, extra, &self.peer.sessions)
                };
                self.input(conn, &request.bytes, Some(request.sent));
            }
            3 => {
                let len = usize::from(input.byte().unwrap_or(0));
                let bytes = input.take(len).to_vec();
                if let Some(conn) = self.pick(arg, Conn::reads) {
                    self.input(conn, &bytes, None);
                }
            }
            5 => {
                if let Some(conn) = self.pick(arg, Conn::reads) {
                    self.eof(conn);
                }
            }
            6 => {
                if let Some(conn) = self.pick(arg, Conn::runs) {
                    self.disconnect(conn);
                }
            }
            7 => {
                if let Some(conn) = self.pick(arg, Conn::runs) {
                    self.write_done(conn);
                }
            }
            8 => self.run_tasks(arg),
            9 => self.gates.release(arg),
            10 => self.advance(Duration::from_millis(u64::from(arg) * u64::from(arg) * 16)),
            11 => self.jump(),
            12 => {
                self.shared.shutdown();
                self.shut_down = true;
            }
            13 => {
                if let Some(conn) = self.pick(arg, |conn| conn.phase == Phase::End) {
                    self.shared.finish(conn);
                    self.conns.get_mut(&conn).expect("picked").phase = Phase::Finished;
                }
            }
            14 => self.logs(arg),
            _ => {
                self.run_tasks(0x80);
                for conn in self.ids(Conn::runs) {
                    self.write_done(conn);
                }
            }
        }
    }

    /// The operations added with the later features; `code % 4` picks: 0 answer a request
    /// of the server, 1 `GET /mcp` (resuming a stream), 2 a request of the dictionary's
    /// second table, 3 answer a request well from where it went. Each is a request read by
    /// the connection `arg` picks.
    fn new_step(&mut self, code: u8, input: &mut Reader<'_>) {
        let arg = input.byte().unwrap_or(0);
        let (one, two) = (input.byte().unwrap_or(0), input.byte().unwrap_or(0));
        let Some(conn) = self.pick(arg, Conn::reads) else {
            return;
        };
        let request = match code % 4 {
            0 => self.answer(one, two, arg),
            1 => {
                let (session, last, expect) = self.peer.resume(one, two);
                dictionary::stream(session, last.as_deref(), expect)
            }
            2 => http_message(one | NEW, two, &self.peer.sessions),
            _ => self.answer(one, 0x10 | (two & 0x20), 0),
        };
        self.input(conn, &request.bytes, Some(request.sent));
    }

    /// The operations of the 2026-07-28 revision, each a request read by the connection
    /// `arg` picks; `code % 2` picks: 0 a message of its table, 1 a retry of a round the peer
    /// learned (see `modern`).
    fn modern_step(&mut self, code: u8, input: &mut Reader<'_>) {
        let arg = input.byte().unwrap_or(0);
        let mut byte = || input.byte().unwrap_or(0);
        let (one, two, three) = (byte(), byte(), byte());
        let Some(conn) = self.pick(arg, Conn::reads) else {
            return;
        };
        let message = if code & 1 == 0 {
            modern::message(one, two, three, &self.peer.sessions)
        } else {
            modern::retry(&self.peer, one, two, three)
        };
        let request = message.http(&self.peer);
        self.input(conn, &request.bytes, Some(request.sent));
    }

    /// A client's answer to a request of the server (see `Peer::answer`), in the session
    /// `whence` says: 0-1 where the request went, 2 one it picks, 3 none.
    fn answer(&self, pick: u8, how: u8, whence: u8) -> HttpRequest {
        let answer = self.peer.answer(pick, how);
        let sessions = &self.peer.sessions;
        let session = match (whence % 4, &answer.route) {
            (0 | 1, Some(Route::Session(session))) => Some(session.as_str()),
            (3, _) => None,
            _ => (!sessions.is_empty()).then(|| sessions[usize::from(whence >> 2) % sessions.len()].as_str()),
        };
        dictionary::post(&answer.body, session, Expect::Answer(answer.id))
    }

    /// Checks what must hold between steps.
    fn check(&mut self) {
        self.shared
            .with(|server| check_stats(server.stats(), server.config()));
        for (id, conn) in &mut self.conns {
            match conn.phase {
                Phase::Select if conn.task.asleep() => {
                    let ready = conn.task.poll(self.shared.ready(*id));
                    assert!(
                        ready.is_pending(),
                        "connection {id:?} has output or a command but its task was not woken"
                    );
                }
                Phase::End => {
                    let mut out = Vec::new();
                    let _ = self.shared.take(*id, &mut out);
                    assert!(
                        out.is_empty(),
                        "bytes for connection {id:?} after close or gone: {:?}",
                        String::from_utf8_lossy(&out)
                    );
                }
                _ => {}
            }
        }
        if self.timer.asleep() {
            let changed = self.timer.poll(self.shared.deadline_changed());
            assert!(
                changed.is_pending(),
                "the deadline moved earlier without waking the timer"
            );
        }
        if self.writer.asleep() {
            let mut lines = Vec::new();
            let logs = self.writer.poll(self.shared.logs(&mut lines));
            assert!(logs.is_pending(), "log lines wait without waking the log writer");
        }
        if self.main.asleep() {
            let drained = self.main.poll(self.shared.drained());
            assert!(
                drained.is_pending(),
                "the server drained without waking its waiter"
            );
        }
    }

    fn accept(&mut self, arg: u8) {
        if self.conns.len() >= MAX_CONNECTIONS || self.shut_down {
            return;
        }
        let conn = self.shared.accept(format!("127.0.0.{}", arg % 4 + 1));
        let state = self.conns.entry(conn).or_insert_with(Conn::new);
        // The task's first select polls `ready` beside the read.
        let _ = state.task.poll(self.shared.ready(conn));
    }

    /// Feeds a chunk the connection's task read (a request of the dictionary, or raw bytes
    /// when `sent` is `None`), and hands it the output as `input` says.
    fn input(&mut self, conn: ConnectionId, bytes: &[u8], sent: Option<Sent>) {
        let state = self.conns.get_mut(&conn).expect("picked");
        state.can_read = false;
        state.sent(bytes, sent.is_none());
        if let Some(sent) = sent {
            state.http.sent(sent);
        }
        let mut out = Vec::new();
        let output = self.shared.input(conn, bytes, &mut out);
        self.hand_over(conn, out, output);
    }

    fn eof(&mut self, conn: ConnectionId) {
        let state = self.conns.get_mut(&conn).expect("picked");
        state.can_read = false;
        state.eof = true;
        let mut out = Vec::new();
        let output = self.shared.eof(conn, &mut out);
        self.hand_over(conn, out, output);
    }

    /// The connection's task breaks off; what was left for it is never written, and nothing
    /// may be left after.
    fn disconnect(&mut self, conn: ConnectionId) {
        self.shared.disconnect(conn);
        let _ = self.shared.take(conn, &mut Vec::new());
        self.conns.get_mut(&conn).expect("picked").phase = Phase::End;
    }

    /// The connection's task wrote what it took and waits in its select again: when `ready`
    /// resolves, it takes what was left for it.
    fn write_done(&mut self, conn: ConnectionId) {
        let state = self.conns.get_mut(&conn).expect("picked");
        state.phase = Phase::Select;
        if state.task.poll(self.shared.ready(conn)).is_pending() {
            return;
        }
        let mut out = Vec::new();
        let output = self.shared.take(conn, &mut out);
        self.hand_over(conn, out, output);
    }

    /// Records what the connection's task was handed and checks it; moves the task on as an
    /// adapter's loop would.
    fn hand_over(&mut self, conn: ConnectionId, out: Vec<u8>, output: Output) {
        let state = self.conns.get_mut(&conn).expect("handed to a known connection");
        assert!(
            out.is_empty() || !output.gone,
            "bytes handed over with gone: {:?}",
            String::from_utf8_lossy(&out)
        );
        if !out.is_empty() {
            state.output(conn, &out, &mut self.peer);
        }
        state.can_read |= output.resume && !state.eof;
        state.phase = if output.close || output.gone {
            Phase::End
        } else if out.is_empty() {
            Phase::Select
        } else {
            Phase::Write
        };
        if state.phase == Phase::Select {
            let _ = state.task.poll(self.shared.ready(conn));
        }
    }

    /// Picks one of the connections `filter` keeps.
    fn pick(&self, arg: u8, filter: impl Fn(&Conn) -> bool) -> Option<ConnectionId> {
        let ids = self.ids(filter);
        (!ids.is_empty()).then(|| ids[usize::from(arg) % ids.len()])
    }

    fn ids(&self, filter: impl Fn(&Conn) -> bool) -> Vec<ConnectionId> {
        self.conns
            .iter()
            .filter(|(_, conn)| filter(conn))
            .map(|(id, _)| *id)
            .collect()
    }
}
