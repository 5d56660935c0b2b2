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
use rampart_core::{
    CallId, ConnectionId, Framing, Host, LogRecord, Now, Outbox, Outcome, Server, ToolCall, ToolMessage,
    Transmit,
};
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
        max_output: server.config().max_output_bytes,
    };
    let mut acceptor = Some(acceptor);
    let mut draining = false;
    loop {
        server.drain_into(&mut driver, now());
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
    /// Lets the reader read its next chunk.
    permit: Sender<()>,
    /// The reader task; dropping it cancels the read.
    _reader: Task<()>,
}

struct Driver {
    tx: Sender<Input>,
    conns: HashMap<ConnectionId, ConnIo>,
    calls: HashMap<CallId, AbortHandle>,
    max_output: usize,
}

impl Driver {
    fn handle(&mut self, server: &mut Server, message: Input) {
        let now = now();
        match message {
            Input::Accepted(stream, peer) => self.open(server, stream, peer),
            Input::Bytes(conn, chunk) => {
                // The reader waits for `resume`, so the core never gets a chunk it cannot hold.
                let _ = server.handle_input(conn, &chunk, now);
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
                _reader: reader,
            },
        );
    }
}

impl Host for Driver {
    fn transmit(&mut self, transmit: Transmit) -> bool {
        let Some(io) = self.conns.get(&transmit.connection) else {
            return true;
        };
        let len = transmit.data.len();
        let unwritten = io.unwritten.fetch_add(len, Ordering::Relaxed) + len;
        // A client that does not read its responses is cut off.
        unwritten <= self.max_output && io.writer.try_send(transmit.data).is_ok()
    }

    fn run(&mut self, call: ToolCall) {
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

    fn cancel(&mut self, call: CallId) {
        if let Some(abort) = self.calls.remove(&call) {
            abort.abort();
        }
    }

    fn log(&mut self, record: LogRecord) {
        // One write per line: the newline goes with it.
        let mut line = record.to_json_line();
        line.push('\n');
        let _ = io::stderr().lock().write_all(line.as_bytes());
    }

    fn close(&mut self, connection: ConnectionId) {
        // Dropping the writer's sender lets it finish what is queued, then close.
        self.conns.remove(&connection);
    }

    fn resume(&mut self, connection: ConnectionId) {
        if let Some(io) = self.conns.get(&connection) {
            let _ = io.permit.try_send(());
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
