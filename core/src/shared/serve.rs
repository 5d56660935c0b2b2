//! The HTTP driver of every runtime: the accept loop, a task per connection that reads, runs
//! the request through the [`SharedServer`] and writes the answer itself, one timer task, one
//! log task, and the drain that ends them. The runtime's calls come in through the
//! [`Runtime`], [`Listener`] and [`Stream`] traits.
//!
//! The drain, once `shutdown` resolves: `/ready` answers 503 at once while the listener stays
//! open for `DRAIN_DELAY`, so that load balancers stop sending before connections are
//! refused; then the listener closes, the server shuts down (idle connections close, busy
//! ones after their response) and running calls may finish until `DRAIN_TIMEOUT`, when the
//! core answers them with E_TIMEOUT. Each phase is logged.

use std::future::{Future, pending};
use std::io;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::accept::{Accept, Open};
use super::runtime::{Listener, Runtime, Stream};
use super::wait::{Signal, race};
use super::{ReadBuffer, SharedServer};
use crate::log::Level;
use crate::metrics::HostCounter;
use crate::server::{ConnectionId, Server};
use crate::store::StoreBackend;
use crate::trace::SpanExporter;

/// Where log lines go: takes a batch without blocking, returns how many lines it dropped.
pub type Log = dyn Fn(&[u8]) -> u64 + Send + Sync;

/// What an adapter attaches to the driver beside the server and its listener.
pub struct Services<L> {
    /// Takes batches of JSON log lines, from a task of its own, and must not block: it
    /// queues them for a writer elsewhere (rampart-stdio's `LogWriter` writes stderr from a
    /// thread) and returns how many lines it dropped, which `/metrics` counts.
    pub log: Box<Log>,
    /// The store replicas share state through ([`SharedServer::set_store`]), if any.
    pub store: Option<Arc<dyn StoreBackend>>,
    /// Where span records go, when traces are exported.
    pub spans: Option<Arc<dyn SpanExporter>>,
    /// The listener of `METRICS_ADDR`, whose connections serve only `/metrics` and the
    /// probes; it closes with the main one.
    pub metrics: Option<L>,
}

impl<L> Services<L> {
    /// Logs through `log`, with no store, no spans and no metrics listener.
    pub fn new(log: impl Fn(&[u8]) -> u64 + Send + Sync + 'static) -> Self {
        Self {
            log: Box::new(log),
            store: None,
            spans: None,
            metrics: None,
        }
    }
}

