//! Clients of a replicated deployment: three demo replicas that share legacy sessions,
//! announcements, clients' answers and stream events through a real Redis, behind a real nginx
//! that spreads requests round-robin with no sticky sessions, so that one session's requests
//! land on different replicas.
//!
//! - The official TypeScript and Python SDK clients (`clients/{ts,py}/replica_session.*`) hold
//!   a session through nginx: tools, a subscription to the counter and the update that follows
//!   an increment, three sampling requests each answered by the client, the session's end
//!   and a 404 for it afterwards. The replicas' logs show that its requests reached every
//!   replica. The demo keeps its own data (its users, its counter) in each process, not in the
//!   store, so a user made on one replica is unknown to the others and each counts on its own:
//!   these scripts check no value of it (the general `http_client.*` scripts do, and fail
//!   here for that reason alone).
//! - A client's answer to a sampling request, posted to a replica other than the one that
//!   asked, reaches the waiting call; once the replica that asked is gone, it is refused.
//! - `clients/py/failover.py` keeps its session while the replica that holds its `GET`
//!   stream is killed.
//! - A `GET` that resumes after a `Last-Event-ID` gets the events its stream missed, first,
//!   whichever replica it reaches.
//!
//! The replicas' logs are JSON lines; a request's line names its `session` and its `http`
//! request line. Every wait has a deadline, and nothing here asserts on timing.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::cluster::{Cluster, EventStream, HttpConnection, HttpResponse, RedisServer, SseEvent};
use support::{
    Outcome, SETUP_HINT, assert_client_passed, assert_typescript_sdk_installed, client_python,
    read_in_background, run_with_deadline, wait_or_kill, workspace_root,
};

/// For one SDK client run (each also bounds itself, at 45 s).
const DEADLINE: Duration = Duration::from_secs(60);

/// How long a test waits for the events it expects on an SSE stream.
const EVENT_WAIT: Duration = Duration::from_secs(10);

const PROTOCOL_VERSION: &str = "2025-11-25";
const COUNTER_URI: &str = "demo://counter";

#[test]
fn typescript_sdk_holds_a_session_across_replicas() {
    typescript_sdk_holds_a_session("tokio");
}

#[test]
fn typescript_sdk_holds_a_session_across_replicas_on_smol() {
    typescript_sdk_holds_a_session("smol");
}

#[test]
fn python_sdk_holds_a_session_across_replicas() {
    let python = client_python(&workspace_root());
    sdk_holds_a_session(
        "the Python SDK client",
        "tokio",
        &python,
        "clients/py/replica_session.py",
    );
}

fn typescript_sdk_holds_a_session(runtime: &str) {
    assert_typescript_sdk_installed(&workspace_root());
    sdk_holds_a_session(
        "the TypeScript SDK client",
        runtime,
        Path::new("node"),
        "clients/ts/replica_session.mjs",
    );
}

/// Runs `program script <nginx url>` against three replicas on `runtime`, asserts that it
/// passed, that some session of its was served by two replicas or more, and that its only
/// session's requests reached all three.
fn sdk_holds_a_session(what: &str, runtime: &str, program: &Path, script: &str) {
    let redis = RedisServer::start();
    let cluster = Cluster::start(3, runtime, &replica_env(&redis.url()));
    let url = cluster.nginx.url("/mcp");
    let outcome = run_with_deadline(program, &[script, &url], &workspace_root(), DEADLINE);
    let what = format!("{what} through nginx ({runtime} replicas)");
    let counts = cluster.replicas.requests_by_session();
    let failed = format!(
        "requests per replica by session: {counts:?}\n{}",
        trailer(&cluster)
    );
    assert_client_passed(&what, &outcome, DEADLINE, &failed);
    cluster.replicas.assert_a_session_spans_replicas(&what);
    let (session, _) = cluster.replicas.only_session();
    let every = |counts: &[usize]| counts.len() == 3 && counts.iter().all(|&n| n > 0);
    let counts = cluster.replicas.session_requests_once(&session, every);
    assert!(
        every(&counts),
        "{what}: the requests of session {session} did not reach every replica: {counts:?}\n{}",
        trailer(&cluster)
    );
    println!("{what}: requests of session {session} per replica: {counts:?}");
}

