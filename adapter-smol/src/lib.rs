//! Serves a rampart core over Streamable HTTP on smol: the core's driver
//! ([`rampart_core::shared::serve`]) on an executor's tasks, async-io's timers and TCP
//! sockets, and the system clock. On Linux and Android the connections' reads wait on an
//! edge-triggered epoll set of the adapter's own (module `edge`), which spares async-io's
//! `epoll_ctl` per request.
//!
//! [`run`] does everything in one call: it seeds a server, listens on the configured address
//! and serves on the calling thread until Ctrl-C or SIGTERM, then drains. [`run_stdio`] is
//! its stdio twin:
//! the stdio adapter's drive loop with tool calls on smol's global executor. [`serve`] takes
//! an executor, a server and a listener of the caller's:
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

#[cfg(any(target_os = "linux", target_os = "android"))]
mod edge;

use std::future::{Future, poll_fn};
use std::io::{self, Read};
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Poll, ready};
use std::time::{Instant, SystemTime};

use async_signal::{Signal, Signals};
use rampart_core::shared::{self, Listener, Runtime, Stream};
use rampart_core::store::StoreBackend;
use rampart_core::{Config, Now, Registry, Server};
use smol::io::AsyncWriteExt;
use smol::net::TcpListener;
use smol::stream::StreamExt;
use smol::{Async, Executor, Timer};

/// Serves `registry` with `config` on `config.host:config.port` until Ctrl-C or SIGTERM, then
/// lets every connection drain; blocks the calling thread until then.
///
/// The calling thread drives the sockets and runs every task, on an executor of its own.
/// Seeds the server from the OS ([`rampart_stdio::seeded_server`]), installs the JSON panic
/// hook, and writes a JSON line with the bound address to stderr before serving; port 0
/// takes a free port, and that line names it.
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
///     rampart_smol::run(Config::new(rampart_core::server_info!()), registry)
/// }
/// ```
pub fn run(config: Config, registry: Registry) -> io::Result<()> {
    let address = SocketAddr::new(config.host, config.port);
    let path = config.mcp_path.clone();
    let server = rampart_stdio::seeded_server(config, registry)?;
    rampart_stdio::install_json_panic_hook();
    let mut signals = Signals::new(SHUTDOWN_SIGNALS)?;
    let executor = Arc::new(Executor::new());
    smol::block_on(executor.run(async {
        let listener = TcpListener::bind(address)
            .await
            .map_err(|err| io::Error::new(err.kind(), format!("cannot listen on {address}: {err}")))?;
        let bound = listener.local_addr()?;
        rampart_stdio::log_listening(bound, &path, "smol");
        let shutdown = async {
            let _ = signals.next().await;
        };
        serve(&executor, server, listener, shutdown).await
    }))
}

/// Serves `registry` with `config` on this process's stdin and stdout until stdin ends, or
/// Ctrl-C or SIGTERM comes, and every accepted request has been answered (calls still
/// running at `DRAIN_TIMEOUT` are answered with E_TIMEOUT); blocks the calling thread until
/// then.
///
/// The drive loop is [`rampart_stdio::run`] on the calling thread. Tool calls run on smol's
/// global executor ([`smol::spawn`]), whose thread count `SMOL_THREADS` sets (one unless set).
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
///     rampart_smol::run_stdio(Config::new(rampart_core::server_info!()), registry)
/// }
/// ```
pub fn run_stdio(config: Config, registry: Registry) -> io::Result<()> {
    let shutdown = rampart_stdio::Shutdown::new();
    let mut signals = Signals::new(SHUTDOWN_SIGNALS)?;
    let begin = shutdown.clone();
    let listening = smol::spawn(async move {
        let _ = signals.next().await;
        begin.begin();
    });
    let served = rampart_stdio::run_until(config, registry, |task| smol::spawn(task).detach(), shutdown);
    drop(listening);
    served
}

