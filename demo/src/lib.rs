//! What the demo serves: its own tools, resources and prompts (a small user directory, a
//! counter, a guide), and the fixtures of the MCP conformance suite.

#![warn(missing_docs)]

pub mod fixtures;
mod library;
pub mod stateless_fixtures;
pub mod task_fixtures;
pub mod tools;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rampart_core::{CacheHint, ReadinessCheck, RegisterError, Registry};
use schemars::JsonSchema;
use serde::Deserialize;

pub use tools::MAX_SLEEP_MS;

/// The URI of the counter's resource.
pub const COUNTER_URI: &str = "demo://counter";

// The arguments of a tool that takes none: any object, whose fields are ignored. (A plain
// comment: a doc comment would become the schema's description.)
#[derive(Deserialize, JsonSchema)]
pub(crate) struct NoArguments {}

/// The demo's state, shared by its tools, resources and prompts.
#[derive(Debug, Default)]
pub struct Demo {
    users: Arc<Mutex<tools::Directory>>,
    counter: Arc<Mutex<u64>>,
}

/// Returns everything the demo serves; `database` is the readiness check that the
/// `database.set@v1` tool flips.
pub fn registry(database: ReadinessCheck) -> Result<Registry, RegisterError> {
    let demo = Demo::default();
    let registry = tools::register(Registry::new(), &demo, database)?;
    let registry = library::register(registry, &demo)?;
    let registry = fixtures::register(registry)?;
    let registry = stateless_fixtures::register(registry)?;
    let mut registry = task_fixtures::register(registry)?;
    // Lists change only when the demo says so: clients may keep them a minute. Reads and
    // discovery are fresh every time.
    let minute = Duration::from_secs(60);
    registry.cache.tools = CacheHint::public(minute);
    registry.cache.prompts = CacheHint::public(minute);
    registry.cache.resources = CacheHint::public(minute);
    Ok(registry)
}
