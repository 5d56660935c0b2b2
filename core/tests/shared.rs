//! The shared server on a virtual clock: the clock reads a `Now` the test moves, the spawner
//! pushes tasks into a list the test polls by hand, and every waker counts its wake-ups.
//! No runtime, no sockets, no sleeping.

mod common;

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, SystemTime};

use common::http::{Response, get, parse_responses, post};
use common::tools_call;
use rampart_core::shared::{Output, Task};
use rampart_core::{
    Config, ConnectionId, LoggingLevel, Now, Server, SharedServer, Stats, Tool, ToolOutput, ToolRegistry,
};
use serde_json::{Value, json};

/// Counts the wake-ups of the wakers made from it.
#[derive(Default)]
struct Wakes(AtomicUsize);

impl Wake for Wakes {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A waker and the count of its wake-ups.
struct Counter {
    wakes: Arc<Wakes>,
    waker: Waker,
}

impl Counter {
    fn new() -> Self {
        let wakes = Arc::new(Wakes::default());
        let waker = Waker::from(Arc::clone(&wakes));
        Self { wakes, waker }
    }

    fn count(&self) -> usize {
        self.wakes.0.load(Ordering::SeqCst)
    }

    /// Polls `future` once with this waker.
    fn poll<F: Future + ?Sized>(&self, future: Pin<&mut F>) -> Poll<F::Output> {
        future.poll(&mut Context::from_waker(&self.waker))
    }
}

/// A flag a tool waits on; opening it wakes the waker the tool was last polled with.
#[derive(Default)]
struct Gate {
    open: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Gate {
    fn open(&self) {
        self.open.store(true, Ordering::SeqCst);
        if let Some(waker) = self.waker.lock().unwrap().take() {
            waker.wake();
        }
    }

    async fn opened(&self) {
        poll_fn(|cx| {
            if self.open.load(Ordering::SeqCst) {
                return Poll::Ready(());
            }
            *self.waker.lock().unwrap() = Some(cx.waker().clone());
            Poll::Pending
        })
        .await;
    }
}

/// Sets its flag when dropped: tells the test a tool's future is gone.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// The tools of these tests, and the handles the test holds on them.
struct Tools {
    /// Opens the waits of `gated` and `chatty`.
    gate: Arc<Gate>,
    /// Set once the future of a `gated` call is dropped.
    dropped: Arc<AtomicBool>,
}

impl Tools {
    fn new() -> Self {
        Self {
            gate: Arc::default(),
            dropped: Arc::default(),
        }
    }

    /// `now` answers at once; `gated` waits for the gate; `chatty` logs `text` at once, waits
    /// for the gate, reports progress (or logs `text` `again` times more), then
    /// answers.
    fn registry(&self) -> ToolRegistry {
        let gate = Arc::clone(&self.gate);
        let dropped = Arc::clone(&self.dropped);
        let gated = Tool::new("gated", json!({"type": "object"}), move |_, _| {
            let gate = Arc::clone(&gate);
            let guard = DropFlag(Arc::clone(&dropped));
            async move {
                let _guard = guard;
                gate.opened().await;
                Ok(ToolOutput::text("opened"))
            }
        });
        let gate = Arc::clone(&self.gate);
        let chatty = Tool::new("chatty", json!({"type": "object"}), move |args, ctx| {
            let gate = Arc::clone(&gate);
            async move {
                let text = args["text"].as_str().unwrap_or("working").to_owned();
                ctx.log(LoggingLevel::Warning, text.clone());
                gate.opened().await;
                match args["again"].as_u64() {
                    Some(times) => (0..times).for_each(|_| ctx.log(LoggingLevel::Warning, text.clone())),
                    None => ctx.progress(1.0, Some(2.0), Some("half".into())),
                }
                Ok(ToolOutput::text("done"))
            }
        });
        ToolRegistry::new()
            .with(Tool::new("now", json!({"type": "object"}), |_, _| async {
                Ok(ToolOutput::text("at once"))
            }))
            .unwrap()
            .with(gated)
            .unwrap()
            .with(chatty)
            .unwrap()
    }
}

/// A shared server on a virtual clock, with the tasks it spawned.
struct Rig {
    shared: Arc<SharedServer>,
    now: Arc<Mutex<Now>>,
    tasks: Arc<Mutex<Vec<Task>>>,
    start: Now,
}

impl Rig {
    fn new(config: Config, tools: ToolRegistry) -> Self {
        let start = Now::new(
            std::time::Instant::now(),
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        );
        let now = Arc::new(Mutex::new(start));
        let tasks = Arc::new(Mutex::new(Vec::new()));
        let clock = {
            let now = Arc::clone(&now);
            move || *now.lock().unwrap()
        };
        let spawn = {
            let tasks = Arc::clone(&tasks);
            move |task| tasks.lock().unwrap().push(task)
        };
        let shared = SharedServer::new(Server::new(config, tools, [9; 32], start), clock, spawn);
        Self {
            shared,
            now,
            tasks,
            start,
        }
    }