#[test]
fn a_sampling_answer_posted_to_another_replica_reaches_the_call() {
    let redis = RedisServer::start();
    let mut cluster = Cluster::start(3, "tokio", &replica_env(&redis.url()));
    let mut first = cluster.replicas.connect(0);
    let session = open_session(&mut first, &json!({"sampling": {}}), &cluster);

    // Replica 1 runs the call and asks the client; the answer goes to replica 2.
    let mut call = start_sampling(&cluster, 1, &session, 2);
    let asked = next_message(&mut call, &cluster, "sampling/createMessage", |message| {
        message["method"] == "sampling/createMessage"
    });
    let mut third = cluster.replicas.connect(2);
    let answer = sampling_answer(&asked, "from another replica");
    let answered = post(&mut third, Some(&session), &answer, "answer-2");
    assert_eq!(
        answered.status,
        202,
        "the answer to {asked} on replica 2: {}\n{}",
        answered.dump(),
        trailer(&cluster)
    );
    let result = next_message(&mut call, &cluster, "the call's result", |message| {
        message["id"] == 2
    });
    let text = result["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default();
    assert!(
        text.contains("from another replica"),
        "the call's result lacks the answer: {result}\n{}",
        trailer(&cluster)
    );
    call.close();

    // Replica 1 asks again, and is gone before the answer comes.
    let mut call = start_sampling(&cluster, 1, &session, 3);
    let asked = next_message(&mut call, &cluster, "sampling/createMessage", |message| {
        message["method"] == "sampling/createMessage"
    });
    cluster.replicas.kill(1);
    call.close();
    let answer = sampling_answer(&asked, "too late");
    let refused = post(&mut third, Some(&session), &answer, "answer-3");
    let message = refused.message()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        refused.status == 400 && message.contains("the replica that sent it may be gone"),
        "wanted 400 with a JSON-RPC error that says the replica that asked may be gone, got {}\n{}",
        refused.dump(),
        trailer(&cluster)
    );
    println!(
        "answer on replica 2 -> 202, the call on replica 1 -> {text:?}; the answer to {} after replica 1 \
         died -> {} {message:?}",
        asked["id"], refused.status
    );
}

#[test]
fn a_killed_replica_does_not_end_the_session() {
    let root = workspace_root();
    let python = client_python(&root);
    let redis = RedisServer::start();
    let mut cluster = Cluster::start(3, "tokio", &replica_env(&redis.url()));
    let url = cluster.nginx.url("/mcp");
    let client = ScriptClient::start(&python, &["clients/py/failover.py", &url], &root);
    let client = client.wait_for_ready(&trailer(&cluster));

    let (session, before) = cluster.replicas.only_session();
    let victim = cluster.replicas.stream_holder(&session).unwrap_or(0);
    cluster.replicas.kill(victim);
    let outcome = client.go_on();
    assert_client_passed(
        &format!("failover.py, with replica {victim} killed"),
        &outcome,
        DEADLINE,
        &trailer(&cluster),
    );

    // echo, tools/list and DELETE at least, by the replicas still alive.
    let survivors = |counts: &[usize]| -> usize {
        let alive = (0..before.len()).filter(|&replica| replica != victim);
        alive
            .map(|r| counts.get(r).map_or(0, |n| n.saturating_sub(before[r])))
            .sum()
    };
    let after = cluster
        .replicas
        .session_requests_once(&session, |counts| survivors(counts) >= 3);
    assert!(
        survivors(&after) >= 3,
        "replicas other than {victim} served {} requests of session {session} after the kill \
         (before: {before:?}, after: {after:?})\n{}",
        survivors(&after),
        trailer(&cluster)
    );
    println!(
        "session {session}: requests per replica before the kill of replica {victim}: {before:?}, after: {after:?}"
    );
}

