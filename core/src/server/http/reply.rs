//! Writing HTTP replies: the common headers every response carries (security, request id,
//! CORS, rate limit, connection), replies with JSON bodies, and their log records.

use super::{Ctx, Server};
use crate::error::{ErrorCode, RpcError};
use crate::http::response;
use crate::jsonrpc;
use crate::log::Status;
use crate::mcp::ProtocolVersion;
use crate::server::ConnectionId;
use crate::server::record::Finished;
use crate::time::Now;

/// Headers a browser script may read from responses.
const EXPOSE_HEADERS: &str = "Mcp-Session-Id, MCP-Protocol-Version, X-Request-Id";

/// A response about to be written.
pub(super) struct Reply {
    pub(super) status: u16,
    pub(super) headers: Vec<(&'static str, String)>,
    pub(super) body: Option<(&'static str, Vec<u8>)>,
    pub(super) close: bool,
}

impl Reply {
    /// A reply with no body (202, 204, ...).
    pub(super) fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: None,
            close: false,
        }
    }
}

impl Server {
    /// Writes a reply, logs it, and ends the exchange.
    pub(super) fn send_reply(
        &mut self,
        connection: ConnectionId,
        ctx: &Ctx,
        reply: Reply,
        error: Option<RpcError>,
        now: Now,
    ) {
        self.send_reply_as(connection, ctx, reply, error, None, now);
    }

    /// Like `send_reply`, with the method the log record names.
    pub(super) fn send_reply_as(
        &mut self,
        connection: ConnectionId,
        ctx: &Ctx,
        reply: Reply,
        error: Option<RpcError>,
        method: Option<std::sync::Arc<str>>,
        now: Now,
    ) {
        let close = self.write_reply(connection, ctx, &reply);
        let mut finished = self.finished_for(connection, ctx, reply.status);
        finished.method = method;
        finished.outcome = match error {
            Some(error) => Err(error),
            // A 503 from `/ready` is the probe answering as it should (draining, a check
            // failing): nothing went wrong with the request.
            None if reply.status >= 400 && &*ctx.line != "GET /ready" => Err(RpcError::new(
                ErrorCode::InvalidRequest,
                response::reason(reply.status),
            )),
            None => Ok(Status::Ok),
        };
        self.log_finished(now, finished);
        self.end_exchange(connection, close, now);
    }

    /// The log record of a request answered with `status`.
    pub(super) fn finished_for(&self, connection: ConnectionId, ctx: &Ctx, status: u16) -> Finished {
        let mut finished = Finished::new(connection, ctx.request_id.clone(), ctx.started);
        finished.http_status = Some(status);
        finished.http = Some(ctx.line.clone());
        finished.session = ctx.session.clone();
        finished.principal = ctx.principal.clone();
        finished.facts = ctx.facts.clone();
        finished
    }

    /// Writes a reply; returns whether the connection closes after it.
    pub(super) fn write_reply(&mut self, connection: ConnectionId, ctx: &Ctx, reply: &Reply) -> bool {
        let close = reply.close || !ctx.keep_alive || self.stopping;
        let room = reply.body.as_ref().map_or(0, |(_, body)| body.len());
        let mut head = response::Head::with_room(reply.status, room);
        self.common_headers(&mut head, ctx, close);
        for (name, value) in &reply.headers {
            head.header(name, value);
        }
        let bytes = match &reply.body {
            Some((content_type, body)) => head.body(Some(content_type), body),
            // 204 carries no Content-Length.
            None if reply.status == 204 => head.without_body(),
            None => head.body(None, b""),
        };
        self.transmit(connection, bytes);
        close
    }

