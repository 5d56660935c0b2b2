//! The sans-IO core of rampart: an MCP server as a pure state machine.
//!
//! This crate performs no I/O whatsoever. It reads no clock, opens no socket or file,
//! spawns no thread and draws no OS randomness: bytes, time and a seed come in through
//! method calls, and bytes, events and deadlines come out through `poll_*` methods. The same
//! input gives the same output, however it is split, in a test on a virtual clock as on a
//! real network.
//!
//! # The methods of [`Server`]
//!
//! - getters (`&self`): [`Server::stats`], [`Server::wants_input`], [`Server::config`];
//! - input, `handle_*`: [`Server::accept`], [`Server::handle_input`], [`Server::handle_eof`],
//!   [`Server::handle_disconnect`], [`Server::handle_timeout`];
//! - commands: [`Server::complete`] for a finished tool call, [`Server::tool_message`] for what
//!   a tool sends while it runs;
//! - output, `poll_*`: [`Server::poll_transmit`], [`Server::poll_event`],
//!   [`Server::poll_timeout`].
//!
//! After every input or command, the adapter drains `poll_transmit` and `poll_event` until
//! they return `None`, then asks `poll_timeout` for the next deadline.
//!
//! # The drive loop
//!
//! ```
//! use std::time::{Instant, SystemTime};
//! use rampart_core::{Config, Event, Framing, Now, Outbox, Server, ToolOutput, ToolRegistry, Tool};
//! use serde_json::json;
//!
//! let tools = ToolRegistry::new()
//!     .with(Tool::new("echo", json!({"type": "object"}), |args, _ctx| async move {
//!         Ok(ToolOutput::text(args.to_string()))
//!     }))
//!     .unwrap();
//! let now = Now::new(Instant::now(), SystemTime::now());
//! let mut server = Server::new(Config::default(), tools, [7; 32], now);
//! let conn = server.accept("stdio", Framing::Ndjson, now);
//! server.handle_input(conn, b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n", now).unwrap();
//! while let Some(transmit) = server.poll_transmit() {
//!     // write transmit.data to transmit.connection
//!     assert_eq!(transmit.data, b"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n");
//! }
//! while let Some(event) = server.poll_event() {
//!     match event {
//!         // spawn call.run(outbox) on the runtime; when it resolves, call server.complete()
//!         Event::CallTool(call) => drop(call.run(Outbox::discard())),
//!         Event::CancelCall(_call) => { /* drop that call's future */ }
//!         Event::Log(record) => eprintln!("{}", record.to_json_line()),
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
pub mod error;
pub mod framing;
/// Entry points of the fuzz targets in `fuzz/`, and their seeds' replay as tests; built only
/// with the `fuzz` feature, and not part of the documented API.
#[cfg(feature = "fuzz")]
#[doc(hidden)]
pub mod fuzz;
mod http;
pub mod jsonrpc;
pub mod log;
pub mod mcp;
pub mod rate_limit;
mod server;
pub mod shared;
pub mod time;
pub mod tools;
pub mod validate;

pub use config::{AuthConfig, Config, ConfigError, Hosts, Origins, ValidationErrors};
pub use error::{ErrorCode, RpcError};
pub use framing::Framing;
pub use log::{Level, LogRecord, Status};
pub use mcp::ProtocolVersion;
pub use server::{
    CallError, ConnectionId, Event, Host, InputError, ReadinessCheck, Server, Stats, Timeout, TimeoutReason,
    Transmit,
};
pub use shared::SharedServer;
pub use time::Now;
pub use tools::{
    CallFuture, CallId, LoggingLevel, Outbox, Outcome, RegisterError, Tool, ToolCall, ToolContext, ToolError,
    ToolMessage, ToolOutput, ToolRegistry,
};
pub use validate::{Type, validate_params};
