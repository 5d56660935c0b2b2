//! One typed tool served over stdio: `cargo run -p rampart-examples --bin stdio-minimal`.
use rampart_core::{Config, Registry, Tool, server_info};
use schemars::JsonSchema;
use serde::Deserialize;

/// Whom to greet.
#[derive(Deserialize, JsonSchema)]
struct Greet {
    /// The name to put in the greeting.
    name: String,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let greet = Tool::typed("greet", |args: Greet, _ctx| async move {
        Ok(format!("Hello, {}!", args.name))
    });
    let registry = Registry::new().tool(greet.description("Greets someone by name."))?;
    rampart_tokio::run_stdio(Config::new(server_info!()), registry).await?;
    Ok(())
}