    pub(super) fn common_headers(&self, head: &mut response::Head, ctx: &Ctx, close: bool) {
        head.lines(response::COMMON_HEADER_LINES);
        head.header("X-Request-Id", &ctx.request_id);
        if let Some(rate) = &ctx.rate {
            rate.write_header_lines(60, head.buf_mut());
        }
        if let Some(origin) = &ctx.cors {
            head.header("Access-Control-Allow-Origin", origin);
            head.header("Access-Control-Expose-Headers", EXPOSE_HEADERS);
        }
        if close {
            head.header("Connection", "close");
        } else if ctx.minor == 0 {
            head.header("Connection", "keep-alive");
        }
    }

    /// A context for a request whose head may be missing or unusable.
    pub(super) fn bare_ctx(&mut self, request_id: Option<&[u8]>, minor: u8, now: Now) -> Ctx {
        self.ctx_with_line(request_id, minor, std::sync::Arc::from(""), now)
    }

    /// A context for a request whose `METHOD path` is `line`.
    pub(super) fn ctx_with_line(
        &mut self,
        request_id: Option<&[u8]>,
        minor: u8,
        line: std::sync::Arc<str>,
        now: Now,
    ) -> Ctx {
        let request_id = match request_id.and_then(sane_request_id) {
            Some(id) => id,
            None => self.new_request_id(),
        };
        Ctx {
            request_id,
            minor,
            keep_alive: false,
            cors: None,
            line,
            started: now.instant,
            session: None,
            new_session: None,
            version: ProtocolVersion::V2025_03_26,
            version_header: None,
            mcp_headers: None,
            rate: None,
            principal: None,
            session_loaded: false,
            replayed: None,
            trace: None,
            facts: Default::default(),
        }
    }

    pub(super) fn new_session_id(&mut self) -> String {
        use rand_core::RngCore;
        let mut id = crate::server::ids::hex16(self.rng.next_u64());
        id.push_str(&crate::server::ids::hex16(self.rng.next_u64()));
        id
    }
}

/// Accepts a client's `X-Request-Id` when it is a short token of safe characters.
fn sane_request_id(value: &[u8]) -> Option<std::sync::Arc<str>> {
    let sane = (1..=128).contains(&value.len())
        && value
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    sane.then(|| std::sync::Arc::from(&*String::from_utf8_lossy(value)))
}

pub(super) fn json_reply(status: u16, body: Vec<u8>) -> Reply {
    Reply {
        status,
        headers: Vec::new(),
        body: Some(("application/json", body)),
        close: false,
    }
}

pub(super) fn error_reply(status: u16, error: &RpcError, close: bool) -> Reply {
    let mut reply = json_reply(status, jsonrpc::write_error(None, error, false));
    reply.close = close;
    reply
}

/// An HTTP error with a JSON-RPC error body: -32600 for client errors, -32603 for 5xx.
pub(super) fn simple_error(status: u16, message: &str) -> Reply {
    let code = if status >= 500 {
        ErrorCode::InternalError
    } else {
        ErrorCode::InvalidRequest
    };
    error_reply(status, &RpcError::new(code, message), false)
}

pub(super) fn not_allowed(allow: &str) -> Reply {
    let mut reply = simple_error(405, "Method Not Allowed");
    reply.headers.push(("Allow", allow.to_owned()));
    reply
}

/// The error a reply reports, for its log record.
pub(super) fn reply_error(reply: &Reply) -> Option<RpcError> {
    let (_, body) = reply.body.as_ref()?;
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let message = value["error"]["message"].as_str()?.to_owned();
    let code = match value["error"]["code"].as_i64()? {
        -32700 => ErrorCode::ParseError,
        -32601 => ErrorCode::MethodNotFound,
        -32602 => ErrorCode::InvalidParams,
        -32603 => ErrorCode::InternalError,
        -32005 => ErrorCode::Auth,
        -32006 => ErrorCode::RateLimit,
        -32020 => ErrorCode::HeaderMismatch,
        -32022 => ErrorCode::UnsupportedVersion,
        _ => ErrorCode::InvalidRequest,
    };
    Some(RpcError::new(code, message))
}
