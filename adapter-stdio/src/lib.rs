//! Serves a rampart core over stdin/stdout: one JSON-RPC message per line on stdout and
//! nothing else, one JSON log record per line on stderr.
//!
//! The adapter ties the user to no async runtime. Tool futures run on whatever runtime the
//! caller's spawner feeds (tokio, smol, async-std, a thread pool); the adapter itself is a
//! plain blocking drive loop on the calling thread, with one reader thread for input, and
//! waits for deadlines with a channel timeout rather than a runtime timer.
//!
//! [`run`] does everything in one call: it seeds a server from the OS, installs the JSON
//! panic hook and serves. [`serve`] and [`serve_with`] take a server built by the caller;
//! their `_until` twins also drain when a [`Shutdown`] is begun (from a signal handler, say):
//!
//! Logs reach stderr through [`log_writer`], a thread of its own with a bounded queue, so a
//! stderr that nobody reads never stalls the drive loop (nor, in the HTTP adapters, a
//! runtime's worker); lines that do not fit are dropped and counted.
//!
//!
//! ```no_run
//! # use rampart_core::{Config, Server, ToolRegistry};
//! # use std::time::{Instant, SystemTime};
//! let now = rampart_core::Now::new(Instant::now(), SystemTime::now());
//! let server = Server::new(Config::default(), ToolRegistry::new(), [0; 32], now);
//! let runtime = tokio::runtime::Runtime::new().unwrap();
//! let handle = runtime.handle().clone();
//! rampart_stdio::serve(server, move |task| {
//!     handle.spawn(task);
//! })
//! .unwrap();
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::collections::HashMap;
use std::future::Future;
use std::io::{self, BufWriter, Read, Write};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::thread;
use std::time::{Instant, SystemTime};

use futures_util::future::{AbortHandle, abortable};
use rampart_core::log::LogOutput;
use rampart_core::metrics::HostCounter;
use rampart_core::store::StoreError;
use rampart_core::trace::SpanExporter;
use rampart_core::{
    Call, CallId, Config, Event, Framing, LogRecord, Message, Now, Outbox, Outcome, Registry, Server,
    Transmit,
};
use serde_json::json;

mod log_writer;
mod shutdown;
mod spans;

pub use log_writer::{LOG_FLUSH_DEADLINE, LOG_QUEUE_BYTES, LogWriter, log_writer};
pub use shutdown::Shutdown;
pub use spans::{FlushSpans, span_exporter};

/// A tool call's future, boxed for the caller's spawner.
pub type Task = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Runs tasks on the caller's runtime.
pub trait Spawn {
    /// Starts `task` in the background; it must be polled to completion or dropped.
    fn spawn(&self, task: Task);
}

impl<F: Fn(Task)> Spawn for F {
    fn spawn(&self, task: Task) {
        self(task)
    }
}

/// How long a panic waits for its log line to reach stderr.
const PANIC_FLUSH_DEADLINE: std::time::Duration = std::time::Duration::from_millis(250);

/// How many bytes are read from the input at a time.
const READ_CHUNK: usize = 64 * 1024;

/// Serves `registry` with `config` on this process's stdin and stdout until stdin ends and
/// every accepted request has been answered.
///
/// Seeds the server from the OS ([`seeded_server`]), installs the JSON panic hook
/// ([`install_json_panic_hook`]) and calls [`serve`]. Tool calls run on whatever `spawner`
/// feeds; the drive loop blocks the calling thread.
///
/// ```no_run
/// use rampart_core::{Config, Registry, Tool, ToolOutput};
/// use serde_json::json;
///
/// fn main() -> std::io::Result<()> {
///     let registry = Registry::new()
///         .tool(Tool::new("echo", json!({"type": "object"}), |args, _ctx| async move {
///             Ok(ToolOutput::text(args.to_string()))
///         }))
///         .map_err(std::io::Error::other)?;
///     let runtime = tokio::runtime::Runtime::new()?;
///     let _inside = runtime.enter();
///     rampart_stdio::run(Config::new(rampart_core::server_info!()), registry, |task| {
///         tokio::spawn(task);
///     })
/// }
/// ```
///
/// A shared store (`REDIS_URL`) is for replicas behind a load balancer: stdio serves one
/// client, so `run` serves without it.
pub fn run(config: Config, registry: Registry, spawner: impl Spawn) -> io::Result<()> {
    run_until(config, registry, spawner, Shutdown::new())
}

