//! The sans-IO core of rampart: an MCP server as a pure state machine.
//!
//! This crate performs no I/O whatsoever. It reads no clock, opens no socket or file,
//! spawns no thread and draws no OS randomness: bytes, time and a seed come in through
//! method calls, and bytes, events and deadlines come out through `poll_*` methods. The same
//! input gives the same output, however it is split, in a test on a virtual clock as on a
//! real network.
//!
//! # What a server serves
//!
//! A [`Registry`] holds the user's definitions: [`Tool`]s, [`Resource`]s and
//! [`ResourceTemplate`]s, [`Prompt`]s, and the completions attached to prompts and templates.
//! Every handler is a plain `std::future::Future`; the core never polls one. It emits
//! [`Event::Call`] and the embedder runs the [`Call`] on its runtime, then reports the
//! outcome with [`Server::complete`]. What a handler sends while it runs (log, progress,
//! requests to the client) goes through its [`Outbox`] to [`Server::call_message`].
//!
//! # The contract
//!
//! After every input or command, drain [`Server::poll_transmit`] and [`Server::poll_event`]
//! until they return `None`, then ask [`Server::poll_timeout`] when to call
//! [`Server::handle_timeout`]. A connection's reader hands each chunk to
//! [`Server::handle_input`] and reads the next only after [`Event::Resume`] names the
//! connection; the core resumes it as soon as it can take more, so it never holds more than
//! one unread chunk per connection. [`Event`] is `#[non_exhaustive]`: ignore kinds you do
//! not know. That is the whole contract; [`SharedServer`] implements it once for adapters
//! that run each connection on its own task.
//!
//! ```
//! use std::time::{Instant, SystemTime};
//! use rampart_core::{Config, Event, Framing, Now, Outbox, Registry, Server, Tool, ToolOutput};
//! use serde_json::json;
//!
//! let registry = Registry::new()
//!     .tool(Tool::new("echo", json!({"type": "object"}), |args, _ctx| async move {
//!         Ok(ToolOutput::text(args.to_string()))
//!     }))
//!     .unwrap();
//! let now = Now::new(Instant::now(), SystemTime::now());
//! let mut server = Server::new(Config::default(), registry, [7; 32], now);
//! let conn = server.accept("stdio", Framing::Ndjson, now);
//! server.handle_input(conn, b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n", now).unwrap();
//! while let Some(transmit) = server.poll_transmit() {
//!     // write transmit.data to transmit.connection
//!     assert_eq!(transmit.data, b"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n");
//! }
//! while let Some(event) = server.poll_event() {
//!     match event {
//!         // spawn call.run(outbox) on the runtime; when it resolves, call server.complete()
//!         Event::Call(call) => drop(call.run(Outbox::discard())),
//!         Event::Cancel(_call) => { /* drop that call's future */ }
//!         Event::Log(record) => eprintln!("{}", record.to_json_line()),
//!         Event::Resume(_conn) => { /* read the connection's next chunk */ }
//!         Event::Closed(_conn) => { /* close the connection */ }
//!         _ => {}
//!     }
//! }
//! if let Some(timeout) = server.poll_timeout() {
//!     // sleep until timeout.at (or until more input), then server.handle_timeout(now)
//!     let _ = timeout;
//! }
//! ```
#![forbid(unsafe_code, unused_must_use)]
#![warn(missing_docs)]

pub mod auth;
pub mod config;
pub mod content;
pub mod error;
pub mod framing;
/// Entry points of the fuzz targets in `fuzz/`, and their seeds' replay as tests; built only
/// with the `fuzz` feature, and not part of the documented API.
#[cfg(feature = "fuzz")]
#[doc(hidden)]
pub mod fuzz;
pub mod handler;
mod http;
pub mod jsonrpc;
pub mod log;
pub mod mcp;
pub mod metrics;
mod protocol;
pub mod rate_limit;
pub mod registry;
mod server;
pub mod shared;
pub mod store;
pub mod time;
pub mod trace;
pub mod typed;
pub mod validate;

pub use config::{AuthConfig, Config, ConfigError, Hosts, Origins, ServingConfig, ValidationErrors};
pub use content::{Annotations, Content, ResourceContents, Role};
pub use error::{Disclosure, ErrorCode, RpcError};
pub use framing::Framing;
pub use handler::{
    Call, CallFuture, CallId, CallKind, ClientError, Completion, Context, ElicitAction, ElicitResult,
    Elicitation, HandlerError, Message, Notice, Outbox, Outcome, Output, PromptMessage, PromptResult,
    Question, Root, ToolOutput,
};
pub use log::{Level, LogRecord, Status};
pub use mcp::{LoggingLevel, ProtocolVersion, StateKey};
pub use registry::{
    CacheHint, CachePolicy, CacheScope, CompletionRequest, Prompt, PromptArgument, ReadRequest,
    RegisterError, Registry, Resource, ResourceTemplate, TaskSupport, Tool, ToolRegistry,
};
pub use server::{
    CallError, ConnectionId, Event, InputError, ReadinessCheck, Server, Stats, Timeout, TimeoutReason,
    Transmit,
};
pub use shared::SharedServer;
pub use time::{Now, Timestamp};
pub use typed::{IntoContents, IntoToolOutput, Json, ServerInfo};

/// The `schemars` the typed layer derives schemas with, for crates that would rather not
/// depend on it themselves: `#[derive(rampart_core::schemars::JsonSchema)]` with
/// `#[schemars(crate = "rampart_core::schemars")]`.
pub use schemars;
pub use validate::{Type, validate_params};
