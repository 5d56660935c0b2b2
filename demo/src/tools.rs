//! The demo's own tools: a small user directory in the `user` namespace (listed first, as it
//! is harmless to call without arguments), a counter whose
//! resource clients can subscribe to, and tools that show each outcome (`echo`, `add`,
//! `sleep` for progress and timeouts, `fail` and `panic` for E_RUNTIME), and `crunch`, which
//! shows how CPU-bound work runs off the runtime.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rampart_core::typed::Json;
use rampart_core::{
    Context, HandlerError, LoggingLevel, Notice, ReadinessCheck, RegisterError, Registry, Tool, ToolOutput,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Number, json};

use crate::{COUNTER_URI, Demo, NoArguments};

/// The longest `sleep` the demo allows, in milliseconds.
pub const MAX_SLEEP_MS: u64 = 600_000;

/// The longest `crunch` the demo allows, in milliseconds of CPU.
pub const MAX_CRUNCH_MS: u64 = 60_000;

/// A user of the directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct User {
    /// The id that user.get@v1 and users://{id} take.
    pub id: String,
    /// The user's email address.
    pub email: String,
    /// The display name.
    pub name: String,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct NewUser {
    /// The user's email address
    #[schemars(email)]
    email: String,
    /// The display name
    #[schemars(length(min = 1, max = 200))]
    name: String,
}

// The id of a user: the arguments of `user.get@v1` and the variable of `users://{id}`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserId {
    /// The id returned by user.create@v1
    pub(crate) id: String,
}

#[derive(Serialize, JsonSchema)]
struct Users {
    users: Vec<User>,
}

#[derive(Deserialize, JsonSchema)]
struct Echo {
    /// Text to send back
    text: String,
}

#[derive(Deserialize, JsonSchema)]
struct Add {
    a: Number,
    b: Number,
}

#[derive(Serialize, JsonSchema)]
struct Sum {
    sum: Number,
}

#[derive(Deserialize, JsonSchema)]
struct Sleep {
    #[schemars(range(min = 0, max = MAX_SLEEP_MS))]
    ms: u64,
}

#[derive(Deserialize, JsonSchema)]
struct Crunch {
    /// Milliseconds of CPU to spend
    #[schemars(range(min = 0, max = MAX_CRUNCH_MS))]
    ms: u64,
}

#[derive(Serialize, JsonSchema)]
struct Crunched {
    /// Rounds of the hash computed.
    rounds: u64,
    /// The last hash value.
    hash: u64,
}

#[derive(Deserialize, JsonSchema)]
struct Database {
    /// Whether the demo database is reachable
    up: bool,
}

#[derive(Serialize, JsonSchema)]
struct Counter {
    value: u64,
}

