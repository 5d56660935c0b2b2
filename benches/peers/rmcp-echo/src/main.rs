//! The demo's `echo` tool ({"text": string} -> text content) served by `rmcp`.
//!
//! `rmcp-echo --transport http` serves Streamable HTTP on `HOST:PORT` (default
//! 127.0.0.1:23460) at `/mcp`, stateless with JSON responses and TCP_NODELAY on each
//! accepted connection; `rmcp-echo --transport stdio` serves NDJSON on stdin/stdout.
//!
//! `rmcp-echo --transport http --modern` is the same server set up the way rmcp documents
//! for a 2026-07-28-only server: `stateless_protocol_metadata_required` on (every request
//! must carry `MCP-Protocol-Version` and `_meta.io.modelcontextprotocol/protocolVersion`)
//! and only `2026-07-28` advertised in `supported_protocol_versions`. The default server
//! already answers 2026-07-28 requests through the same per-request path (rmcp routes
//! them statelessly whatever `legacy_session_mode` says); `--modern` makes sure nothing
//! else is served, so a benchmark of it can only measure that path.

use std::{
    borrow::Cow,
    sync::{
        LazyLock,
        atomic::{AtomicBool, Ordering},
    },
};

use rmcp::{
    ServerHandler, ServiceExt,
    handler::server::{router::tool::ToolRouter, wrapper::Parameters},
    model::{ProtocolVersion, ServerCapabilities, ServerConfig},
    schemars, tool, tool_handler, tool_router,
    transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
    },
};

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct EchoArgs {
    /// Text to send back
    text: String,
}

#[derive(Debug, Clone)]
struct Echo;

/// Built once: in stateless mode rmcp makes a fresh handler for every request, and the
/// macro's default would build the router (and the tool's JSON Schema) on every call.
static ROUTER: LazyLock<ToolRouter<Echo>> = LazyLock::new(Echo::tool_router);

/// Set once from `--modern`, before the server starts.
static MODERN_ONLY: AtomicBool = AtomicBool::new(false);

#[tool_router]
impl Echo {
    fn new() -> Self {
        Self
    }

    #[tool(description = "Returns its text unchanged.")]
    fn echo(&self, Parameters(EchoArgs { text }): Parameters<EchoArgs>) -> String {
        text
    }
}

#[tool_handler(router = ROUTER)]
impl ServerHandler for Echo {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        if MODERN_ONLY.load(Ordering::Relaxed) {
            Cow::Borrowed(&[ProtocolVersion::V_2026_07_28])
        } else {
            Cow::Borrowed(ProtocolVersion::KNOWN_VERSIONS)
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let args: Vec<String> = std::env::args().collect();
    let transport = args
        .windows(2)
        .find(|w| w[0] == "--transport")
        .map(|w| w[1].as_str())
        .unwrap_or("http");
    let modern = args.iter().any(|a| a == "--modern");
    if modern && transport != "http" {
        return Err("--modern applies to --transport http only".into());
    }
    MODERN_ONLY.store(modern, Ordering::Relaxed);
    match transport {
        "stdio" => {
            let service = Echo::new().serve(rmcp::transport::stdio()).await?;
            service.waiting().await?;
        }
        "http" => {
            let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
            let port = std::env::var("PORT").unwrap_or_else(|_| "23460".into());
            let config = StreamableHttpServerConfig::default()
                .with_legacy_session_mode(false)
                .with_json_response(true)
                .with_sse_keep_alive(None)
                .with_stateless_protocol_metadata_required(modern);
            let service: StreamableHttpService<Echo, LocalSessionManager> =
                StreamableHttpService::new(|| Ok(Echo::new()), Default::default(), config);
            let router = axum::Router::new().nest_service("/mcp", service);
            let listener = tokio::net::TcpListener::bind(format!("{host}:{port}")).await?;
            let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
                let _ = tcp.set_nodelay(true);
            });
            let mode = if modern { " (2026-07-28 only)" } else { "" };
            eprintln!("rmcp-echo listening on http://{host}:{port}/mcp{mode}");
            axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = tokio::signal::ctrl_c().await;
                })
                .await?;
        }
        other => return Err(format!("unknown transport {other}").into()),
    }
    Ok(())
}