#[test]
fn last_event_id_through_nginx_replays_missed_events() {
    let redis = RedisServer::start();
    let cluster = Cluster::start(3, "tokio", &replica_env(&redis.url()));
    let mut conn = cluster.connect();
    let session = open_session(&mut conn, &json!({}), &cluster);
    let subscribe = json!({"jsonrpc": "2.0", "id": 2, "method": "resources/subscribe",
        "params": {"uri": COUNTER_URI}});
    let subscribed = post(&mut conn, Some(&session), &subscribe, "subscribe");
    assert!(
        subscribed.message()["result"].is_object(),
        "{}",
        subscribed.dump()
    );

    let mut stream = open_stream(&cluster, &session, None, "stream");
    increment(&mut conn, &session, 3);
    let deadline = Instant::now() + EVENT_WAIT;
    let seen = loop {
        let event = stream
            .next_event(deadline)
            .unwrap_or_else(|e| panic!("the GET stream: {e}\n{}", trailer(&cluster)));
        if is_counter_update(&event) {
            break event;
        }
    };
    let seen_id = seen
        .id
        .clone()
        .unwrap_or_else(|| panic!("an update without an id: {seen:?}"));
    stream.close();

    increment(&mut conn, &session, 4);
    increment(&mut conn, &session, 5);
    let mut replays: Vec<Vec<String>> = Vec::new();
    for attempt in 1..=3 {
        let label = format!("resume-{attempt}");
        let mut resumed = open_stream(&cluster, &session, Some(&seen_id), &label);
        let events = read_events(&mut resumed, 2);
        resumed.close();
        let Some(ids) = updates_after(&events, &seen_id) else {
            panic!(
                "{label}: after Last-Event-ID {seen_id}, wanted the two missed updates of \
                 {COUNTER_URI} first, got {events:#?}\n{}",
                trailer(&cluster)
            );
        };
        replays.push(ids);
    }
    let labels = ["stream", "resume-1", "resume-2", "resume-3"].map(String::from);
    let served = cluster.replicas.served(&labels);
    let served: Vec<Option<usize>> = served.iter().map(|s| s.as_ref().map(|s| s.replica)).collect();
    // Every resume replays the same first missed event, by its id.
    assert!(
        replays.iter().all(|ids| ids[0] == replays[0][0]),
        "the resumes replayed different events: {replays:?}; GETs {labels:?} served by replicas \
         {served:?}\n{}",
        trailer(&cluster)
    );
    println!(
        "update {seen_id} seen, then replayed {replays:?}; GETs {labels:?} served by replicas {served:?}"
    );
}

/// What every replica here runs with: the shared store, and a rate limit that a whole
/// conversation, and the health checks of three replicas, stay far below.
fn replica_env(redis_url: &str) -> [(&str, &str); 2] {
    [("REDIS_URL", redis_url), ("RATE_LIMIT", "100000")]
}

/// The replicas' log tails and nginx's output, for a failure message.
fn trailer(cluster: &Cluster) -> String {
    format!(
        "{}\n{}",
        cluster.replicas.logs_tail(40),
        cluster.nginx.output_tail()
    )
}

/// A client script started with its stdin held open, so that the test can tell it to go on.
struct ScriptClient {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
    stdout: Vec<String>,
    stderr: thread::JoinHandle<Vec<u8>>,
    started: Instant,
}