    /// A rig in stateless mode, where a `tools/call` needs no session.
    fn stateless(tools: &Tools) -> Self {
        let config = Config {
            stateless: true,
            ..Config::default()
        };
        Self::new(config, tools.registry())
    }

    fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap();
        *now = now.advanced(by);
    }

    fn spawned(&self) -> usize {
        self.tasks.lock().unwrap().len()
    }

    /// Polls every spawned task once with `waker`; returns how many finished.
    fn run_tasks(&self, waker: &Counter) -> usize {
        let mut tasks = std::mem::take(&mut *self.tasks.lock().unwrap());
        let before = tasks.len();
        tasks.retain_mut(|task| waker.poll(task.as_mut()).is_pending());
        let finished = before - tasks.len();
        // Tasks spawned meanwhile go after the ones still running.
        let mut all = self.tasks.lock().unwrap();
        tasks.append(&mut all);
        *all = tasks;
        finished
    }

    fn input(&self, connection: ConnectionId, bytes: &[u8]) -> (Vec<u8>, Output) {
        let mut out = Vec::new();
        let output = self.shared.input(connection, bytes, &mut out);
        (out, output)
    }

    fn take(&self, connection: ConnectionId) -> (Vec<u8>, Output) {
        let mut out = Vec::new();
        let output = self.shared.take(connection, &mut out);
        (out, output)
    }

