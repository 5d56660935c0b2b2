//! Serves a rampart core over Streamable HTTP on tokio: the core's driver
//! ([`rampart_core::shared::serve`]) on tokio's tasks, timers, clock and TCP sockets.
//!
//! [`run`] does everything in one call: it seeds a server, listens on the configured address
//! and serves until Ctrl-C or SIGTERM, then drains. [`run_stdio`] is its stdio twin: the stdio
//! adapter's drive loop with tool calls on tokio's tasks. [`serve`] takes a server and a
//! listener of the caller's:
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
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use rampart_core::shared::{self, Listener, Runtime, Stream};
use rampart_core::store::StoreBackend;
use rampart_core::{Config, Now, Registry, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Handle;

/// Serves `registry` with `config` on `config.host:config.port` until Ctrl-C or SIGTERM, then
/// lets every connection drain.
///
/// Must be called within a tokio runtime with its IO and time drivers on (as `#[tokio::main]`
/// gives). Seeds the server from the OS ([`rampart_stdio::seeded_server`]), installs the JSON
/// panic hook, and writes a JSON line with the bound address to stderr before serving; port
/// 0 takes a free port, and that line names it.
///
/// ```no_run
/// use rampart_core::{Config, Registry, Tool, ToolOutput};
/// use serde_json::json;
///
/// #[tokio::main]
/// async fn main() -> std::io::Result<()> {
///     let registry = Registry::new()
///         .tool(Tool::new("echo", json!({"type": "object"}), |args, _ctx| async move {
///             Ok(ToolOutput::text(args.to_string()))
///         }))
///         .map_err(std::io::Error::other)?;
///     rampart_tokio::run(Config::new(rampart_core::server_info!()), registry).await
/// }
/// ```
pub async fn run(config: Config, registry: Registry) -> io::Result<()> {
    let address = SocketAddr::new(config.host, config.port);
    let path = config.mcp_path.clone();
    let server = rampart_stdio::seeded_server(config, registry)?;
    rampart_stdio::install_json_panic_hook();
    let signal = shutdown_signal()?;
    let listener = TcpListener::bind(address)
        .await
        .map_err(|err| io::Error::new(err.kind(), format!("cannot listen on {address}: {err}")))?;
    let bound = listener.local_addr()?;
    rampart_stdio::log_listening(bound, &path, "tokio");
    serve(server, listener, signal).await
}

/// Serves `registry` with `config` on this process's stdin and stdout until stdin ends, or
/// Ctrl-C or SIGTERM comes, and every accepted request has been answered (calls still
/// running at `DRAIN_TIMEOUT` are answered with E_TIMEOUT).
///
/// Must be called within a tokio runtime; tool calls are spawned on it. The drive loop is
/// [`rampart_stdio::run`], which blocks, so it runs on tokio's blocking pool and no worker
/// thread is held: a current-thread runtime serves as well. Dropping the future does not stop
/// the loop, and the runtime's shutdown then waits for stdin to end.
///
/// ```no_run
/// use rampart_core::{Config, Registry, Tool, ToolOutput};
/// use serde_json::json;
///
/// #[tokio::main]
/// async fn main() -> std::io::Result<()> {
///     let registry = Registry::new()
///         .tool(Tool::new("echo", json!({"type": "object"}), |args, _ctx| async move {
///             Ok(ToolOutput::text(args.to_string()))
///         }))
///         .map_err(std::io::Error::other)?;
///     let config = Config::new(rampart_core::server_info!());
///     rampart_tokio::run_stdio(config, registry).await
/// }
/// ```
pub async fn run_stdio(config: Config, registry: Registry) -> io::Result<()> {
    let handle = Handle::current();
    let shutdown = rampart_stdio::Shutdown::new();
    let signal = shutdown_signal()?;
    let begin = shutdown.clone();
    let signals = tokio::spawn(async move {
        signal.await;
        begin.begin();
    });
    let serving = tokio::task::spawn_blocking(move || {
        rampart_stdio::run_until(
            config,
            registry,
            move |task| {
                handle.spawn(task);
            },
            shutdown,
        )
    });
    let served = serving.await.map_err(io::Error::other);
    signals.abort();
    served?
}

/// Serves `server` on `listener` until `shutdown` resolves and every connection has drained.
///
/// Must be called within a tokio runtime. Log records go to stderr as JSON lines, through
/// [`rampart_stdio::log_writer`]'s thread: a stderr nobody reads blocks no worker, and lines
/// it cannot take are dropped and counted. After `shutdown`, `/ready` answers 503 while
/// connections are still accepted for `DRAIN_DELAY`; then the listener closes, idle
/// connections close, busy ones after their response, and calls still running at
/// `DRAIN_TIMEOUT` are answered with E_TIMEOUT ([`shared::serve`] tells the whole drain).
/// Before returning, it waits at most [`rampart_stdio::LOG_FLUSH_DEADLINE`] for the logs to
/// reach stderr. With the `otlp` feature, a span per request goes to the OTLP endpoint the
/// `OTEL_*` variables name, and spans still queued get at most 5 s to leave at shutdown.
pub async fn serve(
    server: Server,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let tokio = Tokio(Handle::current());
    let store = shared_store(server.config())?;
    let (spans, flush_spans) = rampart_stdio::span_exporter(server.config())?.unzip();
    let metrics = metrics_listener(server.config(), "tokio").await?;
    let services = shared::Services {
        store,
        spans,
        metrics,
        ..shared::Services::new(write_stderr)
    };
    // On the heap: the driver's future is tens of KB, and a caller that blocks on this one
    // (`block_on(serve(..))`) would otherwise keep a copy or two of it on its thread's stack
    // for the life of the server.
    let served = Box::pin(shared::serve(tokio, server, Tcp(listener), shutdown, services)).await;
    if let Some(flush_spans) = flush_spans {
        let _ = tokio::task::spawn_blocking(move || flush_spans.flush()).await;
    }
    let flushed =
        tokio::task::spawn_blocking(|| rampart_stdio::log_writer().flush(rampart_stdio::LOG_FLUSH_DEADLINE));
    let _ = flushed.await;
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
    Ok(Some(Tcp(listener)))
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

/// Listens for SIGINT (Ctrl-C) and SIGTERM; the future resolves at the first of them.
#[cfg(unix)]
fn shutdown_signal() -> io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(std::future::poll_fn(move |cx| {
        if interrupt.poll_recv(cx).is_ready() || terminate.poll_recv(cx).is_ready() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    }))
}

/// Listens for Ctrl-C; the future resolves when it comes, and never if it cannot be listened for.
#[cfg(not(unix))]
fn shutdown_signal() -> io::Result<impl Future<Output = ()>> {
    Ok(async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    })
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

    fn workers(&self) -> usize {
        self.0.metrics().num_workers()
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

/// Queues a batch of log lines for stderr's writer thread; returns how many it dropped.
fn write_stderr(lines: &[u8]) -> u64 {
    rampart_stdio::log_writer().write_lines(lines)
}
