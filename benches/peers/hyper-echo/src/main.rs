//! The HTTP ceiling: `POST /mcp` is answered with the fixed body rampart gives for the
//! benchmark's `echo` call, after the request body is read in full. No JSON, no MCP.
//! Listens on `HOST:PORT` (default 127.0.0.1:23470), TCP_NODELAY on, HTTP/1.1 keep-alive.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, Response, StatusCode, body::Incoming, header, service::service_fn};
use hyper_util::rt::TokioIo;

const BODY: &str =
    r#"{"jsonrpc":"2.0","id":1,"result":{"content":[{"text":"hello rampart bench","type":"text"}]}}"#;

async fn answer(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let post_mcp = request.method() == Method::POST && request.uri().path() == "/mcp";
    // Read the whole body, as a real server must before it can answer.
    let _ = request.into_body().collect().await;
    let response = if post_mcp {
        Response::builder()
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from_static(BODY.as_bytes())))
    } else {
        Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(Full::new(Bytes::new()))
    };
    Ok(response.expect("static response"))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let port = std::env::var("PORT").unwrap_or_else(|_| "23470".into());
    let listener = tokio::net::TcpListener::bind(format!("{host}:{port}")).await?;
    eprintln!("hyper-echo listening on http://{host}:{port}/mcp");
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(answer))
                .await;
        });
    }
}
