//! Serves a rampart core over Streamable HTTP on smol: one drive loop that owns the
//! [`Server`], with a reader and a writer task per connection and a task per tool call.
//!
//! ```no_run
//! # fn run(server: rampart_core::Server) -> std::io::Result<()> {
//! smol::block_on(async {
//!     let listener = smol::net::TcpListener::bind("127.0.0.1:23450").await?;
//!     rampart_smol::serve(server, listener, std::future::pending()).await
//! })
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::collections::HashMap;
use std::future::Future;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use futures_util::future::{AbortHandle, abortable};
use rampart_core::{CallId, ConnectionId, Event, Framing, Now, Outbox, Outcome, Server, ToolMessage};
use smol::channel::{self, Receiver, Sender};
use smol::future::FutureExt;
use smol::io::{AsyncReadExt, AsyncWriteExt};
use smol::net::{TcpListener, TcpStream};
use smol::{Task, Timer};

/// Bytes read from a socket at a time.
const READ_CHUNK: usize = 64 * 1024;

/// Serves `server` on `listener` until `shutdown` resolves and every connection has drained.
///
/// Tasks run on smol's global executor. Log records go to stderr as JSON lines. After
/// `shutdown`, no new connection is accepted, `/ready` answers 503, idle connections close,
/// and busy ones close after their response.
pub async fn serve(
    mut server: Server,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let (tx, rx) = channel::unbounded();
    let accept_tx = tx.clone();
    let acceptor: Task<()> = smol::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, peer)) => {
                    if accept_tx.send(Input::Accepted(stream, peer)).await.is_err() {
                        return;
                    }
                }
                // Out of descriptors or a connection reset before accept: keep serving.
                Err(_) => {
                    Timer::after(Duration::from_millis(50)).await;
                }
            }
        }
    });
    let shutdown_tx = tx.clone();
    smol::spawn(async move {
        shutdown.await;
        let _ = shutdown_tx.send(Input::Shutdown).await;
    })
    .detach();
    let mut driver = Driver {
        tx,
        conns: HashMap::new(),
        calls: HashMap::new(),
    };
    let mut acceptor = Some(acceptor);
    let mut draining = false;
    loop {
        driver.drain(&mut server);
        if draining && server.is_drained() {
            break;
        }
        let deadline = server.poll_timeout().map(|t| t.at);
        let timer = async {
            match deadline {
                Some(at) => {
                    Timer::at(at).await;
                }
                None => std::future::pending::<()>().await,
            }
            None
        };
        let message = async { Some(rx.recv().await) }.or(timer).await;
        match message {
            None => server.handle_timeout(now()),
            Some(Err(_)) => break,
            Some(Ok(Input::Shutdown)) => {
                draining = true;
                if let Some(task) = acceptor.take() {
                    drop(task.cancel());
                }
                server.shutdown(now());
            }
            Some(Ok(message)) => driver.handle(&mut server, message),
        }
    }
    Ok(())
}

/// What the drive loop hears from its tasks.
enum Input {
    Accepted(TcpStream, SocketAddr),
    Bytes(ConnectionId, Vec<u8>),
    Eof(ConnectionId),
    Gone(ConnectionId),
    Done(CallId, Outcome),
    Tool(CallId, ToolMessage),
    Shutdown,
}

struct ConnIo {
    writer: Sender<Vec<u8>>,
    /// Bytes handed to the writer and not yet written.
    unwritten: Arc<AtomicUsize>,
    permit: Sender<()>,
    /// A chunk read while the core was not taking input; its reader waits for the permit.
    stash: Option<Vec<u8>>,
    reader: Task<()>,
}

struct Driver {
    tx: Sender<Input>,
    conns: HashMap<ConnectionId, ConnIo>,
    calls: HashMap<CallId, AbortHandle>,
}

impl Driver {
    fn handle(&mut self, server: &mut Server, message: Input) {
        let now = now();
        match message {
            Input::Accepted(stream, peer) => self.open(server, stream, peer),
            Input::Bytes(conn, chunk) => {
                if server.wants_input(conn) {
                    let _ = server.handle_input(conn, &chunk, now);
                    if let Some(io) = self.conns.get(&conn) {
                        let _ = io.permit.try_send(());
                    }
                } else if let Some(io) = self.conns.get_mut(&conn) {
                    io.stash = Some(chunk);
                }
            }
            Input::Eof(conn) => {
                let _ = server.handle_eof(conn, now);
            }
            Input::Gone(conn) => server.handle_disconnect(conn, now),
            Input::Done(call, outcome) => {
                self.calls.remove(&call);
                // A call that already timed out is refused here: its late result is dropped.
                let _ = server.complete(call, outcome, now);
            }
            Input::Tool(call, message) => {
                let _ = server.tool_message(call, message, now);
            }
            Input::Shutdown => {}
        }
    }