/// How long after `DRAIN_TIMEOUT` connections still writing (to clients that do not read)
/// are left behind: the drain ends then whatever is open.
const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// Serves `server` on `listener` until `shutdown` resolves, then drains, and returns `Ok`
/// once every connection has closed.
///
/// The drain: `/ready` answers 503 at once while the listener stays open for `DRAIN_DELAY`,
/// so that load balancers stop sending before connections are refused; then the listener
/// closes, the server shuts down (idle connections close, busy ones after their response)
/// and running calls may finish until `DRAIN_TIMEOUT`, when the core answers them with
/// E_TIMEOUT. Connections still writing 2 s after that (to clients that do not read) are
/// left behind. Each phase is logged.
///
/// `services` brings the log sink (its last batch is handed over before this returns), the
/// shared store, the span exporter and the metrics listener.
///
/// While `MAX_CONNECTIONS` connections are open, no new one is accepted: they wait in the
/// listen backlog. Each connection accepted after such a wait that was already waiting
/// counts in `/metrics` as deferred; each failed accept counts as an accept error, and the
/// loop pauses a moment after it (out of descriptors, the next accept would fail too).
pub async fn serve<R: Runtime, L: Listener>(
    runtime: R,
    server: Server,
    listener: L,
    shutdown: impl Future<Output = ()>,
    services: Services<L>,
) -> io::Result<()> {
    let Services {
        log,
        store,
        spans,
        metrics,
    } = services;
    let stall = server.config().write_stall_timeout;
    let serving = server.config().serving.clone();
    let spawner = runtime.clone();
    let shards = match serving.shards {
        0 => runtime.workers().max(1),
        shards => shards,
    };
    let shared = SharedServer::sharded(server, shards, R::now, move |task| spawner.spawn(task));
    if let Some(store) = store {
        shared.set_store(store);
    }
    if let Some(spans) = spans {
        shared.set_span_exporter(spans);
    }
    let log: Arc<Log> = Arc::from(log);
    let stop = Arc::new(Stop::default());
    runtime.spawn(drive_timers::<R>(Arc::clone(&shared), Arc::clone(&stop)));
    runtime.spawn(write_logs::<R>(
        Arc::clone(&shared),
        Arc::clone(&log),
        Arc::clone(&stop),
    ));
    let metrics = Accept::metrics(runtime.clone(), &shared, metrics, stall);
    let accept = Accept {
        runtime,
        shared: Arc::clone(&shared),
        listener,
        open: Arc::new(Open::default()),
        max: serving.max_connections,
        stall,
        metrics_only: false,
    };
    let note = |level, message: &str, fields: Value| note::<R>(&shared, &*log, level, message, fields);

    {
        let accepting = pin!(async {
            accept.until(pin!(shutdown)).await;
            shared.begin_drain();
            let delay = serving.drain_delay;
            note(
                Level::Info,
                "shutting down: /ready answers 503; accepting connections until the drain delay ends",
                json!({"drain_delay_ms": millis(delay), "connections": accept.open.count()}),
            );
            if !delay.is_zero() {
                accept.until(pin!(R::sleep_until(R::now().instant + delay))).await;
            }
        });
        // The metrics listener serves beside the main one, and closes with it.
        let scraping = pin!(async {
            match &metrics {
                Some(metrics) => metrics.until(pin!(pending::<()>())).await,
                None => pending().await,
            }
        });
        race(accepting, scraping).await;
    }
    drop(metrics);
    let Accept { listener, open, .. } = accept;
    drop(listener);
    note(
        Level::Info,
        "shutting down: stopped accepting; running calls may finish until the drain timeout",
        json!({"drain_timeout_ms": millis(serving.drain_timeout), "connections": open.count()}),
    );
    let started = R::now().instant;
    shared.shutdown();
    let drained = {
        let drained = pin!(async {
            shared.drained().await;
            true
        });
        let given_up = pin!(async {
            R::sleep_until(started + serving.drain_timeout + DRAIN_GRACE).await;
            false
        });
        race(drained, given_up).await
    };
    let took = millis(R::now().instant.saturating_duration_since(started));
    if drained {
        note(
            Level::Info,
            "shutting down: drained",
            json!({"duration_ms": took}),
        );
    } else {
        note(
            Level::Warning,
            "shutting down: connections still writing after the drain timeout are left open",
            json!({"duration_ms": took, "connections": open.count()}),
        );
    }
    stop.timers.raise();
    stop.logs.raise();
    stop.logs_stopped.raised().await;
    let lines = shared.take_logs();
    count_dropped(&shared, log(&lines));
    Ok(())
}

/// How `serve` stops its timer and log tasks once every connection has drained.
#[derive(Debug, Default)]
struct Stop {
    timers: Signal,
    logs: Signal,
    /// The log task wrote its last batch and ended.
    logs_stopped: Signal,
}

/// Reads, runs and writes for one connection until it closes.
pub(super) async fn serve_connection<R: Runtime, S: Stream>(
    shared: Arc<SharedServer>,
    connection: ConnectionId,
    mut stream: S,
    stall: Duration,
    open: Arc<Open>,
) {
    let mut buf = ReadBuffer::new();
    let mut out = Vec::new();
    // A new connection takes input; after each chunk, it waits to be told to read again.
    let mut can_read = true;
    let mut eof = false;
    loop {
        let event = {
            let read = pin!(async {
                if can_read {
                    Some(stream.read(buf.space()).await)
                } else {
                    pending().await
                }
            });
            let ready = pin!(async {
                shared.ready(connection).await;
                None
            });
            race(read, ready).await
        };
        let output = match event {
            Some(Ok(0)) => {
                (can_read, eof) = (false, true);
                shared.eof(connection, &mut out)
            }
            Some(Ok(n)) => {
                can_read = false;
                shared.input(connection, buf.filled(n), &mut out)
            }
            Some(Err(_)) => {
                shared.disconnect(connection);
                break;
            }
            None => shared.take(connection, &mut out),
        };
        if !out.is_empty() {
            // A client that stops reading is cut off after the stall timeout. The timer is
            // made only if the write has to wait.
            let written = {
                let write = pin!(stream.write_all(&out));
                let stalled = pin!(async {
                    R::sleep_until(R::now().instant + stall).await;
                    Err(io::ErrorKind::TimedOut.into())
                });
                race(write, stalled).await
            };
            if written.is_err() {
                shared.disconnect(connection);
                break;
            }
            out.clear();
        }
        if output.gone {
            break;
        }
        if output.close {
            let _ = stream.close().await;
            break;
        }
        can_read |= output.resume && !eof;
    }
    drop(stream);
    shared.finish(connection);
    open.closed();
}

