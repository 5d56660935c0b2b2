//! The `shared` target: a [`SharedServer`] driven from operations decoded from bytes, the way
//! an adapter's tasks drive it (a task per connection, spawned tool calls, a timer task, a
//! log writer), on a virtual clock, with wakers that count their wake-ups.
//!
//! After each step it checks what an adapter relies on: the bytes handed to each connection
//! are HTTP/1.1 responses, none after `close` or `gone`, no more responses than requests, no
//! task left asleep while there is something for it, and the server's tables within caps.
//! At the end every connection must close once input ends, calls are released and deadlines
//! pass, and the server must drain once every task finished.

use std::collections::BTreeMap;
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::dictionary::http_message;
use super::{Reader, check_stats, fuzz_config, fuzz_tools, start, wire};
use crate::shared::{Output, Task};
use crate::{Config, ConnectionId, LoggingLevel, Now, Server, SharedServer, Tool, ToolOutput, ToolRegistry};

/// Decodes `data` as operations of an adapter's tasks on one [`SharedServer`] (accept, read,
/// end of input, disconnect, write done, run spawned calls, release calls, time, shutdown,
/// finish, take logs) and checks the invariants after each. The first byte picks the
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

struct Run {
    shared: Arc<SharedServer>,
    now: Arc<Mutex<Now>>,
    /// Tasks handed to the spawner and not yet picked up by the runtime below.
    spawned: Arc<Mutex<Vec<Task>>>,
    tasks: Vec<(Task, Waiter)>,
    gates: Arc<Gates>,
    conns: BTreeMap<ConnectionId, Conn>,
    sessions: Vec<String>,
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
        let server = Server::new(config, tools(&gates), [0; 32], start);
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
            sessions: Vec::new(),
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
    /// next deadline, 12 shutdown, 13 finish a connection, 14 logs, 15 every task catches up.
    fn step(&mut self, code: u8, input: &mut Reader<'_>) {
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
                    tool_request(kind, extra, &self.sessions)
                } else {
                    http_message(kind, extra, &self.sessions)
                };
                self.input(conn, &request, false);
            }
            3 => {
                let len = usize::from(input.byte().unwrap_or(0));
                let bytes = input.take(len).to_vec();
                if let Some(conn) = self.pick(arg, Conn::reads) {
                    self.input(conn, &bytes, true);
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

    /// Feeds a chunk the connection's task read, and hands it the output as `input` says.
    fn input(&mut self, conn: ConnectionId, bytes: &[u8], raw: bool) {
        let state = self.conns.get_mut(&conn).expect("picked");
        state.can_read = false;
        state.sent.extend_from_slice(bytes);
        state.raw |= raw;
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
            state.output.extend_from_slice(&out);
            state.check_output();
            for id in wire::session_ids(&out) {
                if !self.sessions.contains(&id) {
                    self.sessions.push(id);
                }
            }
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

    /// Polls the spawned tasks that can run (new ones, and those woken since their last
    /// poll), as a runtime would: all of them if bit 7 of `arg` is set, else one it picks.
    fn run_tasks(&mut self, arg: u8) {
        self.tasks.extend(
            self.spawned
                .lock()
                .expect("spawner")
                .drain(..)
                .map(|task| (task, Waiter::new())),
        );
        let runnable: Vec<usize> = (0..self.tasks.len())
            .filter(|&i| !self.tasks[i].1.asleep())
            .collect();
        if runnable.is_empty() {
            return;
        }
        let chosen = if arg & 0x80 == 0 {
            vec![runnable[usize::from(arg) % runnable.len()]]
        } else {
            runnable
        };
        // Polled without the spawner's lock held: a call that completes may spawn more.
        let mut finished = Vec::new();
        for index in chosen {
            let (task, waiter) = &mut self.tasks[index];
            if waiter.poll(task.as_mut()).is_ready() {
                finished.push(index);
            }
        }
        for index in finished.into_iter().rev() {
            drop(self.tasks.remove(index));
        }
    }

    fn advance(&mut self, by: Duration) {
        {
            let mut now = self.now.lock().expect("clock");
            *now = now.advanced(by);
        }
        self.fire();
    }

    /// Moves the clock to the armed deadline, as the timer task's sleep would; a second
    /// when none is armed.
    fn jump(&mut self) {
        let now = self.now.lock().expect("clock").instant;
        let by = match self.shared.next_deadline() {
            Some(at) => at.saturating_duration_since(now),
            None => Duration::from_secs(1),
        };
        self.advance(by);
    }

    /// The timer task fires the deadlines passed and arms itself again.
    fn fire(&mut self) {
        self.shared.timeout();
        let now = self.now.lock().expect("clock").instant;
        let next = self.arm_timer();
        assert!(
            next.is_none_or(|at| at > now),
            "a deadline still due right after timeout(): {:?} past",
            next.map(|at| now - at)
        );
    }

    fn arm_timer(&mut self) -> Option<Instant> {
        let next = self.shared.next_deadline();
        let changed = self.timer.poll(self.shared.deadline_changed());
        assert!(
            changed.is_pending(),
            "deadline_changed is ready right after arming"
        );
        next
    }

    /// The log writer waits for lines (bit 0 of `arg` clear) or takes them for a last flush.
    fn logs(&mut self, arg: u8) {
        let mut lines = Vec::new();
        if arg & 1 == 0 {
            let _ = self.writer.poll(self.shared.logs(&mut lines));
        } else {
            lines = self.shared.take_logs();
        }
        let text = std::str::from_utf8(&lines).expect("log lines are UTF-8");
        assert!(
            text.is_empty() || text.ends_with('\n'),
            "a batch ends with a newline"
        );
        for line in text.lines() {
            let record: Value = serde_json::from_str(line).expect("each log line is JSON");
            assert!(record.is_object(), "each log line is an object: {line}");
        }
    }

    /// Ends input everywhere, releases every call and lets every deadline pass: every
    /// connection must close and every spawned task end; after shutdown and every task's
    /// finish, the server must drain.
    fn finish(mut self) {
        for _ in 0..MAX_ROUNDS {
            self.gates.release(0x80);
            self.run_tasks(0x80);
            for conn in self.ids(Conn::runs) {
                self.write_done(conn);
                if self.conns[&conn].reads() {
                    self.eof(conn);
                }
                self.check();
            }
            let runnable = self.tasks.iter().any(|(_, waiter)| !waiter.asleep())
                || !self.spawned.lock().expect("spawner").is_empty();
            if self.ids(Conn::runs).is_empty() && !runnable {
                break;
            }
            if !runnable {
                self.jump();
                self.check();
            }
        }
        let open = self.ids(Conn::runs);
        assert!(open.is_empty(), "connections never closed: {open:?}");
        assert!(
            self.tasks.is_empty(),
            "spawned calls never ended (or never woken)"
        );
        let stats = self.shared.with(|server| server.stats());
        assert_eq!(
            (stats.connections, stats.running_calls),
            (0, 0),
            "the server still holds connections or calls"
        );

        self.shared.shutdown();
        let ended = self.ids(|conn| conn.phase == Phase::End);
        let was_drained = self.main.poll(self.shared.drained()).is_ready();
        assert!(
            was_drained == ended.is_empty(),
            "drained() before every task finished ({} left)",
            ended.len()
        );
        for conn in ended {
            self.shared.finish(conn);
        }
        assert!(
            was_drained || !self.main.asleep(),
            "the last finish() did not wake drained()"
        );
        assert!(
            self.main.poll(self.shared.drained()).is_ready(),
            "not drained after shutdown and every finish()"
        );
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

/// Where a connection's task is in an adapter's loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting in its select: on `ready`, and on the socket if it may read.
    Select,
    /// Writing what it was handed.
    Write,
    /// Told to close or drop the connection, or it broke: only `finish` is left.
    End,
    Finished,
}

/// One connection's task and what it saw.
struct Conn {
    task: Waiter,
    phase: Phase,
    can_read: bool,
    eof: bool,
    /// Whether it was fed raw bytes, which may draw one error response with no request.
    raw: bool,
    sent: Vec<u8>,
    output: Vec<u8>,
}

impl Conn {
    fn new() -> Self {
        Self {
            task: Waiter::new(),
            phase: Phase::Select,
            can_read: true,
            eof: false,
            raw: false,
            sent: Vec::new(),
            output: Vec::new(),
        }
    }

    /// Returns whether the task reads now.
    fn reads(&self) -> bool {
        self.phase == Phase::Select && self.can_read && !self.eof
    }

    /// Returns whether the task is still in its loop.
    fn runs(&self) -> bool {
        matches!(self.phase, Phase::Select | Phase::Write)
    }

    /// Checks that the output so far is HTTP/1.1 responses, no more than the requests sent.
    fn check_output(&self) {
        let framing = wire::check_http(&self.output);
        let interim = occurrences(&self.output, b"HTTP/1.1 1");
        let responses = (framing.complete + usize::from(framing.open)).saturating_sub(interim);
        // Every request line names its version; a body may too, which only loosens this.
        let requests = occurrences(&self.sent, b"HTTP/1.") + usize::from(self.raw);
        assert!(
            responses <= requests,
            "{responses} responses to {requests} requests: {:?}",
            String::from_utf8_lossy(&self.output)
        );
    }
}

/// A task's waker, counting its wake-ups, and whether the task sleeps on it.
struct Waiter {
    wakes: Arc<Wakes>,
    waker: Waker,
    /// The wake-up count when a poll last returned `Pending`; `None` after `Ready`.
    parked: Option<usize>,
}

impl Waiter {
    fn new() -> Self {
        let wakes = Arc::new(Wakes::default());
        let waker = Waker::from(Arc::clone(&wakes));
        Self {
            wakes,
            waker,
            // A task not polled yet is due to run.
            parked: None,
        }
    }

    fn count(&self) -> usize {
        self.wakes.0.load(Ordering::SeqCst)
    }

    /// Polls `future` once with this waker (the futures of `SharedServer` are polled afresh
    /// each time: dropping one between polls loses nothing).
    fn poll<F: Future>(&mut self, future: F) -> Poll<F::Output> {
        let mut future = pin!(future);
        let poll = future.as_mut().poll(&mut Context::from_waker(&self.waker));
        self.parked = poll.is_pending().then(|| self.count());
        poll
    }

    /// Returns whether the task waits in a poll and was not woken since.
    fn asleep(&self) -> bool {
        self.parked == Some(self.count())
    }
}

#[derive(Default)]
struct Wakes(AtomicUsize);

impl Wake for Wakes {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// The gates the `gated` and `chatty` calls wait on, until an operation releases them.
#[derive(Default)]
struct Gates(Mutex<Vec<Weak<Gate>>>);

impl Gates {
    fn open(&self) -> Arc<Gate> {
        let gate = Arc::new(Gate::default());
        self.0.lock().expect("gates").push(Arc::downgrade(&gate));
        gate
    }

    /// Opens every closed gate if bit 7 of `arg` is set, else the one `arg` picks.
    fn release(&self, arg: u8) {
        let closed: Vec<Arc<Gate>> = {
            let mut gates = self.0.lock().expect("gates");
            gates.retain(|gate| gate.strong_count() > 0);
            gates
                .iter()
                .filter_map(Weak::upgrade)
                .filter(|gate| !gate.open.load(Ordering::SeqCst))
                .collect()
        };
        if closed.is_empty() {
            return;
        }
        if arg & 0x80 == 0 {
            closed[usize::from(arg) % closed.len()].release();
        } else {
            closed.iter().for_each(|gate| gate.release());
        }
    }
}

/// A flag a call waits on; releasing it wakes the waker the call was last polled with.
#[derive(Default)]
struct Gate {
    open: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Gate {
    fn release(&self) {
        self.open.store(true, Ordering::SeqCst);
        if let Some(waker) = self.waker.lock().expect("gate").take() {
            waker.wake();
        }
    }

    async fn opened(&self) {
        poll_fn(|cx| {
            if self.open.load(Ordering::SeqCst) {
                return Poll::Ready(());
            }
            *self.waker.lock().expect("gate") = Some(cx.waker().clone());
            Poll::Pending
        })
        .await;
    }
}

/// The dictionary's tools, which finish at once or never, and two that wait for a gate:
/// `gated` answers once released; `chatty` logs and reports progress, waits if told to,
/// then does both again and answers.
fn tools(gates: &Arc<Gates>) -> ToolRegistry {
    let mut tools = fuzz_tools();
    let gated = {
        let gates = Arc::clone(gates);
        Tool::new("gated", json!({"type": "object"}), move |_, _| {
            let gate = gates.open();
            async move {
                gate.opened().await;
                Ok(ToolOutput::text("released"))
            }
        })
    };
    let chatty = {
        let gates = Arc::clone(gates);
        Tool::new("chatty", json!({"type": "object"}), move |args, ctx| {
            let gate = args["wait"].as_bool().unwrap_or(false).then(|| gates.open());
            let size = args["size"].as_u64().unwrap_or(4).min(4096);
            async move {
                let text = "x".repeat(usize::try_from(size).unwrap_or(4));
                ctx.log(LoggingLevel::Warning, text.clone());
                ctx.progress(1.0, Some(2.0), Some("half".to_owned()));
                if let Some(gate) = gate {
                    gate.opened().await;
                }
                ctx.log(LoggingLevel::Warning, text);
                ctx.progress(2.0, Some(2.0), None);
                Ok(ToolOutput::text("done"))
            }
        })
    };
    for tool in [gated, chatty] {
        tools.register(tool).expect("a new tool name");
    }
    tools
}

/// Returns a `tools/call` request for `gated` or `chatty`; `extra` picks the id and which
/// known session to name, as in the dictionary.
fn tool_request(kind: u8, extra: u8, sessions: &[String]) -> Vec<u8> {
    let id = extra % 6;
    let (name, arguments) = match kind % 4 {
        0 => ("gated", json!({})),
        1 => ("chatty", json!({"wait": true})),
        2 => ("chatty", json!({"wait": false})),
        _ => ("chatty", json!({"wait": kind & 4 == 0, "size": 1200})),
    };
    let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {
        "name": name, "arguments": arguments, "_meta": {"progressToken": id}}})
    .to_string();
    let session = match (extra >> 3, sessions.len()) {
        (0, _) | (_, 0) => String::new(),
        (pick, len) => format!(
            "Mcp-Session-Id: {}\r\nMCP-Protocol-Version: 2025-06-18\r\n",
            sessions[usize::from(pick) % len]
        ),
    };
    format!(
        "POST /mcp HTTP/1.1\r\nHost: localhost\r\nAccept: application/json, text/event-stream\r\n\
         {session}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn occurrences(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|window| *window == needle)
        .count()
}
