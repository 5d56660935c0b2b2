//! The tools the `shared` target adds to the fuzz registry, calls that wait for a gate, and
//! requests for them.

use std::sync::Arc;

use serde_json::json;

use super::super::dictionary::{HttpRequest, post};
use super::super::peer::Expect;
use super::super::registry::fuzz_registry;
use super::tasks::Gates;
use crate::{LoggingLevel, Registry, Tool, ToolOutput};

/// The fuzz registry, and two tools that wait for a gate: `gated` answers once released;
/// `chatty` logs and reports progress, waits if told to, then does both again and answers.
pub(super) fn registry(gates: &Arc<Gates>) -> Registry {
    let mut registry = fuzz_registry();
    let gated = {
        let gates = Arc::clone(gates);
        Tool::new("gated", json!({"type": "object"}), move |_, _| {
            let gate = gates.open();
            async move {
                gate.opened().await;
                Ok(ToolOutput::text("released"))
            }
        })
    };
    let chatty = {
        let gates = Arc::clone(gates);
        Tool::new("chatty", json!({"type": "object"}), move |args, ctx| {
            let gate = args["wait"].as_bool().unwrap_or(false).then(|| gates.open());
            let size = args["size"].as_u64().unwrap_or(4).min(4096);
            async move {
                let text = "x".repeat(usize::try_from(size).unwrap_or(4));
                ctx.log(LoggingLevel::Warning, text.clone());
                ctx.progress(1.0, Some(2.0), Some("half".to_owned()));
                if let Some(gate) = gate {
                    gate.opened().await;
                }
                ctx.log(LoggingLevel::Warning, text);
                ctx.progress(2.0, Some(2.0), None);
                Ok(ToolOutput::text("done"))
            }
        })
    };
    for tool in [gated, chatty] {
        registry.tools.register(tool).expect("a new tool name");
    }
    registry
}

/// Returns a `tools/call` request for `gated` or `chatty`; `extra` picks the id and which
/// known session to name, as in the dictionary.
pub(super) fn tool_request(kind: u8, extra: u8, sessions: &[String]) -> HttpRequest {
    let id = extra % 6;
    let (name, arguments) = match kind % 4 {
        0 => ("gated", json!({})),
        1 => ("chatty", json!({"wait": true})),
        2 => ("chatty", json!({"wait": false})),
        _ => ("chatty", json!({"wait": kind & 4 == 0, "size": 1200})),
    };
    let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {
        "name": name, "arguments": arguments, "_meta": {"progressToken": id}}})
    .to_string();
    let session = match (extra >> 3, sessions.len()) {
        (0, _) | (_, 0) => None,
        (pick, len) => Some(sessions[usize::from(pick) % len].as_str()),
    };
    post(&body, session, Expect::Call)
}
