//! Serves a rampart core over Streamable HTTP on tokio: one drive loop that owns the
//! [`Server`], with a reader and a writer task per connection and a task per tool call.
//!
//! ```no_run
//! # async fn run(server: rampart_core::Server) -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:23450").await?;
//! rampart_tokio::serve(server, listener, async { let _ = tokio::signal::ctrl_c().await; }).await
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
use std::time::{Instant, SystemTime};

use futures_util::future::{AbortHandle, abortable};
use rampart_core::{
    CallId, ConnectionId, Framing, Host, LogRecord, Now, Outbox, Outcome, Server, ToolCall, ToolMessage,
    Transmit,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;

/// Bytes read from a socket at a time.
const READ_CHUNK: usize = 64 * 1024;

/// Serves `server` on `listener` until `shutdown` resolves and every connection has drained.
///
/// Log records go to stderr as JSON lines. After `shutdown`, no new connection is accepted,
/// `/ready` answers 503, idle connections close, and busy ones close after their response.
pub async fn serve(
    mut server: Server,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let accept_tx = tx.clone();
    let acceptor = tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, peer)) => {
                    if accept_tx.send(Input::Accepted(stream, peer)).is_err() {
                        return;
                    }
                }
                // Out of descriptors or a connection reset before accept: keep serving.
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            }
        }
    });
    let mut driver = Driver {
        tx,
        conns: HashMap::new(),
        calls: HashMap::new(),
        max_output: server.config().max_output_bytes,
    };
    let mut shutdown = std::pin::pin!(shutdown);
    let mut draining = false;
    loop {
        server.drain_into(&mut driver, now());
        if draining && server.is_drained() {
            break;
        }
        let deadline = server
            .poll_timeout()
            .map(|t| tokio::time::Instant::from_std(t.at));
        let sleep = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            message = rx.recv() => {
                let Some(message) = message else { break };
                driver.handle(&mut server, message);
            }
            () = sleep => server.handle_timeout(now()),
            () = &mut shutdown, if !draining => {
                draining = true;
                acceptor.abort();
                server.shutdown(now());
            }
        }
    }
    acceptor.abort();
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
}

struct ConnIo {
    writer: mpsc::UnboundedSender<Vec<u8>>,
    /// Bytes handed to the writer and not yet written.
    unwritten: Arc<AtomicUsize>,
    /// Lets the reader read its next chunk.
    permit: Arc<Notify>,
    reader: JoinHandle<()>,
}

struct Driver {
    tx: mpsc::UnboundedSender<Input>,
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
        }
    }

    fn open(&mut self, server: &mut Server, stream: TcpStream, peer: SocketAddr) {
        // Without TCP_NODELAY a streamed response waits ~40 ms for Nagle and delayed ACK.
        let _ = stream.set_nodelay(true);
        let conn = server.accept(peer.ip().to_string(), Framing::Http, now());
        let (mut read, mut write) = stream.into_split();
        let permit = Arc::new(Notify::new());
        let unwritten = Arc::new(AtomicUsize::new(0));
        let (writer, mut outgoing) = mpsc::unbounded_channel::<Vec<u8>>();
        let stall = server.config().write_stall_timeout;
        let (tx, pending, written) = (self.tx.clone(), Arc::clone(&unwritten), self.tx.clone());
        tokio::spawn(async move {
            while let Some(data) = outgoing.recv().await {
                match tokio::time::timeout(stall, write.write_all(&data)).await {
                    Ok(Ok(())) => {
                        pending.fetch_sub(data.len(), Ordering::Relaxed);
                    }
                    _ => {
                        let _ = written.send(Input::Gone(conn));
                        return;
                    }
                }
            }
            let _ = write.shutdown().await;
        });
        let reader_permit = Arc::clone(&permit);
        let reader = tokio::spawn(async move {
            let mut buf = vec![0; READ_CHUNK];
            loop {
                let message = match read.read(&mut buf).await {
                    Ok(0) => Input::Eof(conn),
                    Ok(n) => Input::Bytes(conn, buf[..n].to_vec()),
                    Err(_) => Input::Gone(conn),
                };
                let more = matches!(message, Input::Bytes(..));
                if tx.send(message).is_err() || !more {
                    return;
                }
                reader_permit.notified().await;
            }
        });
        self.conns.insert(
            conn,
            ConnIo {
                writer,
                unwritten,
                permit,
                reader,
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
        unwritten <= self.max_output && io.writer.send(transmit.data).is_ok()
    }

    fn run(&mut self, call: ToolCall) {
        let id = call.id;
        let done = self.tx.clone();
        let messages = self.tx.clone();
        let outbox = Outbox::new(move |call, message| {
            let _ = messages.send(Input::Tool(call, message));
        });
        let (future, abort) = abortable(call.run(outbox));
        self.calls.insert(id, abort);
        tokio::spawn(async move {
            if let Ok(outcome) = future.await {
                let _ = done.send(Input::Done(id, outcome));
            }
        });
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
        // Dropping the writer's sender lets it finish what is queued, then shut down.
        if let Some(io) = self.conns.remove(&connection) {
            io.reader.abort();
        }
    }

    fn resume(&mut self, connection: ConnectionId) {
        if let Some(io) = self.conns.get(&connection) {
            io.permit.notify_one();
        }
    }
}

fn now() -> Now {
    Now::new(Instant::now(), SystemTime::now())
}
