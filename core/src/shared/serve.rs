//! The HTTP driver of every runtime: the accept loop, a task per connection that reads, runs
//! the request through the [`SharedServer`] and writes the answer itself, one timer task, one
//! log writer task, and the shutdown that drains them. The runtime's calls come in through
//! the [`Runtime`], [`Listener`] and [`Stream`] traits.

use std::future::{Future, pending};
use std::io;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use super::runtime::{Listener, Runtime, Stream};
use super::wait::{Signal, race};
use super::{ReadBuffer, SharedServer};
use crate::server::{ConnectionId, Server};
use crate::store::StoreBackend;
use crate::trace::SpanExporter;

/// How long the accept loop pauses after a failed accept.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Serves `server` on `listener` until `shutdown` resolves and every connection has drained.
///
/// Store requests run on `store`, when the server shares state with replicas (see
/// [`SharedServer::set_store`]); span records go to `spans`, when traces are exported. Log records are handed to `log` as batches of JSON lines by a task of their own; the last
/// batch is written before this returns. After `shutdown`, no new connection is accepted,
/// `/ready` answers 503, idle connections close, and busy ones close after their response.
pub async fn serve<R: Runtime, L: Listener>(
    runtime: R,
    server: Server,
    listener: L,
    shutdown: impl Future<Output = ()>,
    log: impl Fn(&[u8]) + Clone + Send + 'static,
    store: Option<Arc<dyn StoreBackend>>,
    spans: Option<Arc<dyn SpanExporter>>,
) -> io::Result<()> {
    let stall = server.config().write_stall_timeout;
    let spawner = runtime.clone();
    let shared = SharedServer::new(server, R::now, move |task| spawner.spawn(task));
    if let Some(store) = store {
        shared.set_store(store);
    }
    if let Some(spans) = spans {
        shared.set_span_exporter(spans);
    }
    let stop = Arc::new(Stop::default());
    runtime.spawn(drive_timers::<R>(Arc::clone(&shared), Arc::clone(&stop)));
    runtime.spawn(write_logs::<R>(
        Arc::clone(&shared),
        log.clone(),
        Arc::clone(&stop),
    ));
    let mut shutdown = pin!(shutdown);
    loop {
        let stopping = pin!(async {
            shutdown.as_mut().await;
            None
        });
        let accepting = pin!(async { Some(listener.accept().await) });
        match race(stopping, accepting).await {
            Some(Ok((stream, peer))) => {
                let connection = shared.accept(peer.to_string());
                runtime.spawn(serve_connection::<R, _>(
                    Arc::clone(&shared),
                    connection,
                    stream,
                    stall,
                ));
            }
            // Out of descriptors or a connection reset before accept: keep serving.
            Some(Err(_)) => R::sleep_until(R::now().instant + ACCEPT_BACKOFF).await,
            None => break,
        }
    }
    drop(listener);
    shared.shutdown();
    shared.drained().await;
    stop.timers.raise();
    stop.logs.raise();
    stop.logs_stopped.raised().await;
    let lines = shared.take_logs();
    if !lines.is_empty() {
        log(&lines);
    }
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
async fn serve_connection<R: Runtime, S: Stream>(
    shared: Arc<SharedServer>,
    connection: ConnectionId,
    mut stream: S,
    stall: Duration,
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
    shared.finish(connection);
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
async fn write_logs<R: Runtime>(shared: Arc<SharedServer>, log: impl Fn(&[u8]), stop: Arc<Stop>) {
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
        log(&lines);
        lines.clear();
        R::yield_now().await;
    }
    stop.logs_stopped.raise();
}