impl ScriptClient {
    /// Starts `program args...` in `cwd`, in a process group of its own.
    fn start(program: &Path, args: &[&str], cwd: &Path) -> Self {
        let mut child = Command::new(program)
            .args(args)
            .current_dir(cwd)
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}; {SETUP_HINT}", program.display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = read_in_background(child.stderr.take().expect("piped stderr"));
        Self {
            child,
            lines,
            stdout: Vec::new(),
            stderr,
            started: Instant::now(),
        }
    }

    /// Waits for the line `READY`, until [`DEADLINE`] after its start; panics with its output
    /// and `trailer` when it ends or the deadline passes first.
    fn wait_for_ready(mut self, trailer: &str) -> Self {
        let left = || (self.started + DEADLINE).saturating_duration_since(Instant::now());
        let why = loop {
            match self.lines.recv_timeout(left()) {
                Ok(line) if line == "READY" => return self,
                Ok(line) => self.stdout.push(line),
                Err(mpsc::RecvTimeoutError::Timeout) => break "printed no READY in time",
                Err(mpsc::RecvTimeoutError::Disconnected) => break "ended before READY",
            }
        };
        let outcome = self.finish();
        panic!(
            "the client {why}\n--- client stdout ---\n{}\n--- client stderr ---\n{}\n{trailer}",
            outcome.stdout, outcome.stderr
        );
    }

    /// Writes a line to its stdin and waits for it to finish.
    fn go_on(mut self) -> Outcome {
        if let Some(mut stdin) = self.child.stdin.take() {
            // It may have failed and exited already; its output says why.
            let _ = stdin.write_all(b"go\n");
        }
        self.finish()
    }

    /// Waits for it to exit, until [`DEADLINE`] after its start, and collects its output.
    fn finish(mut self) -> Outcome {
        let status = wait_or_kill(&mut self.child, self.started + DEADLINE);
        // The reader ends with the pipe, which the exit (or the group kill) closed.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.stdout.push(line);
        }
        let stderr = self.stderr.join().expect("stderr reader");
        Outcome {
            status,
            stdout: self.stdout.iter().map(|line| format!("{line}\n")).collect(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            elapsed: self.started.elapsed(),
        }
    }
}

/// Initializes a 2025-11-25 session on `conn` with the client `capabilities`, and sends
/// `notifications/initialized`; returns its id.
fn open_session(conn: &mut HttpConnection, capabilities: &Value, cluster: &Cluster) -> String {
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": PROTOCOL_VERSION,
        "capabilities": capabilities,
        "clientInfo": {"name": "replica-clients", "version": "0"}
    }});
    let response = post(conn, None, &initialize, "initialize");
    let Some(session) = response.header("mcp-session-id").map(String::from) else {
        panic!(
            "initialize gave no session: {}\n{}",
            response.dump(),
            trailer(cluster)
        );
    };
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let response = post(conn, Some(&session), &initialized, "initialized");
    assert_eq!(response.status, 202, "{}", response.dump());
    session
}

/// POSTs `body` to `/mcp` as a Streamable HTTP client does, in `session` when there is one,
/// under the `X-Request-Id` `request_id`.
fn post(conn: &mut HttpConnection, session: Option<&str>, body: &Value, request_id: &str) -> HttpResponse {
    conn.request(
        "POST",
        "/mcp",
        &post_headers(session, request_id),
        &body.to_string(),
    )
    .unwrap_or_else(|e| panic!("POST /mcp ({request_id}): {e}"))
}

/// The header fields of a Streamable HTTP client's POST, in `session` when there is one.
fn post_headers<'a>(session: Option<&'a str>, request_id: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut headers = vec![
        ("Content-Type", "application/json"),
        ("Accept", "application/json, text/event-stream"),
        ("X-Request-Id", request_id),
    ];
    if let Some(session) = session {
        headers.extend([
            ("Mcp-Session-Id", session),
            ("MCP-Protocol-Version", PROTOCOL_VERSION),
        ]);
    }
    headers
}

/// Calls `test_sampling` as request `id` on replica `replica` itself, on a connection of its
/// own; returns the call's stream, where the request to the client and then the result come.
fn start_sampling(cluster: &Cluster, replica: usize, session: &str, id: i64) -> EventStream {
    let call = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": "test_sampling", "arguments": {"prompt": format!("question {id}")}}});
    let request_id = format!("sampling-{id}");
    let headers = post_headers(Some(session), &request_id);
    cluster
        .replicas
        .connect(replica)
        .post_events("/mcp", &headers, &call.to_string())
        .unwrap_or_else(|e| panic!("{request_id} on replica {replica}: {e}\n{}", trailer(cluster)))
}