/// [`run`], which also drains once `shutdown` is begun (see [`serve_with_until`]).
pub fn run_until(
    mut config: Config,
    registry: Registry,
    spawner: impl Spawn,
    shutdown: Shutdown,
) -> io::Result<()> {
    config.store.url = None;
    let server = seeded_server(config, registry)?;
    install_json_panic_hook();
    serve_until(server, spawner, shutdown)
}

/// Builds a server for `registry` with `config`, seeded from the OS's random number generator
/// and started at the current time.
///
/// Fails only when the OS has no randomness to give.
pub fn seeded_server(config: Config, registry: Registry) -> io::Result<Server> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|err| io::Error::other(format!("no OS randomness: {err}")))?;
    Ok(Server::new(config, registry, seed, now()))
}

/// Serves `server` on this process's stdin and stdout, logging to stderr, until stdin ends
/// and every accepted request has been answered.
pub fn serve(server: Server, spawner: impl Spawn) -> io::Result<()> {
    serve_until(server, spawner, Shutdown::new())
}

/// [`serve`], which also drains once `shutdown` is begun (see [`serve_with_until`]).
///
/// Logs go to stderr through [`log_writer`]; before returning, it waits for them to be
/// written, at most [`LOG_FLUSH_DEADLINE`] (a stderr nobody reads does not hold the exit).
pub fn serve_until(server: Server, spawner: impl Spawn, shutdown: Shutdown) -> io::Result<()> {
    let served = serve_with_until(
        server,
        io::stdin(),
        io::stdout().lock(),
        log_writer(),
        spawner,
        shutdown,
    );
    log_writer().flush(LOG_FLUSH_DEADLINE);
    served
}

/// Serves `server` on any byte streams: `input` is read on a thread of its own, `output`
/// gets the protocol lines, `log` the JSON log lines (one write per line; a writer that
/// may block stalls the loop, so pass a [`LogWriter`] for a pipe).
///
/// When the input ends, the server drains: running calls may finish until `DRAIN_TIMEOUT`,
/// when they are answered with E_TIMEOUT. Returns once every accepted request has been
/// answered, or with the error that made writing the output fail. A reader blocked in
/// `input` at that moment is left to the process's exit.
pub fn serve_with<R, W, L>(server: Server, input: R, output: W, log: L, spawner: impl Spawn) -> io::Result<()>
where
    R: Read + Send + 'static,
    W: Write,
    L: Write,
{
    serve_with_until(server, input, output, log, spawner, Shutdown::new())
}

