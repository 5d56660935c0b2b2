//! Serves a rampart core over Streamable HTTP on smol: a task per connection that reads,
//! runs the request through the [`SharedServer`] and writes the answer itself, a task per
//! tool call that does not finish at once, one timer task and one log writer task.
//!
//! ```no_run
//! # fn run(server: rampart_core::Server) -> std::io::Result<()> {
//! use std::sync::Arc;
//! let executor = Arc::new(smol::Executor::new());
//! smol::block_on(executor.run(async {
//!     let listener = smol::net::TcpListener::bind("127.0.0.1:23450").await?;
//!     rampart_smol::serve(&executor, server, listener, std::future::pending()).await
//! }))
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
use smol::future::FutureExt;
use smol::io::{AsyncReadExt, AsyncWriteExt};
use smol::net::{TcpListener, TcpStream};
use smol::{Executor, Timer};

/// Serves `server` on `listener` until `shutdown` resolves and every connection has drained.
///
/// Tasks run on `executor`: run it on the thread that awaits this future
/// (`smol::block_on(executor.run(..))`, as in the crate example) so that one thread drives
/// both the sockets and the tasks, or on threads of your own. Log records go to stderr as
/// JSON lines, written in batches by a task of their own. After `shutdown`, no new connection
/// is accepted, `/ready` answers 503, idle connections close, and busy ones close after their
/// response.
pub async fn serve(
    executor: &Arc<Executor<'static>>,
    server: Server,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let stall = server.config().write_stall_timeout;
    let spawner = Arc::clone(executor);
    let shared = SharedServer::new(server, now, move |task| spawner.spawn(task).detach());
    let timers = executor.spawn(drive_timers(Arc::clone(&shared)));
    let logs = executor.spawn(write_logs(Arc::clone(&shared)));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = async { Some(listener.accept().await) }
            .or(async {
                (&mut shutdown).await;
                None
            })
            .await;
        match accepted {
            Some(Ok((stream, peer))) => {
                // Without TCP_NODELAY a streamed response waits ~40 ms for Nagle and delayed ACK.
                let _ = stream.set_nodelay(true);
                let connection = shared.accept(peer.ip().to_string());
                executor
                    .spawn(serve_connection(Arc::clone(&shared), connection, stream, stall))
                    .detach();
            }
            // Out of descriptors or a connection reset before accept: keep serving.
            Some(Err(_)) => {
                Timer::after(Duration::from_millis(50)).await;
            }
            None => break,
        }
    }
    drop(listener);
    shared.shutdown();
    shared.drained().await;
    drop(timers);
    let _ = logs.cancel().await;
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
        let read = async {
            if can_read {
                Some(stream.read(buf.space()).await)
            } else {
                std::future::pending().await
            }
        };
        let event = read.or(async {
            shared.ready(connection).await;
            None
        });
        let output = match event.await {
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
            // A client that stops reading is cut off after the stall timeout.
            let stalled = async {
                Timer::after(stall).await;
                Err(io::ErrorKind::TimedOut.into())
            };
            if stream.write_all(&out).or(stalled).await.is_err() {
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

/// Sleeps until the core's next deadline, fires it, and re-arms when it moves earlier.
async fn drive_timers(shared: Arc<SharedServer>) {
    loop {
        let deadline = shared.next_deadline();
        let sleep = async {
            match deadline {
                Some(at) => {
                    Timer::at(at).await;
                }
                None => std::future::pending().await,
            }
            true
        };
        let fired = sleep
            .or(async {
                shared.deadline_changed().await;
                false
            })
            .await;
        if fired {
            shared.timeout();
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
        smol::future::yield_now().await;
    }
}

fn now() -> Now {
    Now::new(Instant::now(), SystemTime::now())
}
