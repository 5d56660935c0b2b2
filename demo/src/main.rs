//! `rampart-demo`: serves the example tools over Streamable HTTP (tokio or smol) or stdio.

use std::future::Future;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use rampart_core::{Config, Now, ReadinessCheck, Server};
use serde_json::json;

const USAGE: &str = "usage: rampart-demo [--transport http|stdio] [--runtime tokio|smol]

Settings come from the environment: HOST, PORT, ALLOWED_ORIGINS, ALLOWED_HOSTS, DEBUG,
TOOL_TIMEOUT_MS, VALIDATION_ERRORS, MAX_LINE_BYTES, STATELESS, MAX_SESSIONS, RATE_LIMIT,
TRUSTED_PROXIES, RATE_LIMIT_EXEMPT, TOOL_RATE_LIMITS, AUTH_TOKENS, AUTH_TOKENS_FILE,
AUTH_ISSUER, AUTH_RESOURCE, AUTH_SCOPES, AUTH_JWKS_FILE, MAX_CONNECTIONS, SHARDS, DRAIN_DELAY,
DRAIN_TIMEOUT, DEMO_DATABASE=up|down (the initial state of the /ready check `database`).

SIGTERM or Ctrl-C drains: /ready answers 503 and connections are still accepted for
DRAIN_DELAY, then running calls may finish until DRAIN_TIMEOUT; the exit status is 0.";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Runtime {
    Tokio,
    Smol,
}

fn main() -> ExitCode {
    let code = run();
    // Log lines go through a writer thread: they reach stderr before the exit, unless
    // stderr is blocked for longer than the deadline.
    rampart_stdio::log_writer().flush(rampart_stdio::LOG_FLUSH_DEADLINE);
    code
}

/// Serves as the arguments and the environment say; returns the exit status.
fn run() -> ExitCode {
    let mut transport = String::from("http");
    let mut runtime = Runtime::Tokio;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next().as_deref()) {
            ("--transport", Some(value @ ("stdio" | "http"))) => transport = value.into(),
            ("--runtime", Some("tokio")) => runtime = Runtime::Tokio,
            ("--runtime", Some("smol")) => runtime = Runtime::Smol,
            _ => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let config = match load_config() {
        Ok(config) => config,
        Err(err) => {
            log("CRITICAL", &err);
            return ExitCode::from(2);
        }
    };
    let result = match transport.as_str() {
        "stdio" => serve_stdio(config, runtime),
        _ => serve_http(config, runtime),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            log("CRITICAL", &err);
            ExitCode::FAILURE
        }
    }
}

/// Reads the settings from the environment, and the files `AUTH_TOKENS_FILE` and
/// `AUTH_JWKS_FILE` name (the core reads no files); the server's name and version are the
/// crate's.
fn load_config() -> Result<Config, String> {
    let mut config = Config::new(rampart_core::server_info!())
        .apply_env(std::env::vars())
        .map_err(|err| err.to_string())?;
    let read = |var: &str| -> Result<Option<String>, String> {
        match std::env::var(var) {
            Ok(path) if !path.is_empty() => std::fs::read_to_string(&path)
                .map(Some)
                .map_err(|err| format!("cannot read {var}={path}: {err}")),
            _ => Ok(None),
        }
    };
    if let Some(contents) = read("AUTH_TOKENS_FILE")? {
        config = config
            .with_tokens_file(&contents)
            .map_err(|err| err.to_string())?;
    }
    if let Some(jwks) = read("AUTH_JWKS_FILE")? {
        config = config.with_jwks(&jwks).map_err(|err| err.to_string())?;
    }
    Ok(config)
}

/// Writes one JSON log line to stderr, through the log writer's thread as every other line.
fn log(level: &str, message: &str) {
    let line = json!({"timestamp": now().rfc3339(), "level": level, "message": message});
    rampart_stdio::log_writer().write_lines(format!("{line}\n").as_bytes());
}