/// Serves `server` on `listener` until `shutdown` resolves and every connection has drained.
///
/// Tasks run on `executor`: run it on the thread that awaits this future
/// (`smol::block_on(executor.run(..))`, as in the crate example) so that one thread drives
/// both the sockets and the tasks, or on threads of your own. On Linux and Android the
/// connections' reads wait on an epoll set of the adapter's own, where each socket is
/// registered once, edge-triggered, and which one more task on `executor` drains: async-io
/// alone re-arms a socket's interest with an `epoll_ctl` before every wait, one per request. Log records go to stderr as
/// JSON lines, through [`rampart_stdio::log_writer`]'s thread: a stderr nobody reads blocks no
/// task, and lines it cannot take are dropped and counted. After `shutdown`, `/ready` answers
/// 503 while connections are still accepted for `DRAIN_DELAY`; then the listener closes,
/// idle connections close, busy ones after their response, and calls still running at
/// `DRAIN_TIMEOUT` are answered with E_TIMEOUT ([`shared::serve`] tells the whole drain).
/// Before returning, it waits at most [`rampart_stdio::LOG_FLUSH_DEADLINE`] for the logs to
/// reach stderr. With the `otlp` feature, a span per request goes to the OTLP endpoint the
/// `OTEL_*` variables name, and spans still queued get at most 5 s to leave at shutdown.
pub async fn serve(
    executor: &Arc<Executor<'static>>,
    server: Server,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let smol = Smol(Arc::clone(executor));
    let store = shared_store(server.config())?;
    let (spans, flush_spans) = rampart_stdio::span_exporter(server.config())?.unzip();
    let metrics = metrics_listener(server.config(), "smol").await?;
    let services = shared::Services {
        store,
        spans,
        metrics,
        ..shared::Services::new(write_stderr)
    };
    let (listener, dispatch) = Tcp::with_edge(listener, executor);
    // On the heap: the driver's future is tens of KB, and a caller that blocks on this one
    // (`block_on(serve(..))`) would otherwise keep a copy or two of it on its thread's stack
    // for the life of the server.
    let served = Box::pin(shared::serve(smol, server, listener, shutdown, services)).await;
    // Connections left behind by the drain wait through async-io from here on.
    drop(dispatch);
    if let Some(flush_spans) = flush_spans {
        smol::unblock(move || flush_spans.flush()).await;
    }
    smol::unblock(|| rampart_stdio::log_writer().flush(rampart_stdio::LOG_FLUSH_DEADLINE)).await;
    served
}

/// The listener of `METRICS_ADDR`, if `config` names one; its address is logged.
async fn metrics_listener(config: &Config, runtime: &str) -> io::Result<Option<Tcp<TcpListener>>> {
    let Some(address) = config.serving.metrics_addr else {
        return Ok(None);
    };
    let listener = TcpListener::bind(address).await.map_err(|err| {
        io::Error::new(
            err.kind(),
            format!("METRICS_ADDR: cannot listen on {address}: {err}"),
        )
    })?;
    rampart_stdio::log_listening(listener.local_addr()?, "/metrics", runtime);
    Ok(Some(Tcp::new(listener)))
}

/// The shared store `config` names (`REDIS_URL`), if any.
fn shared_store(config: &Config) -> io::Result<Option<Arc<dyn StoreBackend>>> {
    #[cfg(feature = "redis")]
    {
        rampart_redis::RedisStore::from_config(&config.store)
            .map_err(|err| io::Error::other(format!("REDIS_URL: {err}")))
    }
    #[cfg(not(feature = "redis"))]
    match config.store.url {
        Some(_) => Err(io::Error::other(
            "REDIS_URL is set, but this adapter was built without its `redis` feature",
        )),
        None => Ok(None),
    }
}

/// The signals that start the shutdown: Ctrl-C, and on unix the service manager's SIGTERM.
#[cfg(unix)]
const SHUTDOWN_SIGNALS: [Signal; 2] = [Signal::Int, Signal::Term];

