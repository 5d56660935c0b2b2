//! Byte framing of messages on a connection: NDJSON for stdio, HTTP/1.1 for Streamable HTTP.

#[allow(dead_code)]
pub(crate) mod http1;
pub(crate) mod ndjson;

/// How messages are framed on a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Framing {
    /// One JSON-RPC message per line, as MCP's stdio transport sends them.
    Ndjson,
    /// HTTP/1.1 requests, answered as MCP's Streamable HTTP transport.
    Http,
}
