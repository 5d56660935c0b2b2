//! A Streamable HTTP server on smol with two typed tools, configured from the environment.
//!
//! `add` returns `Json<Sum>`: clients get an `outputSchema` and `structuredContent`, with
//! the JSON text beside it. `invite` returns text, and refuses some addresses with an
//! `isError: true` result that the model can read.
//!
//! Run it with `cargo run -p rampart-examples --bin http-smol`: it serves MCP on
//! `http://127.0.0.1:23450/mcp` until Ctrl-C, and `PORT`, `HOST`, `DEBUG` and the other
//! variables of the README's Configuration section change that. Then:
//!
//! ```sh
//! curl -s -X POST http://127.0.0.1:23450/mcp -H 'Content-Type: application/json' \
//!   -H 'Accept: application/json, text/event-stream' \
//!   -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":2,"b":3}}}'
//! ```

use rampart_core::{Config, HandlerError, Json, RegisterError, Registry, Tool, server_info};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Two integers to add.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Add {
    /// The first addend.
    a: i64,
    /// The second addend.
    b: i64,
}

/// The sum of two integers.
#[derive(Serialize, JsonSchema)]
struct Sum {
    /// `a + b`.
    sum: i64,
}

/// Someone to invite.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Invite {
    /// Where to send the invitation.
    #[schemars(email)]
    email: String,
    /// A line to add to the invitation.
    note: Option<String>,
}

fn registry() -> Result<Registry, RegisterError> {
    Registry::new()
        .tool(
            Tool::typed("add", |args: Add, _ctx| async move {
                let sum = args
                    .a
                    .checked_add(args.b)
                    .ok_or_else(|| HandlerError::tool_error("the sum does not fit in 64 bits"))?;
                Ok(Json(Sum { sum }))
            })
            .description("Adds two integers."),
        )?
        .tool(
            Tool::typed("invite", |args: Invite, _ctx| async move {
                if args.email.ends_with("@example.com") {
                    return Err(HandlerError::tool_error("example.com takes no invitations"));
                }
                let note = args.note.map(|note| format!(" ({note})")).unwrap_or_default();
                Ok(format!("Invited {}{note}.", args.email))
            })
            .description("Invites someone by email."),
        )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::new(server_info!()).apply_env(std::env::vars())?;
    // Blocks: this thread drives the sockets and runs every task, until Ctrl-C or SIGTERM.
    rampart_smol::run(config, registry()?)?;
    Ok(())
}