/// The signals that start the shutdown: Ctrl-C (the only one listened for on this platform).
#[cfg(not(unix))]
const SHUTDOWN_SIGNALS: [Signal; 1] = [Signal::Int];

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

/// A smol TCP listener, and the epoll set its connections' reads wait on, where there is one.
struct Tcp<T> {
    listener: T,
    #[cfg(any(target_os = "linux", target_os = "android"))]
    edge: Option<Arc<edge::Edge>>,
}

impl Tcp<TcpListener> {
    /// The listener, its connections' reads waiting through async-io.
    fn new(listener: TcpListener) -> Self {
        Self {
            listener,
            #[cfg(any(target_os = "linux", target_os = "android"))]
            edge: None,
        }
    }

    /// The listener, its connections' reads waiting on an epoll set of their own where the
    /// platform has one, and the task that drains the set, on `executor`.
    fn with_edge(listener: TcpListener, executor: &Executor<'static>) -> (Self, Option<smol::Task<()>>) {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if let Ok(edge) = edge::Edge::new() {
            let dispatch = executor.spawn(Arc::clone(&edge).dispatch());
            let tcp = Self {
                listener,
                edge: Some(edge),
            };
            return (tcp, Some(dispatch));
        }
        let _ = executor;
        (Self::new(listener), None)
    }
}

impl Listener for Tcp<TcpListener> {
    type Stream = Connection;

    async fn accept(&self) -> io::Result<(Connection, IpAddr)> {
        let (stream, peer) = self.listener.accept().await?;
        // Without TCP_NODELAY a streamed response waits ~40 ms for Nagle and delayed ACK.
        let _ = stream.set_nodelay(true);
        let socket: Arc<Async<std::net::TcpStream>> = stream.into();
        let connection = Connection {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            edge: self.edge.as_ref().and_then(|edge| edge.register(&socket).ok()),
            socket,
            drained: false,
        };
        Ok((connection, peer.ip()))
    }
}

/// An accepted connection, and whether its last read emptied the socket.
struct Connection {
    /// Its place in the listener's epoll set, if it has one (dropped before the socket).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    edge: Option<edge::Registration>,
    socket: Arc<Async<std::net::TcpStream>>,
    /// The last read returned less than it asked for: the kernel had no more, so the next
    /// read waits for readiness first instead of trying, failing with EAGAIN and then
    /// waiting (one `recvfrom` less per request; tokio does the same after a short read).
    drained: bool,
}

impl Stream for Connection {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if let Some(edge) = &self.edge {
            match edge.read(buf).await {
                Some(read) => return read,
                None => self.edge = None,
            }
        }
        let socket = &*self.socket;
        // Async's own `poll_read` reads first and waits on `poll_readable`, whose state
        // outlives the call: the next request's wait then resolves at once, reads, fails with
        // EAGAIN and registers again. Here the wait is a future of this read's own, dropped
        // with it; once woken, the read is tried, whatever the reactor's tick said; and after
        // a short read it waits before trying. Readiness is level-triggered: bytes that
        // arrived before the wait still wake it.
        let mut try_first = !self.drained;
        let mut readable = socket.readable();
        let read = poll_fn(|cx| {
            loop {
                if try_first {
                    match socket.get_ref().read(buf) {
                        Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                        read => return Poll::Ready(read),
                    }
                }
                try_first = true;
                ready!(Pin::new(&mut readable).poll(cx))?;
                readable = socket.readable();
            }
        })
        .await?;
        self.drained = read > 0 && read < buf.len();
        Ok(read)
    }

    async fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        (&*self.socket).write_all(data).await
    }

    async fn close(&mut self) -> io::Result<()> {
        (&*self.socket).close().await
    }
}

/// Queues a batch of log lines for stderr's writer thread; returns how many it dropped.
fn write_stderr(lines: &[u8]) -> u64 {
    rampart_stdio::log_writer().write_lines(lines)
}