/// Sleeps until the core's next deadline, fires it, and re-arms when it moves earlier; ends
/// when told to stop.
async fn drive_timers<R: Runtime>(shared: Arc<SharedServer>, stop: Arc<Stop>) {
    let mut stopped = pin!(stop.timers.raised());
    loop {
        let deadline = shared.next_deadline();
        let sleep = pin!(async {
            match deadline {
                Some(at) => R::sleep_until(at).await,
                None => pending().await,
            }
            Some(true)
        });
        let changed = pin!(async {
            shared.deadline_changed().await;
            Some(false)
        });
        let stopping = pin!(async {
            stopped.as_mut().await;
            None
        });
        let waited = pin!(race(sleep, changed));
        match race(waited, stopping).await {
            Some(true) => shared.timeout(),
            Some(false) => {}
            None => return,
        }
    }
}

/// Hands log lines to `log` in batches: after each batch it yields, so the lines of the
/// requests served meanwhile go out in the next single batch. Once told to stop, it ends
/// after the batch waiting, if any.
async fn write_logs<R: Runtime>(shared: Arc<SharedServer>, log: Arc<Log>, stop: Arc<Stop>) {
    let mut lines = Vec::new();
    let mut stopped = pin!(stop.logs.raised());
    loop {
        let taken = {
            let taken = pin!(async {
                shared.logs(&mut lines).await;
                true
            });
            let stopping = pin!(async {
                stopped.as_mut().await;
                false
            });
            race(taken, stopping).await
        };
        if !taken {
            break;
        }
        count_dropped(&shared, log(&lines));
        lines.clear();
        R::yield_now().await;
    }
    stop.logs_stopped.raise();
}

/// Counts log lines the writer dropped in the server's metrics.
fn count_dropped(shared: &SharedServer, dropped: u64) {
    if dropped > 0 {
        shared.with(|server| server.count(HostCounter::LogLinesDropped, dropped));
    }
}

/// Logs one line of the driver's own, in the format of the request logs: timestamp, level
/// and message first, then `fields` (an object).
fn note<R: Runtime>(shared: &SharedServer, log: &Log, level: Level, message: &str, fields: Value) {
    note_with(shared, log, R::now(), level, message, fields);
}

fn note_with(shared: &SharedServer, log: &Log, now: crate::Now, level: Level, message: &str, fields: Value) {
    let head = json!({
        "timestamp": now.rfc3339(),
        "level": level,
        "message": message,
    });
    let mut line = format!(
        "{{\"timestamp\":{},\"level\":{},\"message\":{}",
        head["timestamp"], head["level"], head["message"]
    );
    if let Value::Object(fields) = fields {
        for (name, value) in fields {
            line.push_str(&format!(",{}:{value}", Value::from(name)));
        }
    }
    line.push_str("}\n");
    count_dropped(shared, log(line.as_bytes()));
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    fn now() -> crate::Now {
        crate::Now::new(std::time::Instant::now(), std::time::SystemTime::UNIX_EPOCH)
    }

    #[test]
    fn a_driver_line_reads_like_a_request_log() {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        let log = move |bytes: &[u8]| {
            sink.lock().unwrap().extend_from_slice(bytes);
            0
        };
        let server = Server::new(
            crate::Config::default(),
            crate::ToolRegistry::new(),
            [0; 32],
            now(),
        );
        let shared = SharedServer::new(server, now, |_| {});
        note_with(
            &shared,
            &log,
            now(),
            Level::Info,
            "drained",
            json!({"duration_ms": 12}),
        );
        let line = String::from_utf8(lines.lock().unwrap().clone()).unwrap();
        let expected =
            r#"{"timestamp":"1970-01-01T00:00:00.000Z","level":"INFO","message":"drained","duration_ms":12}"#;
        assert_eq!(line, format!("{expected}\n"));
    }
}