/// Calls `on_signal` at each SIGTERM or SIGINT (Ctrl-C), from a thread of its own.
fn on_shutdown_signal(on_signal: impl FnMut() + Send + 'static) -> Result<(), String> {
    ctrlc::set_handler(on_signal).map_err(|err| format!("cannot handle signals: {err}"))
}

fn now() -> Now {
    Now::new(Instant::now(), SystemTime::now())
}

/// Builds the server with the demo tools and its `database` readiness check.
fn server(config: Config) -> Result<Server, String> {
    let database = ReadinessCheck::new(std::env::var("DEMO_DATABASE").as_deref() != Ok("down"));
    let tools = rampart_demo::registry(database.clone()).map_err(|err| err.to_string())?;
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|err| format!("no OS randomness: {err}"))?;
    let mut server = Server::new(config, tools, seed, now());
    server.add_readiness_check("database", database);
    Ok(server)
}

fn serve_stdio(mut config: Config, runtime: Runtime) -> Result<(), String> {
    // One client on a pipe shares nothing with replicas.
    config.store.url = None;
    let server = server(config)?;
    rampart_stdio::install_json_panic_hook();
    // A signal drains as the end of input does: running calls finish, then the exit.
    let shutdown = rampart_stdio::Shutdown::new();
    let begin = shutdown.clone();
    on_shutdown_signal(move || begin.begin())?;
    match runtime {
        Runtime::Tokio => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .map_err(|err| err.to_string())?;
            let handle = rt.handle().clone();
            let spawner = move |task| {
                handle.spawn(task);
            };
            rampart_stdio::serve_until(server, spawner, shutdown).map_err(|err| err.to_string())
        }
        Runtime::Smol => {
            let spawner = |task| smol::spawn(task).detach();
            rampart_stdio::serve_until(server, spawner, shutdown).map_err(|err| err.to_string())
        }
    }
}

fn serve_http(config: Config, runtime: Runtime) -> Result<(), String> {
    let address = SocketAddr::new(config.host, config.port);
    let server = server(config)?;
    rampart_stdio::install_json_panic_hook();
    let (stop_tx, stop_rx) = smol::channel::bounded::<()>(1);
    on_shutdown_signal(move || {
        let _ = stop_tx.try_send(());
    })?;
    // The driver logs each phase of the drain.
    let shutdown = async move {
        let _ = stop_rx.recv().await;
    };
    match runtime {
        Runtime::Tokio => serve_tokio(server, address, shutdown),
        Runtime::Smol => serve_smol(server, address, shutdown),
    }
}

// The served futures are boxed, and each runtime has its function: held inline, a future of
// tens of KB (and its copies into `block_on`) made `serve_http`'s frame over 100 KB, below
// which the registry was built, and the main thread kept all those stack pages resident.

/// Serves on tokio's multi-thread runtime until `shutdown` completes, then drains.
fn serve_tokio(
    server: Server,
    address: SocketAddr,
    shutdown: impl Future<Output = ()>,
) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|err| err.to_string())?;
    rt.block_on(Box::pin(async {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|err| format!("cannot listen on {address}: {err}"))?;
        let bound = listener.local_addr().unwrap_or(address);
        rampart_stdio::log_listening(bound, "/mcp", "tokio");
        rampart_tokio::serve(server, listener, shutdown)
            .await
            .map_err(|err| err.to_string())
    }))
}

/// Serves on one smol executor until `shutdown` completes, then drains: one thread drives
/// the sockets and runs every task.
fn serve_smol(server: Server, address: SocketAddr, shutdown: impl Future<Output = ()>) -> Result<(), String> {
    let executor = Arc::new(smol::Executor::new());
    smol::block_on(executor.run(Box::pin(async {
        let listener = smol::net::TcpListener::bind(address)
            .await
            .map_err(|err| format!("cannot listen on {address}: {err}"))?;
        let bound = listener.local_addr().unwrap_or(address);
        rampart_stdio::log_listening(bound, "/mcp", "smol");
        rampart_smol::serve(&executor, server, listener, shutdown)
            .await
            .map_err(|err| err.to_string())
    })))
}