/// [`serve_with`], which also drains once `shutdown` is begun, as it does at the end of
/// input: it reads no more, running calls may finish until `DRAIN_TIMEOUT` (then they are
/// answered with E_TIMEOUT), their answers are written, and it returns `Ok`.
pub fn serve_with_until<R, W, L>(
    mut server: Server,
    input: R,
    output: W,
    log: L,
    spawner: impl Spawn,
    shutdown: Shutdown,
) -> io::Result<()>
where
    R: Read + Send + 'static,
    W: Write,
    L: Write,
{
    let (tx, rx) = mpsc::channel();
    let (permit_tx, permit_rx) = mpsc::sync_channel(1);
    spawn_reader(input, tx.clone(), permit_rx)?;
    let connection = server.accept("stdio", Framing::Ndjson, now());
    let mut draining = false;
    if shutdown.attach(tx.clone()) {
        let _ = tx.send(Input::Shutdown);
    }
    // Dropped when the loop returns, which sends the spans still queued.
    let (spans, _flush_spans) = span_exporter(server.config())?.unzip();
    let mut host = StdioHost {
        output: BufWriter::with_capacity(READ_CHUNK, output),
        write_error: None,
        log,
        spans,
        tx,
        permit: permit_tx,
        spawner,
        aborts: HashMap::new(),
        closed: false,
    };
    loop {
        host.drain(&mut server);
        if let Some(err) = host.write_error.take() {
            return Err(err);
        }
        host.output.flush()?;
        let _ = host.log.flush();
        if host.closed {
            return Ok(());
        }
        let message = match server.poll_timeout() {
            Some(timeout) => match rx.recv_timeout(timeout.at.saturating_duration_since(Instant::now())) {
                Ok(message) => Some(message),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => Some(Input::Eof),
            },
            None => Some(rx.recv().unwrap_or(Input::Eof)),
        };
        let now = now();
        let drain = match message {
            None => None,
            // Input that comes once the drain began is not read.
            Some(Input::Bytes(_) | Input::Eof | Input::Failed(_) | Input::Shutdown) if draining => None,
            Some(Input::Bytes(chunk)) => {
                // The reader waits for `resume`, so the core never gets a chunk it cannot hold.
                let _ = server.handle_input(connection, &chunk, now);
                None
            }
            Some(Input::Eof) => Some("input ended"),
            Some(Input::Shutdown) => Some("shutdown requested"),
            Some(Input::Failed(err)) => {
                let line = json!({
                    "timestamp": now.rfc3339(),
                    "level": "ERROR",
                    "message": format!("reading input failed: {err}"),
                });
                write_line(&mut host.log, &line.to_string());
                Some("reading input failed")
            }
            Some(Input::Done(call, outcome)) => {
                host.aborts.remove(&call);
                // A call that already timed out is refused here: its late result is dropped.
                let _ = server.complete(call, outcome, now);
                None
            }
            Some(Input::Message(call, message)) => {
                let _ = server.call_message(call, message, now);
                None
            }
        };
        if let Some(reason) = drain {
            draining = true;
            let line = json!({
                "timestamp": now.rfc3339(),
                "level": "INFO",
                "message": format!("shutting down: {reason}; running calls may finish until the drain timeout"),
                "drain_timeout_ms": u64::try_from(server.config().serving.drain_timeout.as_millis()).unwrap_or(u64::MAX),
            });
            write_line(&mut host.log, &line.to_string());
            let _ = server.handle_eof(connection, now);
            server.shutdown(now);
        }
        server.handle_timeout(now);
    }
}

/// What the drive loop waits for.
enum Input {
    Bytes(Vec<u8>),
    Eof,
    Failed(io::Error),
    /// A [`Shutdown`] was begun.
    Shutdown,
    Done(CallId, Outcome),
    Message(CallId, Message),
}

/// The side effects of the stdio drive loop: stdout, stderr, the reader's permit, the spawner.
struct StdioHost<W: Write, L: Write, S: Spawn> {
    output: BufWriter<W>,
    /// The first error writing stdout; the loop returns it.
    write_error: Option<io::Error>,
    log: L,
    /// Where spans go, when traces are exported.
    spans: Option<Arc<dyn SpanExporter>>,
    tx: Sender<Input>,
    permit: SyncSender<()>,
    spawner: S,
    aborts: HashMap<CallId, AbortHandle>,
    closed: bool,
}

impl<W: Write, L: Write, S: Spawn> StdioHost<W, L, S> {
    /// Acts on everything the core has for the adapter, until it has nothing more.
    fn drain(&mut self, server: &mut Server) {
        loop {
            let mut progressed = false;
            while let Some(transmit) = server.poll_transmit() {
                progressed = true;
                let connection = transmit.connection;
                if !self.transmit(transmit) {
                    server.handle_disconnect(connection, now());
                }
            }
            while let Some(event) = server.poll_event() {
                progressed = true;
                match event {
                    Event::Call(call) => self.run(call),
                    Event::Cancel(call) => self.cancel(call),
                    Event::Log(record) => self.log(record, server.config().serving.log_output),
                    Event::Resume(_) => {
                        let _ = self.permit.try_send(());
                    }
                    Event::Closed(_) => self.closed = true,
                    Event::Store(request) => {
                        // One client has nothing to share with replicas: `run` serves stdio
                        // without a store, and a server built with one limits as
                        // `RATE_LIMIT_FAILURE` says.
                        let answer = Err(StoreError::new("stdio serves without a shared store"));
                        server.store_reply(request.id, answer, now());
                    }
                    Event::Span(span) => {
                        if let Some(spans) = &self.spans
                            && !spans.export(span)
                        {
                            server.count(HostCounter::SpansDropped, 1);
                        }
                    }
                    _ => {}
                }
            }
            if !progressed {
                return;
            }
        }
    }