/// The first message on `stream` that `wanted` accepts, within [`EVENT_WAIT`]; panics, naming
/// it `what`, with the messages before it when the stream ends or the wait is over first.
fn next_message(
    stream: &mut EventStream,
    cluster: &Cluster,
    what: &str,
    wanted: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + EVENT_WAIT;
    let mut before = Vec::new();
    loop {
        let message = match stream.next_event(deadline) {
            Ok(event) => event.message(),
            Err(e) => panic!(
                "waiting for {what}: {e}; the messages before: {before:#?}\n{}",
                trailer(cluster)
            ),
        };
        if wanted(&message) {
            return message;
        }
        before.push(message);
    }
}

/// A client's answer to the sampling request `asked`, with `text` as what the model said.
fn sampling_answer(asked: &Value, text: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": asked["id"], "result": {
        "role": "assistant",
        "content": {"type": "text", "text": text},
        "model": "replica-clients-model"
    }})
}

/// Calls `counter.increment` as request `id`, and checks that it answered.
fn increment(conn: &mut HttpConnection, session: &str, id: i64) {
    let call = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": "counter.increment", "arguments": {}}});
    let response = post(conn, Some(session), &call, &format!("increment-{id}"));
    assert!(
        response.message()["result"]["structuredContent"]["value"].is_u64(),
        "{}",
        response.dump()
    );
}

/// Opens the session's `GET /mcp` stream through nginx on a connection of its own, resuming
/// after `last_event_id` when given, under the `X-Request-Id` `request_id`.
fn open_stream(
    cluster: &Cluster,
    session: &str,
    last_event_id: Option<&str>,
    request_id: &str,
) -> EventStream {
    let mut headers = vec![
        ("Accept", "text/event-stream"),
        ("Mcp-Session-Id", session),
        ("MCP-Protocol-Version", PROTOCOL_VERSION),
        ("X-Request-Id", request_id),
    ];
    if let Some(id) = last_event_id {
        headers.push(("Last-Event-ID", id));
    }
    cluster
        .connect()
        .get_events("/mcp", &headers)
        .unwrap_or_else(|e| panic!("{request_id}: {e}\n{}", trailer(cluster)))
}

/// The first `n` events of `stream`, or fewer when it ends or [`EVENT_WAIT`] passes first.
fn read_events(stream: &mut EventStream, n: usize) -> Vec<SseEvent> {
    let deadline = Instant::now() + EVENT_WAIT;
    let mut events = Vec::new();
    while events.len() < n {
        let Ok(event) = stream.next_event(deadline) else {
            break;
        };
        events.push(event);
    }
    events
}

/// The ids of `events` when they are two updates of the counter after the event `seen_id`,
/// in order.
fn updates_after(events: &[SseEvent], seen_id: &str) -> Option<Vec<String>> {
    let updates = events.iter().filter(|event| is_counter_update(event));
    let ids: Vec<String> = updates.filter_map(|event| event.id.clone()).collect();
    if events.len() != 2 || ids.len() != 2 {
        return None;
    }
    // The first comes from the stream the client saw, after what it saw. The replica that
    // held the stream writes its events to the store after the fact, so the second may not
    // be there yet when the resume reads it: the resuming replica then sends its own copy
    // of the same announcement, under an id of its own stream.
    let (seen_stream, seen_seq) = stream_and_seq(seen_id);
    let (first_stream, first_seq) = stream_and_seq(&ids[0]);
    let (second_stream, second_seq) = stream_and_seq(&ids[1]);
    let first_follows = first_stream == seen_stream && first_seq > seen_seq;
    let second_follows = second_stream != seen_stream || second_seq > first_seq;
    (first_follows && second_follows).then_some(ids)
}

/// Whether `event` says that the counter changed.
fn is_counter_update(event: &SseEvent) -> bool {
    let message = event.message();
    message["method"] == "notifications/resources/updated" && message["params"]["uri"] == COUNTER_URI
}

/// The stream and the place in it that an event id `<stream>-<seq>` names.
fn stream_and_seq(id: &str) -> (u64, u64) {
    id.rsplit_once('-')
        .and_then(|(stream, seq)| Some((stream.parse().ok()?, seq.parse().ok()?)))
        .unwrap_or_else(|| panic!("an event id not of the form <stream>-<seq>: {id:?}"))
}
