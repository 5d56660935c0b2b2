//! Serves a rampart core over Streamable HTTP on tokio: a task per connection that reads,
//! runs the request through the [`SharedServer`] and writes the answer itself, a task per
//! tool call that does not finish at once, one timer task and one log writer task.
//!
//! ```no_run
//! # async fn run(server: rampart_core::Server) -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:23450").await?;
//! rampart_tokio::serve(server, listener, async { let _ = tokio::signal::ctrl_c().await; }).await
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::future::Future;
use std::io::{self, Write};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use rampart_core::shared::ReadBuffer;
use rampart_core::{ConnectionId, Now, Server, SharedServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Serves `server` on `listener` until `shutdown` resolves and every connection has drained.
///
/// Must be called within a tokio runtime. Log records go to stderr as JSON lines, written in
/// batches by a task of their own. After `shutdown`, no new connection is accepted, `/ready`
/// answers 503, idle connections close, and busy ones close after their response.
pub async fn serve(
    server: Server,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let stall = server.config().write_stall_timeout;
    let runtime = tokio::runtime::Handle::current();
    let shared = SharedServer::new(server, now, move |task| {
        runtime.spawn(task);
    });
    let timers = tokio::spawn(drive_timers(Arc::clone(&shared)));
    let logs = tokio::spawn(write_logs(Arc::clone(&shared)));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    // Without TCP_NODELAY a streamed response waits ~40 ms for Nagle and
                    // delayed ACK.
                    let _ = stream.set_nodelay(true);
                    let connection = shared.accept(peer.ip().to_string());
                    tokio::spawn(serve_connection(Arc::clone(&shared), connection, stream, stall));
                }
                // Out of descriptors or a connection reset before accept: keep serving.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    shared.shutdown();
    shared.drained().await;
    timers.abort();
    logs.abort();
    let _ = logs.await;
    let _ = io::stderr().lock().write_all(&shared.take_logs());
    Ok(())
}

/// Reads, runs and writes for one connection until it closes.
async fn serve_connection(
    shared: Arc<SharedServer>,
    connection: ConnectionId,
    mut stream: TcpStream,
    stall: Duration,
) {
    let mut buf = ReadBuffer::new();
    let mut out = Vec::new();
    // A new connection takes input; after each chunk, it waits to be told to read again.
    let mut can_read = true;
    let mut eof = false;
    loop {
        let output = tokio::select! {
            read = stream.read(buf.space()), if can_read => {
                can_read = false;
                match read {
                    Ok(0) => {
                        eof = true;
                        shared.eof(connection, &mut out)
                    }
                    Ok(n) => {
                        shared.input(connection, buf.filled(n), &mut out)
                    }
                    Err(_) => {
                        shared.disconnect(connection);
                        break;
                    }
                }
            }
            () = shared.ready(connection) => shared.take(connection, &mut out),
        };
        if !out.is_empty() {
            // A client that stops reading is cut off after the stall timeout.
            if !matches!(
                tokio::time::timeout(stall, stream.write_all(&out)).await,
                Ok(Ok(()))
            ) {
                shared.disconnect(connection);
                break;
            }
            out.clear();
        }
        if output.gone {
            break;
        }
        if output.close {
            let _ = stream.shutdown().await;
            break;
        }
        can_read |= output.resume && !eof;
    }
    shared.finish(connection);
}

/// Sleeps until the core's next deadline, fires it, and re-arms when it moves earlier.
async fn drive_timers(shared: Arc<SharedServer>) {
    loop {
        let deadline = shared.next_deadline();
        let sleep = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = sleep => shared.timeout(),
            () = shared.deadline_changed() => {}
        }
    }
}

/// Writes log lines to stderr in batches: after each write it yields, so the lines of the
/// requests served meanwhile go out in the next single write.
async fn write_logs(shared: Arc<SharedServer>) {
    let mut lines = Vec::new();
    loop {
        shared.logs(&mut lines).await;
        let _ = io::stderr().lock().write_all(&lines);
        lines.clear();
        tokio::task::yield_now().await;
    }
}

fn now() -> Now {
    Now::new(Instant::now(), SystemTime::now())
}