/// Adds the demo's tools; `database` is the readiness check that `database.set@v1` flips.
pub fn register(
    registry: Registry,
    demo: &Demo,
    database: ReadinessCheck,
) -> Result<Registry, RegisterError> {
    let users = Arc::clone(&demo.users);
    let list_users = Arc::clone(&demo.users);
    let create_users = Arc::clone(&demo.users);
    let counter = Arc::clone(&demo.counter);
    registry
        .tool(
            Tool::typed("user.list@v1", move |_: NoArguments, _ctx: Context| {
                let users = Arc::clone(&list_users);
                async move {
                    Ok(Json(Users {
                        users: directory(&users)?.first(100),
                    }))
                }
            })
            .title("List users")
            .description("Lists the first 100 users of the demo's directory.")
            .annotations(json!({"readOnlyHint": true, "idempotentHint": true})),
        )?
        .tool(
            Tool::typed("user.create@v1", move |args: NewUser, _ctx: Context| {
                let users = Arc::clone(&create_users);
                async move { Ok(Json(directory(&users)?.create(args.email, args.name))) }
            })
            .title("Create a user")
            .required_scope("users:write")
            .description("Creates a user in the demo's in-memory directory and returns it.")
            .annotations(json!({"readOnlyHint": false, "destructiveHint": false, "idempotentHint": false})),
        )?
        .tool(
            Tool::typed("user.get@v1", move |UserId { id }: UserId, _ctx: Context| {
                let users = Arc::clone(&users);
                async move {
                    let found = directory(&users)?.get(&id);
                    found
                        .map(Json)
                        .ok_or_else(|| HandlerError::tool_error(format!("No user with id {id}")))
                }
            })
            .title("Get a user")
            .description("Looks a user up by id.")
            .annotations(json!({"readOnlyHint": true})),
        )?
        .tool(
            Tool::typed("echo", |args: Echo, _ctx: Context| async move { Ok(args.text) })
                .title("Echo")
                .description("Returns its text unchanged.")
                .annotations(json!({"readOnlyHint": true, "idempotentHint": true})),
        )?
        .tool(
            Tool::typed("add", |Add { a, b }: Add, _ctx: Context| async move {
                // Integers add exactly while the sum fits an i64; anything else adds as f64.
                let sum = match (a.as_i64(), b.as_i64()) {
                    (Some(a), Some(b)) => a.checked_add(b).map(Number::from),
                    _ => None,
                }
                .or_else(|| Number::from_f64(a.as_f64()? + b.as_f64()?))
                .ok_or_else(|| HandlerError::tool_error("the sum is too large for a JSON number"))?;
                Ok(Json(Sum { sum: sum.clone() }).with_text(sum.to_string()))
            })
            .title("Add")
            .description("Adds two numbers.")
            .annotations(json!({"readOnlyHint": true, "idempotentHint": true})),
        )?
        .tool(
            Tool::typed("sleep", |Sleep { ms }: Sleep, ctx: Context| async move {
                ctx.log(LoggingLevel::Info, json!({"sleeping_ms": ms}));
                // A long sleep keeps the client's request timer alive.
                ctx.heartbeat(Duration::from_secs(10));
                ctx.progress(0.0, Some(ms as f64), Some("sleeping".into()));
                smol::Timer::after(Duration::from_millis(ms)).await;
                ctx.progress(ms as f64, Some(ms as f64), Some("done".into()));
                Ok(format!("slept {ms} ms"))
            })
            .title("Sleep")
            .description("Waits the given milliseconds; longer than TOOL_TIMEOUT_MS shows E_TIMEOUT.")
            .annotations(json!({"readOnlyHint": true})),
        )?
        .tool(
            Tool::typed("crunch", |Crunch { ms }: Crunch, _ctx: Context| crunch(ms))
                .title("Crunch")
                .description(
                    "Spends the given milliseconds of CPU on a blocking thread, off the runtime: \
                     the server keeps answering meanwhile.",
                )
                .annotations(json!({"readOnlyHint": true, "idempotentHint": true})),
        )?
        .tool(
            Tool::typed(
                "database.set@v1",
                move |Database { up }: Database, _ctx: Context| {
                    let database = database.clone();
                    async move {
                        database.set(up);
                        Ok(if up {
                            "database up: /ready answers 200"
                        } else {
                            "database down: /ready answers 503"
                        })
                    }
                },
            )
            .title("Flip the demo database")
            .description("Marks the demo's pretend database up or down, which /ready reports.")
            .annotations(json!({"destructiveHint": false, "idempotentHint": true})),
        )?
        .tool(
            Tool::typed("fail", |_: NoArguments, _ctx: Context| async move {
                Err::<ToolOutput, _>(HandlerError::failed("the fail tool always fails"))
            })
            .title("Fail")
            .description("Always fails, to show E_RUNTIME."),
        )?
        .tool(
            Tool::typed("panic", |_: NoArguments, _ctx: Context| async move {
                if true {
                    panic!("the panic tool always panics");
                }
                Ok("unreachable")
            })
            .title("Panic")
            .description("Always panics, to show that a panic is contained as E_RUNTIME."),
        )?
        .tool(
            Tool::typed("counter.increment", move |_: NoArguments, ctx: Context| {
                let counter = Arc::clone(&counter);
                async move {
                    let value = {
                        let mut value = counter
                            .lock()
                            .map_err(|_| HandlerError::failed("counter poisoned"))?;
                        *value += 1;
                        *value
                    };
                    // Sessions subscribed to the counter's resource hear of the change.
                    ctx.notify(Notice::ResourceUpdated(COUNTER_URI.into()));
                    Ok(Json(Counter { value }).with_text(format!("counter is now {value}")))
                }
            })
            .title("Increment the counter")
            .description("Adds one to the counter at demo://counter and notifies its subscribers."),
        )
}

