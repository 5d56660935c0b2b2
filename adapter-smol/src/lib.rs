//! Serves a rampart core over Streamable HTTP on smol: the core's driver
//! ([`rampart_core::shared::serve`]) on an executor's tasks, async-io's timers and TCP
//! sockets, and the system clock.
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
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use rampart_core::shared::{self, Listener, Runtime, Stream};
use rampart_core::{Now, Server};
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
    let smol = Smol(Arc::clone(executor));
    shared::serve(smol, server, Tcp(listener), shutdown, write_stderr).await
}

/// The executor the tasks run on.
#[derive(Clone)]
struct Smol(Arc<Executor<'static>>);

impl Runtime for Smol {
    fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.0.spawn(task).detach();
    }

    async fn sleep_until(at: Instant) {
        Timer::at(at).await;
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        smol::future::yield_now()
    }

    fn now() -> Now {
        Now::new(Instant::now(), SystemTime::now())
    }
}

/// A smol TCP socket: the listener or an accepted connection.
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
        self.0.close()
    }
}

/// Writes a batch of log lines to stderr, blocking.
fn write_stderr(lines: &[u8]) {
    let _ = io::stderr().lock().write_all(lines);
}