    fn open(&mut self, server: &mut Server, stream: TcpStream, peer: SocketAddr) {
        // Without TCP_NODELAY a streamed response waits ~40 ms for Nagle and delayed ACK.
        let _ = stream.set_nodelay(true);
        let conn = server.accept(peer.ip().to_string(), Framing::Http, now());
        let (permit, permits) = channel::bounded::<()>(1);
        let unwritten = Arc::new(AtomicUsize::new(0));
        let (writer, outgoing) = channel::unbounded::<Vec<u8>>();
        let stall = server.config().write_stall_timeout;
        let pending = Arc::clone(&unwritten);
        let gone = self.tx.clone();
        let mut write = stream.clone();
        smol::spawn(async move {
            while let Ok(data) = outgoing.recv().await {
                let timeout = async {
                    Timer::after(stall).await;
                    Err(io::ErrorKind::TimedOut.into())
                };
                match write.write_all(&data).or(timeout).await {
                    Ok(()) => {
                        pending.fetch_sub(data.len(), Ordering::Relaxed);
                    }
                    Err(_) => {
                        let _ = gone.send(Input::Gone(conn)).await;
                        return;
                    }
                }
            }
            let _ = write.flush().await;
            let _ = write.close().await;
        })
        .detach();
        let reader = smol::spawn(read_loop(stream, conn, self.tx.clone(), permits));
        self.conns.insert(
            conn,
            ConnIo {
                writer,
                unwritten,
                permit,
                stash: None,
                reader,
            },
        );
    }

    /// Writes, spawns and logs everything the core has queued, and feeds stashed input.
    fn drain(&mut self, server: &mut Server) {
        let max_output = server.config().max_output_bytes;
        loop {
            let mut progressed = false;
            while let Some(transmit) = server.poll_transmit() {
                progressed = true;
                let Some(io) = self.conns.get(&transmit.connection) else {
                    continue;
                };
                let pending =
                    io.unwritten.fetch_add(transmit.data.len(), Ordering::Relaxed) + transmit.data.len();
                if pending > max_output || io.writer.try_send(transmit.data).is_err() {
                    // A client that does not read its responses is cut off.
                    server.handle_disconnect(transmit.connection, now());
                }
            }
            while let Some(event) = server.poll_event() {
                progressed = true;
                self.event(event);
            }
            let ready: Vec<ConnectionId> = self
                .conns
                .iter()
                .filter(|(conn, io)| io.stash.is_some() && server.wants_input(**conn))
                .map(|(conn, _)| *conn)
                .collect();
            for conn in ready {
                if let Some(io) = self.conns.get_mut(&conn) {
                    let chunk = io.stash.take().unwrap_or_default();
                    let _ = io.permit.try_send(());
                    let _ = server.handle_input(conn, &chunk, now());
                    progressed = true;
                }
            }
            if !progressed {
                return;
            }
        }
    }

    fn event(&mut self, event: Event) {
        match event {
            Event::CallTool(call) => {
                let id = call.id;
                let done = self.tx.clone();
                let messages = self.tx.clone();
                let outbox = Outbox::new(move |call, message| {
                    let _ = messages.try_send(Input::Tool(call, message));
                });
                let (future, abort) = abortable(call.run(outbox));
                self.calls.insert(id, abort);
                smol::spawn(async move {
                    if let Ok(outcome) = future.await {
                        let _ = done.send(Input::Done(id, outcome)).await;
                    }
                })
                .detach();
            }
            Event::CancelCall(call) => {
                if let Some(abort) = self.calls.remove(&call) {
                    abort.abort();
                }
            }
            Event::Log(record) => {
                let line = record.to_json_line();
                let _ = writeln!(io::stderr().lock(), "{line}");
            }
            Event::Closed(conn) => {
                // Dropping the writer's sender lets it finish what is queued, then close.
                if let Some(io) = self.conns.remove(&conn) {
                    drop(io.reader);
                }
            }
            _ => {}
        }
    }
}

async fn read_loop(mut stream: TcpStream, conn: ConnectionId, tx: Sender<Input>, permits: Receiver<()>) {
    let mut buf = vec![0; READ_CHUNK];
    loop {
        let message = match stream.read(&mut buf).await {
            Ok(0) => Input::Eof(conn),
            Ok(n) => Input::Bytes(conn, buf[..n].to_vec()),
            Err(_) => Input::Gone(conn),
        };
        let more = matches!(message, Input::Bytes(..));
        if tx.send(message).await.is_err() || !more || permits.recv().await.is_err() {
            return;
        }
    }
}

fn now() -> Now {
    Now::new(Instant::now(), SystemTime::now())
}
