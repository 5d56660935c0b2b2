//! Serves a rampart core over Streamable HTTP on tokio: the core's driver
//! ([`rampart_core::shared::serve`]) on tokio's tasks, timers, clock and TCP sockets.
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
use std::net::IpAddr;
use std::time::{Instant, SystemTime};

use rampart_core::shared::{self, Listener, Runtime, Stream};
use rampart_core::{Now, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Handle;

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
    let tokio = Tokio(Handle::current());
    shared::serve(tokio, server, Tcp(listener), shutdown, write_stderr).await
}

/// The tokio runtime `serve` was called in; a handle, so that tool calls can be spawned from
/// any thread.
#[derive(Clone)]
struct Tokio(Handle);

impl Runtime for Tokio {
    fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.0.spawn(task);
    }

    fn sleep_until(at: Instant) -> impl Future<Output = ()> + Send {
        tokio::time::sleep_until(at.into())
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        tokio::task::yield_now()
    }

    fn now() -> Now {
        Now::new(Instant::now(), SystemTime::now())
    }
}

/// A tokio TCP socket: the listener or an accepted connection.
struct Tcp<T>(T);

impl Listener for Tcp<TcpListener> {
    type Stream = Tcp<TcpStream>;

    async fn accept(&self) -> io::Result<(Tcp<TcpStream>, IpAddr)> {
        let (stream, peer) = self.0.accept().await?;
        // Without TCP_NODELAY a streamed response waits ~40 ms for Nagle and delayed ACK.
        let _ = stream.set_nodelay(true);
        Ok((Tcp(stream), peer.ip()))
    }
}

impl Stream for Tcp<TcpStream> {
    fn read<'a>(&'a mut self, buf: &'a mut [u8]) -> impl Future<Output = io::Result<usize>> + Send + 'a {
        self.0.read(buf)
    }

    fn write_all<'a>(&'a mut self, data: &'a [u8]) -> impl Future<Output = io::Result<()>> + Send + 'a {
        self.0.write_all(data)
    }

    fn close(&mut self) -> impl Future<Output = io::Result<()>> + Send {
        self.0.shutdown()
    }
}

/// Writes a batch of log lines to stderr, blocking.
fn write_stderr(lines: &[u8]) {
    let _ = io::stderr().lock().write_all(lines);
}