    fn stats(&self) -> Stats {
        self.shared.with(|server| server.stats())
    }
}

fn output(resume: bool, close: bool, gone: bool) -> Output {
    Output { resume, close, gone }
}

/// The one complete response in `bytes`.
fn one_response(bytes: &[u8]) -> Response {
    let (mut responses, used) = parse_responses(bytes, false);
    assert_eq!(
        (responses.len(), used),
        (1, bytes.len()),
        "one response: {}",
        String::from_utf8_lossy(bytes)
    );
    responses.remove(0)
}

fn call(id: i64, name: &str, arguments: Value) -> Vec<u8> {
    post(&tools_call(id, name, arguments), None)
}

fn text_result(id: i64, text: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": {"content": [{"type": "text", "text": text}]}})
}

/// The JSON lines of a log batch.
fn log_lines(lines: &[u8]) -> Vec<Value> {
    let text = std::str::from_utf8(lines).expect("logs are UTF-8");
    assert!(text.ends_with('\n'), "a batch ends with a newline: {text}");
    text.lines()
        .map(|line| serde_json::from_str(line).expect("each log line is JSON"))
        .collect()
}

#[test]
fn a_call_that_finishes_at_once_is_answered_by_input_itself() {
    let tools = Tools::new();
    let rig = Rig::stateless(&tools);
    let conn = rig.shared.accept("127.0.0.1");
    let task = Counter::new();
    let mut ready = pin!(rig.shared.ready(conn));
    assert!(task.poll(ready.as_mut()).is_pending());

    let (out, flags) = rig.input(conn, &call(2, "now", json!({})));
    assert_eq!(flags, output(true, false, false));
    assert!(out.starts_with(b"HTTP/1.1 200 OK\r\n"));
    let response = one_response(&out);
    assert_eq!(response.header("Content-Type"), Some("application/json"));
    assert_eq!(response.json(), text_result(2, "at once"));
    assert_eq!(rig.spawned(), 0);
    assert_eq!(
        task.count(),
        0,
        "the task running the step is not woken for its own output"
    );
    assert!(
        task.poll(ready.as_mut()).is_pending(),
        "nothing is left for the task"
    );
    let stats = rig.stats();
    assert_eq!((stats.connections, stats.running_calls), (1, 0));
}

#[test]
fn pipelined_calls_that_finish_at_once_are_all_answered_by_one_input() {
    let tools = Tools::new();
    let rig = Rig::stateless(&tools);
    let conn = rig.shared.accept("127.0.0.1");
    let mut batch = call(11, "now", json!({}));
    batch.extend(call(12, "now", json!({})));
    batch.extend(get("/health"));
    let (out, flags) = rig.input(conn, &batch);
    assert_eq!(flags, output(true, false, false));
    let (responses, used) = parse_responses(&out, false);
    assert_eq!((responses.len(), used), (3, out.len()));
    assert_eq!(responses[0].json(), text_result(11, "at once"));
    assert_eq!(responses[1].json(), text_result(12, "at once"));
    assert_eq!(responses[2].json()["status"], "alive");
    assert_eq!((rig.spawned(), rig.stats().running_calls), (0, 0));
}

#[test]
fn a_pending_call_is_spawned_and_its_response_reaches_the_connection() {
    let tools = Tools::new();
    let rig = Rig::stateless(&tools);
    let conn = rig.shared.accept("127.0.0.1");
    // The connection reads on while the call runs: a pipelined request waits its turn.
    let (out, flags) = rig.input(conn, &call(3, "gated", json!({})));
    assert_eq!((out.len(), flags), (0, output(true, false, false)));
    assert_eq!(rig.spawned(), 1);
    assert_eq!(rig.stats().running_calls, 1);

    let connection = Counter::new();
    let runtime = Counter::new();
    let mut ready = pin!(rig.shared.ready(conn));
    assert!(connection.poll(ready.as_mut()).is_pending());
    assert_eq!(rig.run_tasks(&runtime), 0, "the tool still waits");
    assert!(connection.poll(ready.as_mut()).is_pending());

    tools.gate.open();
    assert_eq!(runtime.count(), 1, "the gate wakes the spawned task");
    assert!(connection.poll(ready.as_mut()).is_pending());
    assert_eq!(rig.run_tasks(&runtime), 1);
    assert_eq!((rig.spawned(), connection.count()), (0, 1));
    assert!(connection.poll(ready.as_mut()).is_ready());

    let (out, flags) = rig.take(conn);
    assert_eq!(flags, output(false, false, false), "resume came with the input");
    assert_eq!(one_response(&out).json(), text_result(3, "opened"));
    assert_eq!(rig.stats().running_calls, 0);
    assert!(
        tools.dropped.load(Ordering::SeqCst),
        "the finished future is dropped"
    );
}

#[test]
fn a_call_past_its_deadline_is_answered_and_its_future_dropped() {
    let tools = Tools::new();
    let config = Config {
        stateless: true,
        tool_timeout: Duration::from_secs(3),
        ..Config::default()
    };
    let rig = Rig::new(config, tools.registry());
    let conn = rig.shared.accept("127.0.0.1");
    let (out, _) = rig.input(conn, &call(4, "gated", json!({})));
    assert!(out.is_empty());
    let runtime = Counter::new();
    assert_eq!(rig.run_tasks(&runtime), 0);
    assert_eq!(
        rig.shared.next_deadline(),
        Some(rig.start.instant + Duration::from_secs(3))
    );

    let connection = Counter::new();
    let mut ready = pin!(rig.shared.ready(conn));
    assert!(connection.poll(ready.as_mut()).is_pending());
    rig.advance(Duration::from_secs(3));
    rig.shared.timeout();
    assert_eq!((connection.count(), runtime.count()), (1, 1));
    assert!(connection.poll(ready.as_mut()).is_ready());
    let (out, flags) = rig.take(conn);
    assert_eq!(flags, output(false, false, false));
    assert_eq!(
        one_response(&out).json(),
        json!({"jsonrpc": "2.0", "id": 4, "error": {"code": -32004, "message": "Tool timed out after 3000 ms"}})
    );

    assert!(
        !tools.dropped.load(Ordering::SeqCst),
        "the task holds the future until polled"
    );
    assert_eq!(rig.run_tasks(&runtime), 1);
    assert!(tools.dropped.load(Ordering::SeqCst));
    assert_eq!(rig.stats().running_calls, 0);
    // The cancelled tool never answers: nothing more reaches the connection.
    assert_eq!(rig.take(conn), (Vec::new(), output(false, false, false)));
}

#[test]
fn a_client_that_leaves_drops_its_running_call() {
    let tools = Tools::new();
    let rig = Rig::stateless(&tools);
    let conn = rig.shared.accept("127.0.0.1");
    let _ = rig.input(conn, &call(5, "gated", json!({})));
    let runtime = Counter::new();
    assert_eq!(rig.run_tasks(&runtime), 0);

    rig.shared.disconnect(conn);
    assert_eq!(runtime.count(), 1);
    assert_eq!(rig.run_tasks(&runtime), 1);
    assert!(tools.dropped.load(Ordering::SeqCst));
    let stats = rig.stats();
    assert_eq!((stats.connections, stats.running_calls), (0, 0));
}

#[test]
fn a_tool_that_talks_while_running_answers_with_sse() {
    let tools = Tools::new();
    let rig = Rig::stateless(&tools);
    let conn = rig.shared.accept("127.0.0.1");
    let request = json!({"jsonrpc": "2.0", "id": 6, "method": "tools/call", "params": {
        "name": "chatty", "arguments": {}, "_meta": {"progressToken": "p1"}
    }});
    let (head, flags) = rig.input(conn, &post(&request.to_string(), None));
    assert_eq!(flags, output(true, false, false));
    let text = String::from_utf8_lossy(&head).into_owned();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.contains("\r\nContent-Type: text/event-stream\r\n"), "{text}");
    assert_eq!(parse_responses(&head, false).0, [], "the stream is still open");
    assert_eq!(rig.spawned(), 1);