/// Spends `ms` milliseconds hashing: the pattern for CPU-bound (or blocking) work in a tool.
///
/// A handler is a plain `std` future polled on the runtime's threads: a loop that computes
/// for seconds inside it would hold one of those threads (on a one-thread runtime, the whole
/// server, probes included) until it ends. The work goes to a pool of blocking threads
/// instead, and the handler awaits its result: `smol::unblock` (the `blocking` crate) runs a
/// closure on such a pool and returns a future any runtime can await; under tokio,
/// `tokio::task::spawn_blocking` does the same, and a `std::thread` that sends its result
/// through a oneshot channel works anywhere. A cancelled or timed-out call drops the handler's
/// future, but a thread cannot be stopped from outside: the closure checks a flag the
/// handler raises when it is dropped, and gives up.
async fn crunch(ms: u64) -> Result<Json<Crunched>, HandlerError> {
    let cancelled = Arc::new(AtomicBool::new(false));
    let _raise_on_drop = RaiseOnDrop(Arc::clone(&cancelled));
    let deadline = Instant::now() + Duration::from_millis(ms);
    let (rounds, hash) = smol::unblock(move || spin(deadline, &cancelled)).await;
    Ok(Json(Crunched { rounds, hash }))
}

/// Hashes until `deadline`, or until `cancelled` is raised; returns the rounds and the hash.
fn spin(deadline: Instant, cancelled: &AtomicBool) -> (u64, u64) {
    let (mut rounds, mut hash) = (0u64, 0xcbf2_9ce4_8422_2325_u64);
    loop {
        // FNV-1a over the round number, a few thousand rounds between two looks at the clock.
        for _ in 0..4096 {
            for byte in rounds.to_le_bytes() {
                hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
            }
            rounds += 1;
        }
        if Instant::now() >= deadline || cancelled.load(Ordering::Relaxed) {
            return (rounds, hash);
        }
    }
}

/// Raises its flag when dropped: the handler's future tells its blocking work to stop.
struct RaiseOnDrop(Arc<AtomicBool>);

impl Drop for RaiseOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Locks the user directory.
pub(crate) fn directory(users: &Mutex<Directory>) -> Result<MutexGuard<'_, Directory>, HandlerError> {
    users
        .lock()
        .map_err(|_| HandlerError::failed("user directory poisoned"))
}

/// The in-memory user directory, capped so a client cannot grow it without bound.
#[derive(Debug, Default)]
pub struct Directory {
    next: u64,
    users: BTreeMap<String, User>,
}

impl Directory {
    const CAP: usize = 10_000;

    /// Adds a user and returns it.
    pub fn create(&mut self, email: String, name: String) -> User {
        self.next += 1;
        let user = User {
            id: format!("usr_{}", self.next),
            email,
            name,
        };
        if self.users.len() >= Self::CAP {
            self.users.pop_first();
        }
        self.users.insert(user.id.clone(), user.clone());
        user
    }

    /// Returns the ids of every user, in order.
    pub fn ids(&self) -> Vec<String> {
        self.users.keys().cloned().collect()
    }

    /// Returns the first `limit` users, in id order.
    pub fn first(&self, limit: usize) -> Vec<User> {
        self.users.values().take(limit).cloned().collect()
    }

    /// Returns the user with this id.
    pub fn get(&self, id: &str) -> Option<User> {
        self.users.get(id).cloned()
    }
}
