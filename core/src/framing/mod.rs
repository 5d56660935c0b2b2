//! Byte framing of messages on a connection: NDJSON for stdio (HTTP/1.1 joins it later).

pub(crate) mod ndjson;

/// How messages are framed on a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Framing {
    /// One JSON-RPC message per line, as MCP's stdio transport sends them.
    Ndjson,
}
