//! Benchmarks of the rampart core: the criterion benches live in `benches/core.rs` and run with
//! `cargo bench -p rampart-benches`. This library holds what they share: a counting allocator
//! and round trips through the core with the handler completing at once.
#![warn(missing_docs)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Instant, SystemTime};

use rampart_core::{
    Config, ConnectionId, Context as ToolContext, Event, Framing, Json, Now, Outbox, Server, Tool,
    ToolOutput, ToolRegistry,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A global allocator that counts allocations, for "allocations per round trip".
pub struct CountingAllocator;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; only a counter is added.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` above with this `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract, passed on as is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Returns the number of allocations made so far (with [`CountingAllocator`] installed).
pub fn allocations() -> u64 {
    ALLOCATIONS.load(Ordering::Relaxed)
}

/// Returns the current time for the core.
pub fn now() -> Now {
    Now::new(Instant::now(), SystemTime::now())
}

/// The `echo` tool, the one every comparison serves, and the same tools written both ways:
/// `echo_typed` beside `echo`, and `user.create` with a hand-written schema beside
/// `user.create_typed` with a derived one, to price the typed layer.
pub fn echo_tools() -> ToolRegistry {
    ToolRegistry::new()
        .with(Tool::new(
            "echo",
            json!({"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}),
            |args, _| async move { Ok(ToolOutput::text(args["text"].as_str().unwrap_or_default())) },
        ))
        .and_then(|tools| {
            tools.with(Tool::typed(
                "echo_typed",
                |args: Echo, _: ToolContext| async move { Ok(args.text) },
            ))
        })
        .and_then(|tools| {
            tools.with(
                Tool::new(
                    "user.create",
                    json!({"type": "object", "properties": {
                        "email": {"type": "string", "format": "email"},
                        "name": {"type": "string", "minLength": 1, "maxLength": 200}},
                        "required": ["email", "name"], "additionalProperties": false}),
                    |args, _| async move {
                        let text = |name: &str| args[name].as_str().unwrap_or_default().to_owned();
                        let user = json!({"id": "usr_1", "email": text("email"), "name": text("name")});
                        Ok(ToolOutput::structured(user))
                    },
                )
                .output_schema(json!({"type": "object", "properties": {
                    "id": {"type": "string"}, "email": {"type": "string"}, "name": {"type": "string"}},
                    "required": ["id", "email", "name"]})),
            )
        })
        .and_then(|tools| {
            tools.with(Tool::typed(
                "user.create_typed",
                |args: CreateUser, _: ToolContext| async move {
                    Ok(Json(User {
                        id: "usr_1".into(),
                        email: args.email,
                        name: args.name,
                    }))
                },
            ))
        })
        .expect("the bench tools register")
}

/// The arguments of `echo_typed`.
#[derive(Deserialize, JsonSchema)]
pub struct Echo {
    text: String,
}

/// The arguments of `user.create_typed`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    #[schemars(email)]
    email: String,
    #[schemars(length(min = 1, max = 200))]
    name: String,
}

/// The result of `user.create_typed`.
#[derive(Serialize, JsonSchema)]
pub struct User {
    id: String,
    email: String,
    name: String,
}

/// A server and one connection, ready for round trips.
pub struct Bench {
    /// The server.
    pub server: Server,
    /// Its connection.
    pub conn: ConnectionId,
    framing: Framing,
    /// Handed to every call, as an adapter hands each call its shard's outbox.
    outbox: Outbox,
}

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"b","version":"0"}}}"#;

impl Bench {
    /// Opens an initialized connection; for HTTP, in stateless mode with rate limits off.
    pub fn new(framing: Framing) -> Self {
        Self::configured(framing, |_| {})
    }

    /// Like [`new`](Self::new), with `configure` applied to the config first (to turn span
    /// records on, say).
    pub fn configured(framing: Framing, configure: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config {
            stateless: true,
            rate_limit: 0,
            max_requests_per_connection: u32::MAX,
            ..Config::default()
        };
        configure(&mut config);
        let mut server = Server::new(config, echo_tools(), [1; 32], now());
        let conn = server.accept("127.0.0.1", framing, now());
        let mut bench = Self {
            server,
            conn,
            framing,
            outbox: Outbox::discard(),
        };
        bench.round_trip(&bench.frame(INITIALIZE));
        bench
    }

    /// Frames one JSON-RPC message for this connection: a line, or a `POST /mcp`.
    pub fn frame(&self, message: &str) -> Vec<u8> {
        match self.framing {
            Framing::Http => format!(
                "POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\n\r\n{message}",
                message.len()
            )
            .into_bytes(),
            _ => format!("{message}\n").into_bytes(),
        }
    }

    /// Feeds `input`, runs every call to completion at once, and returns the bytes written.
    pub fn round_trip(&mut self, input: &[u8]) -> usize {
        let now = now();
        if let Err(err) = self.server.handle_input(self.conn, input, now) {
            panic!("input refused: {err}; stats {:?}", self.server.stats());
        }
        let mut out = 0;
        loop {
            let mut progressed = false;
            while let Some(event) = self.server.poll_event() {
                progressed = true;
                if let Event::Call(call) = event {
                    let id = call.id;
                    // Boxed and given a clone of one outbox, as the adapters do.
                    let mut future = Box::pin(call.run(self.outbox.clone()));
                    let Poll::Ready(outcome) = future.as_mut().poll(&mut Context::from_waker(Waker::noop()))
                    else {
                        panic!("bench handlers complete at once");
                    };
                    self.server.complete(id, outcome, now).expect("running");
                }
            }
            while let Some(transmit) = self.server.poll_transmit() {
                progressed = true;
                out += transmit.data.len();
            }
            if !progressed {
                return out;
            }
        }
    }
}