    let connection = Counter::new();
    let mut ready = pin!(rig.shared.ready(conn));
    assert!(connection.poll(ready.as_mut()).is_pending());
    tools.gate.open();
    assert_eq!(rig.run_tasks(&Counter::new()), 1);
    assert_eq!(connection.count(), 1);
    assert!(connection.poll(ready.as_mut()).is_ready());
    let (rest, flags) = rig.take(conn);
    assert_eq!(flags, output(false, false, false));

    let response = one_response(&[head, rest].concat());
    assert_eq!(response.status, 200);
    assert_eq!(
        response.events(),
        [
            json!({"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "warning", "data": "working"}}),
            json!({"jsonrpc": "2.0", "method": "notifications/progress", "params": {
                "progressToken": "p1", "progress": 1.0, "total": 2.0, "message": "half"
            }}),
            text_result(6, "done"),
        ]
    );
}

#[test]
fn a_client_whose_unwritten_output_passes_the_cap_is_cut_off() {
    let tools = Tools::new();
    let config = Config {
        stateless: true,
        max_output_bytes: 3000,
        ..Config::default()
    };
    let rig = Rig::new(config, tools.registry());
    let conn = rig.shared.accept("127.0.0.1");
    let text = "x".repeat(1500);
    let arguments = json!({"text": text, "again": 1});
    let (first, flags) = rig.input(conn, &call(7, "chatty", arguments));
    assert_eq!(flags, output(true, false, false));
    assert!((1500..3000).contains(&first.len()), "{}", first.len());

    // The task has not come back from writing `first`: the second message of over 1500
    // bytes, under the cap alone, passes it together with `first`.
    let connection = Counter::new();
    tools.gate.open();
    assert_eq!(rig.run_tasks(&Counter::new()), 1);
    assert_eq!(connection.count(), 0, "no waker was registered yet");
    let mut ready = pin!(rig.shared.ready(conn));
    assert!(connection.poll(ready.as_mut()).is_ready());
    assert_eq!(rig.take(conn), (Vec::new(), output(false, true, true)));
    let stats = rig.stats();
    assert_eq!((stats.connections, stats.running_calls), (0, 0));
}

#[test]
fn a_response_over_the_cap_cuts_its_own_client_off() {
    let tools = Tools::new();
    let config = Config {
        stateless: true,
        max_output_bytes: 200,
        ..Config::default()
    };
    let rig = Rig::new(config, tools.registry());
    let conn = rig.shared.accept("127.0.0.1");
    let connection = Counter::new();
    let mut ready = pin!(rig.shared.ready(conn));
    assert!(connection.poll(ready.as_mut()).is_pending());
    let (out, flags) = rig.input(conn, &call(13, "now", json!({})));
    // `resume` came when the call started, before its response was refused; `gone` wins.
    assert_eq!((out, flags), (Vec::new(), output(true, true, true)));
    assert_eq!(connection.count(), 0, "the task running the step is not woken");
    let stats = rig.stats();
    assert_eq!((stats.connections, stats.running_calls), (0, 0));
}

#[test]
fn queued_output_that_would_pass_the_cap_cuts_the_client_off() {
    let tools = Tools::new();
    let config = Config {
        stateless: true,
        max_output_bytes: 3000,
        ..Config::default()
    };
    let rig = Rig::new(config, tools.registry());
    let conn = rig.shared.accept("127.0.0.1");
    let arguments = json!({"text": "x".repeat(1200), "again": 3});
    let (first, _) = rig.input(conn, &call(14, "chatty", arguments));
    assert_eq!(String::from_utf8_lossy(&first).matches("data: ").count(), 1);
    let connection = Counter::new();
    let mut ready = pin!(rig.shared.ready(conn));
    assert!(connection.poll(ready.as_mut()).is_pending());

    // Two messages of over 1200 bytes wait for the task; the third would pass 3000.
    tools.gate.open();
    assert_eq!(rig.run_tasks(&Counter::new()), 1);
    assert_eq!(connection.count(), 1);
    let (queued, flags) = rig.take(conn);
    assert_eq!(flags, output(false, true, true));
    assert!(
        queued.is_empty(),
        "nothing more is written to a client that is cut off: {}",
        String::from_utf8_lossy(&queued)
    );
    let stats = rig.stats();
    assert_eq!((stats.connections, stats.running_calls), (0, 0));
}

#[test]
fn a_client_that_wrote_its_output_is_not_cut_off() {
    let tools = Tools::new();
    let config = Config {
        stateless: true,
        max_output_bytes: 3000,
        ..Config::default()
    };
    let rig = Rig::new(config, tools.registry());
    let conn = rig.shared.accept("127.0.0.1");
    let arguments = json!({"text": "x".repeat(1500), "again": 1});
    let (first, _) = rig.input(conn, &call(8, "chatty", arguments));
    assert!((1500..3000).contains(&first.len()), "{}", first.len());

    // Waiting again tells the shared server that `first` is written.
    let connection = Counter::new();
    let mut ready = pin!(rig.shared.ready(conn));
    assert!(connection.poll(ready.as_mut()).is_pending());
    tools.gate.open();
    assert_eq!(rig.run_tasks(&Counter::new()), 1);
    assert_eq!(connection.count(), 1);
    let (rest, flags) = rig.take(conn);
    assert_eq!(flags, output(false, false, false));
    let events = one_response(&[first, rest].concat()).events();
    assert_eq!(events.len(), 3);
    assert_eq!(events[2], text_result(8, "done"));
}

#[test]
fn each_request_logs_one_json_line_with_its_request_id() {
    let tools = Tools::new();
    let rig = Rig::stateless(&tools);
    let conn = rig.shared.accept("127.0.0.1");
    let writer = Counter::new();
    let mut lines = Vec::new();
    {
        let mut logs = pin!(rig.shared.logs(&mut lines));
        assert!(writer.poll(logs.as_mut()).is_pending());
        let request = b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Request-Id: req-1\r\n\r\n";
        let (out, _) = rig.input(conn, request);
        assert_eq!(one_response(&out).header("X-Request-Id"), Some("req-1"));
        assert_eq!(writer.count(), 1);
        assert!(writer.poll(logs.as_mut()).is_ready());
    }
    let records = log_lines(&lines);
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(record["request_id"], "req-1");
    assert_eq!(record["level"], "INFO");
    assert_eq!(record["status"], "ok");
    assert_eq!(record["http_status"], 200);
    assert_eq!(record["http"], "GET /health");
    assert_eq!(record["client"], "127.0.0.1");

    let mut batch = b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Request-Id: req-2\r\n\r\n".to_vec();
    batch.extend(call(3, "now", json!({})));
    let (out, _) = rig.input(conn, &batch);
    assert_eq!(parse_responses(&out, false).0.len(), 2);
    let mut lines = Vec::new();
    {
        let mut logs = pin!(rig.shared.logs(&mut lines));
        assert!(writer.poll(logs.as_mut()).is_ready());
    }
    let records = log_lines(&lines);
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["request_id"], "req-2");
    assert_eq!(records[1]["method"], "now");
    assert!(records[1]["request_id"].as_str().is_some_and(|id| !id.is_empty()));
    assert_eq!(rig.shared.take_logs(), b"");
}

/// Serves `total` requests on one connection, each logging one line of the same length (ids
/// of the same width, no time passing), with no log writer taking them.
fn flood_logs(rig: &Rig, total: usize) {
    let conn = rig.shared.accept("127.0.0.1");
    for n in 0..total {
        let request = format!("GET /health HTTP/1.1\r\nHost: localhost\r\nX-Request-Id: r{n:06}\r\n\r\n");
        let (_, flags) = rig.input(conn, request.as_bytes());
        assert_eq!(flags, output(true, false, false), "request {n}");
    }
}

fn unlimited() -> Config {
    Config {
        rate_limit: 0,
        max_requests_per_connection: u32::MAX,
        ..Config::default()
    }
}

/// Checks the warning that ends a batch after `dropped` lines were dropped.
fn assert_dropped_warning(mut warning: Value, dropped: usize) {
    let timestamp = warning
        .as_object_mut()
        .and_then(|fields| fields.remove("timestamp"));
    assert!(timestamp.is_some_and(|t| t.is_string()), "{warning}");
    assert_eq!(
        warning,
        json!({"level": "WARNING", "message": "log lines dropped: the log writer fell behind", "dropped": dropped})
    );
}

#[test]
fn log_lines_past_four_mib_are_dropped_and_counted() {
    let rig = Rig::new(unlimited(), Tools::new().registry());
    let writer = Counter::new();
    let total = 24_000;
    let mut lines = Vec::new();
    {
        let mut logs = pin!(rig.shared.logs(&mut lines));
        assert!(writer.poll(logs.as_mut()).is_pending());
        flood_logs(&rig, total);
        assert_eq!(writer.count(), 1);
        assert!(writer.poll(logs.as_mut()).is_ready());
    }
    let mut records = log_lines(&lines);
    let warning = records.pop().unwrap();
    let line = lines.iter().position(|&b| b == b'\n').unwrap() + 1;
    let kept_bytes = lines.len() - warning.to_string().len() - 1;
    assert_eq!(kept_bytes, records.len() * line, "every line is {line} bytes");
    let kept = (4 * 1024 * 1024) / line;
    assert_eq!(records.len(), kept, "lines are kept while they fit in 4 MiB");
    assert_eq!(records.last().unwrap()["request_id"], format!("r{:06}", kept - 1));
    assert_dropped_warning(warning, total - kept);

    // The count starts again from nothing.
    let mut lines = Vec::new();
    let mut logs = pin!(rig.shared.logs(&mut lines));
    assert!(writer.poll(logs.as_mut()).is_pending());
}

#[test]
fn the_last_flush_reports_dropped_lines() {
    let rig = Rig::new(unlimited(), Tools::new().registry());
    let total = 24_000;
    flood_logs(&rig, total);
    let lines = rig.shared.take_logs();
    let mut records = log_lines(&lines);
    let warning = records.pop().unwrap();
    assert_dropped_warning(warning, total - records.len());
}

#[test]
fn an_earlier_deadline_makes_deadline_changed_ready() {
    let config = Config {
        stateless: true,
        tool_timeout: Duration::from_secs(2),
        ..Config::default()
    };
    let rig = Rig::new(config, Tools::new().registry());
    let timer = Counter::new();
    assert_eq!(rig.shared.next_deadline(), None);
    let mut changed = pin!(rig.shared.deadline_changed());
    assert!(timer.poll(changed.as_mut()).is_pending());

    // Any deadline is earlier than none.
    let first = rig.shared.accept("127.0.0.1");
    assert_eq!(timer.count(), 1);
    assert!(timer.poll(changed.as_mut()).is_ready());
    let keep_alive = rig.start.instant + Duration::from_secs(60);
    assert_eq!(rig.shared.next_deadline(), Some(keep_alive));

    // The same deadline again, or a later one, is no change.
    let mut changed = pin!(rig.shared.deadline_changed());
    assert!(timer.poll(changed.as_mut()).is_pending());
    rig.advance(Duration::from_secs(1));
    let second = rig.shared.accept("127.0.0.1");
    let _ = rig.input(first, &get("/health"));
    assert_eq!(timer.count(), 1);
    assert!(timer.poll(changed.as_mut()).is_pending());
    // The first connection's keep-alive deadline moved later; its armed entry stays until it
    // fires, finds nothing due and arms the later one.
    assert_eq!(rig.shared.next_deadline(), Some(keep_alive));

    // A call with a shorter deadline is.
    let _ = rig.input(second, &call(9, "gated", json!({})));
    assert_eq!(timer.count(), 2);
    assert!(timer.poll(changed.as_mut()).is_ready());
    let deadline = rig.start.instant + Duration::from_secs(3);
    assert_eq!(rig.shared.next_deadline(), Some(deadline));
}

#[test]
fn an_idle_connection_is_closed_when_its_keep_alive_ends() {
    let rig = Rig::stateless(&Tools::new());
    let conn = rig.shared.accept("127.0.0.1");
    let connection = Counter::new();
    let mut ready = pin!(rig.shared.ready(conn));
    assert!(connection.poll(ready.as_mut()).is_pending());
    rig.advance(Duration::from_secs(59));
    rig.shared.timeout();
    assert_eq!(connection.count(), 0, "a spurious timeout changes nothing");
    rig.advance(Duration::from_secs(1));
    rig.shared.timeout();
    assert_eq!(connection.count(), 1);
    assert!(connection.poll(ready.as_mut()).is_ready());
    assert_eq!(rig.take(conn), (Vec::new(), output(false, true, false)));
    assert_eq!(rig.stats().connections, 0);
}

#[test]
fn a_half_closed_client_gets_its_response_then_close() {
    let tools = Tools::new();
    let rig = Rig::stateless(&tools);
    let conn = rig.shared.accept("127.0.0.1");
    let _ = rig.input(conn, &call(15, "gated", json!({})));
    let mut out = Vec::new();
    assert_eq!(rig.shared.eof(conn, &mut out), output(false, false, false));
    assert!(out.is_empty());
    let connection = Counter::new();
    let mut ready = pin!(rig.shared.ready(conn));
    assert!(connection.poll(ready.as_mut()).is_pending());
    tools.gate.open();
    assert_eq!(rig.run_tasks(&Counter::new()), 1);
    assert_eq!(connection.count(), 1);
    let (out, flags) = rig.take(conn);
    assert_eq!(flags, output(false, true, false));
    assert_eq!(one_response(&out).json(), text_result(15, "opened"));
}

#[test]
fn shutdown_closes_idle_connections_and_drains_when_every_task_finished() {
    let tools = Tools::new();
    let rig = Rig::stateless(&tools);
    let idle = rig.shared.accept("127.0.0.1");
    let busy = rig.shared.accept("127.0.0.1");
    let _ = rig.input(busy, &call(10, "gated", json!({})));
    let (idle_task, busy_task, main) = (Counter::new(), Counter::new(), Counter::new());
    let mut idle_ready = pin!(rig.shared.ready(idle));
    let mut busy_ready = pin!(rig.shared.ready(busy));
    let mut drained = pin!(rig.shared.drained());
    assert!(idle_task.poll(idle_ready.as_mut()).is_pending());
    assert!(busy_task.poll(busy_ready.as_mut()).is_pending());
    assert!(main.poll(drained.as_mut()).is_pending());

    rig.shared.shutdown();
    assert_eq!((idle_task.count(), busy_task.count()), (1, 0));
    assert_eq!(rig.take(idle), (Vec::new(), output(false, true, false)));
    assert!(main.poll(drained.as_mut()).is_pending());
    rig.shared.finish(idle);
    assert_eq!(main.count(), 0);
    assert!(main.poll(drained.as_mut()).is_pending());

    // The busy connection is answered, then closed.
    tools.gate.open();
    assert_eq!(rig.run_tasks(&Counter::new()), 1);
    assert_eq!(busy_task.count(), 1);
    let (out, flags) = rig.take(busy);
    assert_eq!(flags, output(false, true, false));
    let response = one_response(&out);
    assert_eq!(response.json(), text_result(10, "opened"));
    assert_eq!(response.header("Connection"), Some("close"));
    assert_eq!(rig.stats().connections, 0);
    assert!(rig.shared.with(|server| server.is_drained()));
    assert!(
        main.poll(drained.as_mut()).is_pending(),
        "the busy task still writes"
    );
    assert_eq!(main.count(), 0);

    rig.shared.finish(busy);
    assert_eq!((main.count(), idle_task.count(), busy_task.count()), (1, 1, 1));
    assert!(main.poll(drained.as_mut()).is_ready());
}

#[test]
fn a_read_buffer_doubles_while_reads_fill_it_up_to_64_kib() {
    let mut buf = rampart_core::shared::ReadBuffer::new();
    assert_eq!(buf.space().len(), 8 * 1024);
    buf.space()[..3].copy_from_slice(b"abc");
    assert_eq!(buf.filled(3), b"abc");
    assert_eq!(
        buf.space().len(),
        8 * 1024,
        "a read that leaves room changes nothing"
    );
    let mut sizes = Vec::new();
    for _ in 0..5 {
        let full = buf.space().len();
        buf.space()[full - 1] = b'z';
        let read = buf.filled(full);
        assert_eq!(
            (read.len(), read.last()),
            (full, Some(&b'z')),
            "what was read is kept"
        );
        sizes.push(buf.space().len());
    }
    assert_eq!(sizes, [16 * 1024, 32 * 1024, 64 * 1024, 64 * 1024, 64 * 1024]);
}