    fn transmit(&mut self, transmit: Transmit) -> bool {
        if self.write_error.is_some() {
            return false;
        }
        match self.output.write_all(&transmit.data) {
            Ok(()) => true,
            Err(err) => {
                self.write_error = Some(err);
                false
            }
        }
    }

    fn run(&mut self, call: Call) {
        let id = call.id;
        let done = self.tx.clone();
        let messages = self.tx.clone();
        let outbox = Outbox::new(move |call, message| {
            let _ = messages.send(Input::Message(call, message));
        });
        let (future, abort) = abortable(call.run(outbox));
        self.aborts.insert(id, abort);
        self.spawner.spawn(Box::pin(async move {
            if let Ok(outcome) = future.await {
                let _ = done.send(Input::Done(id, outcome));
            }
        }));
    }

    fn cancel(&mut self, call: CallId) {
        if let Some(abort) = self.aborts.remove(&call) {
            abort.abort();
        }
    }

    /// Writes a record as `output` says: a JSON line, a `tracing` event, or both.
    fn log(&mut self, record: LogRecord, output: LogOutput) {
        #[cfg(feature = "tracing")]
        if output.tracing() {
            record.emit_tracing();
        }
        if !output.json() {
            return;
        }
        // One write per line, newline included; a failed log write is dropped, never fatal.
        let mut line = Vec::new();
        record.write_json_line(&mut line);
        let _ = self.log.write_all(&line);
    }
}

fn spawn_reader<R: Read + Send + 'static>(
    mut input: R,
    tx: Sender<Input>,
    permits: Receiver<()>,
) -> io::Result<()> {
    thread::Builder::new()
        .name("rampart-stdin".into())
        .spawn(move || {
            let mut buf = vec![0; READ_CHUNK];
            loop {
                let message = match input.read(&mut buf) {
                    Ok(0) => Input::Eof,
                    Ok(n) => Input::Bytes(buf[..n].to_vec()),
                    Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                    Err(err) => Input::Failed(err),
                };
                let more = matches!(message, Input::Bytes(_));
                if tx.send(message).is_err() || !more || permits.recv().is_err() {
                    return;
                }
            }
        })?;
    Ok(())
}

fn write_line(log: &mut impl Write, line: &str) {
    // One write per line, newline included; a failed log write is dropped, never fatal.
    let mut buf = Vec::with_capacity(line.len() + 1);
    buf.extend_from_slice(line.as_bytes());
    buf.push(b'\n');
    let _ = log.write_all(&buf);
}

fn now() -> Now {
    Now::new(Instant::now(), SystemTime::now())
}

/// Writes one INFO line to stderr with `fields` after the timestamp and level, in the
/// format of the request logs: the adapters' "listening" and "shutting down" lines.
pub fn log_info(fields: &[(&str, &str)]) {
    let mut line = format!("{{\"timestamp\":\"{}\",\"level\":\"INFO\"", now().rfc3339());
    for (name, value) in fields {
        line.push(',');
        line.push_str(&serde_json::Value::from(*name).to_string());
        line.push(':');
        line.push_str(&serde_json::Value::from(*value).to_string());
    }
    line.push_str("}\n");
    log_writer().write_lines(line.as_bytes());
}

/// Logs that an HTTP server listens at `bound` with its MCP endpoint at `path`, on `runtime`.
pub fn log_listening(bound: std::net::SocketAddr, path: &str, runtime: &str) {
    let address = format!("http://{bound}{path}");
    log_info(&[
        ("message", "listening"),
        ("address", &address),
        ("runtime", runtime),
    ]);
}

/// Logs that a shutdown signal came and connections are draining (the HTTP driver logs each
/// phase of its drain itself).
pub fn log_draining() {
    log_info(&[("message", "shutting down: draining connections")]);
}

/// Installs a panic hook that reports panics as one JSON log line on stderr, so that stderr
/// carries only JSON even when a tool panics (the panic itself still becomes E_RUNTIME).
pub fn install_json_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic payload".into());
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let line = json!({
            "timestamp": now().rfc3339(),
            "level": "ERROR",
            "message": format!("panic: {message}"),
            "location": location,
        });
        log_writer().write_lines(format!("{line}\n").as_bytes());
        // A panic may end the process: its last words get a moment to reach stderr, but a
        // stderr nobody reads holds the panicking thread no longer than that.
        log_writer().flush(PANIC_FLUSH_DEADLINE);
    }));
}
