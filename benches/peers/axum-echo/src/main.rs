//! A bare axum server: `POST /mcp` is answered with the fixed body rampart gives for the
//! benchmark's `echo` call, after the request body is read in full. No JSON, no MCP. It is
//! the yardstick of the idle-memory table: what a plain axum server on tokio's default
//! multi-thread runtime holds. Listens on `HOST:PORT` (default 127.0.0.1:23475).

use axum::{Router, body::Bytes, http::header, routing::post};

const BODY: &str =
    r#"{"jsonrpc":"2.0","id":1,"result":{"content":[{"text":"hello rampart bench","type":"text"}]}}"#;

/// Takes the whole body, as a real server must before it can answer.
async fn answer(_body: Bytes) -> ([(header::HeaderName, &'static str); 1], &'static str) {
    ([(header::CONTENT_TYPE, "application/json")], BODY)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let port = std::env::var("PORT").unwrap_or_else(|_| "23475".into());
    let listener = tokio::net::TcpListener::bind(format!("{host}:{port}")).await?;
    eprintln!("axum-echo listening on http://{host}:{port}/mcp");
    axum::serve(listener, Router::new().route("/mcp", post(answer))).await
}
