//! Routing one request head: the guard and rate limit first, then the endpoint by path and
//! method. An answer given before the body skips the body, or closes when it cannot.

use super::guard::Gate;
use super::metrics::Route;
use super::reply::{Reply, not_allowed, reply_error, simple_error};
use super::{Ctx, Exchange, Server, VersionHeader};
use crate::framing::http1::{BodyFraming, Head};
use crate::mcp::ProtocolVersion;
use crate::mcp::modern::Headers;
use crate::server::ConnectionId;
use crate::time::Now;

/// Methods the MCP endpoint answers.
pub(super) const ALLOW_METHODS: &str = "GET, POST, DELETE, OPTIONS";

impl Server {
    pub(super) fn http_head(&mut self, connection: ConnectionId, head: Head, now: Now) {
        let method = head.method();
        let path = request_path(head.target());
        let line = if method == "POST" && path == self.config.mcp_path {
            std::sync::Arc::clone(&self.post_line)
        } else {
            [method, " ", path].concat().into()
        };
        let mut ctx = self.ctx_with_line(head.header("x-request-id"), head.minor_version, line, now);
        // The last request a connection may carry is answered with `Connection: close`, so
        // that the client does not send another on it.
        let max = self.config.max_requests_per_connection;
        let last = (self.http_mut(connection)).is_some_and(|http| http.served.saturating_add(1) >= max);
        ctx.keep_alive = head.keep_alive && !self.stopping && !last;
        ctx.session = head
            .header("mcp-session-id")
            .map(|id| String::from_utf8_lossy(id).into_owned());
        let header = head.header("mcp-protocol-version");
        let version = header.map(|v| {
            std::str::from_utf8(v)
                .ok()
                .and_then(ProtocolVersion::parse)
                .filter(|v| !v.is_modern())
        });
        ctx.version_header = match (header, version) {
            (None, _) => None,
            (Some(_), Some(Some(version))) => {
                ctx.version = version;
                Some(VersionHeader::Legacy)
            }
            (Some(raw), _) => Some(VersionHeader::Other(raw.into())),
        };
        if path == self.config.mcp_path && method == "POST" {
            ctx.mcp_headers = Headers::collect(head.fields()).map(Box::new);
            if self.config.trace.is_enabled() {
                ctx.trace = header_trace(&head);
            }
        }
        match self.rate_limit(connection, &head, path, &mut ctx, now) {
            Gate::Asked => {
                // The shared store decides; the head waits in its connection for the answer.
                if let Some(http) = self.http_mut(connection) {
                    http.exchange = Exchange::Admit(Box::new((head, ctx)));
                }
            }
            Gate::Pass => self.route_head(connection, head, ctx, None, now),
            Gate::Refuse(reply) => self.route_head(connection, head, ctx, Some(reply), now),
        }
    }

    /// Answers a request head once its rate limit is decided (`limited` is the refusal, if
    /// any): the guard, then the endpoint by path and method.
    pub(super) fn route_head(
        &mut self,
        connection: ConnectionId,
        head: Head,
        ctx: Ctx,
        limited: Option<Reply>,
        now: Now,
    ) {
        let mut ctx = ctx;
        let method = head.method();
        let path = request_path(head.target());
        let is_mcp = path == self.config.mcp_path;
        if is_mcp && limited.is_none() && self.store.is_asked() {
            // A session another replica made is loaded before anything else looks for it, and
            // so are the events a client resuming a stream missed, wherever they were kept.
            if method != "OPTIONS"
                && let Some(id) = self.session_to_load(&ctx)
            {
                return self.park_for_session(connection, head, ctx, &id, now);
            }
            if let Some(session) = self.events_to_load(method, &head, &ctx) {
                return self.park_for_events(connection, head, ctx, session, now);
            }
        }
        let has_body = head.body != BodyFraming::None;
        let reply = match limited.map_or_else(|| self.check_peer(connection, &head, &mut ctx), Err) {
            Err(reply) => Some(reply),
            // A metrics port serves nothing else, and `/metrics` is served only there.
            Ok(())
                if (path == "/metrics" || self.config.serving.metrics_addr.is_some())
                    && self.metrics_route(connection, path) == Route::NotHere =>
            {
                Some(simple_error(404, "Not Found"))
            }
            Ok(()) if is_mcp && method != "OPTIONS" && ctx.session.is_some() && unknown_version(&ctx) => {
                Some(unsupported_version())
            }
            Ok(()) if method == "OPTIONS" => Some(self.preflight(&ctx)),
            Ok(()) if self.is_metadata_path(path) => Some(self.metadata_reply(&head)),
            Ok(()) if is_mcp && self.config.auth.is_some() => {
                match self.authenticate(connection, &head, &mut ctx, now) {
                    Some(reply) => Some(reply),
                    None => self.route_mcp(connection, &head, &ctx, has_body, now),
                }
            }
            Ok(()) if path == "/metrics" && method == "GET" => Some(self.metrics_reply(&head, now)),
            Ok(()) if path == "/metrics" => Some(not_allowed("GET, OPTIONS")),
            Ok(()) if path == "/health" && method == "GET" => Some(self.health(now)),
            Ok(()) if path == "/ready" && method == "GET" => Some(self.ready_reply(now)),
            Ok(()) if path == "/health" || path == "/ready" => Some(not_allowed("GET, OPTIONS")),
            Ok(()) if is_mcp => self.route_mcp(connection, &head, &ctx, has_body, now),
            Ok(()) => Some(simple_error(404, "Not Found")),
        };
        let Some(mut reply) = reply else {
            if let Some(http) = self.http_mut(connection)
                && std::mem::take(&mut http.await_body)
            {
                http.exchange = Exchange::Body(Box::new(ctx));
            }
            return;
        };
        // An answer given before the body: skip the body, or close when it cannot be skipped
        // or may never come (a client waiting for 100-continue sends none).
        if has_body && !reply.close {
            reply.close = head.expect_continue;
            if let Some(http) = self.http_mut(connection)
                && !reply.close
            {
                http.skipping = http.decoder.skip_body();
                reply.close = !http.skipping;
            }
        }
        let error = reply_error(&reply);
        self.send_reply(connection, &ctx, reply, error, now);
    }

    /// Routes a request to the MCP endpoint by method.
    fn route_mcp(
        &mut self,
        connection: ConnectionId,
        head: &Head,
        ctx: &Ctx,
        has_body: bool,
        now: Now,
    ) -> Option<Reply> {
        let modern = matches!(ctx.version_header, Some(VersionHeader::Other(_)));
        match head.method() {
            "POST" => self.post_head(connection, head, has_body),
            // 2026-07-28 has no session: no stream of its own to open, nothing to delete.
            "GET" | "DELETE" if modern => Some(not_allowed("POST, OPTIONS")),
            "GET" => self.open_stream(connection, head, ctx, now),
            "DELETE" => Some(self.delete_session(ctx, now)),
            _ => Some(not_allowed(ALLOW_METHODS)),
        }
    }
}

/// Reads the W3C `traceparent` and `tracestate` headers; a malformed `traceparent` is
/// dropped with its state.
fn header_trace(head: &Head) -> Option<crate::mcp::modern::Trace> {
    let parent = std::str::from_utf8(head.header("traceparent")?).ok()?;
    crate::trace::Parent::parse(parent)?;
    let state = head
        .header("tracestate")
        .filter(|state| state.len() <= 512 && state.iter().all(|b| (0x20..0x7f).contains(b)))
        .and_then(|state| std::str::from_utf8(state).ok());
    Some(crate::mcp::modern::Trace {
        parent: parent.to_owned(),
        state: state.map(str::to_owned),
    })
}

/// Returns whether the request names a revision the server does not know at all.
fn unknown_version(ctx: &Ctx) -> bool {
    matches!(&ctx.version_header, Some(VersionHeader::Other(raw))
        if std::str::from_utf8(raw).ok().and_then(ProtocolVersion::parse).is_none())
}

/// 400 for an `MCP-Protocol-Version` the server does not speak, naming those it does.
fn unsupported_version() -> Reply {
    let supported: Vec<&str> = ProtocolVersion::LEGACY.iter().map(|v| v.as_str()).collect();
    let message = format!(
        "Bad Request: Unsupported protocol version (supported versions: {})",
        supported.join(", ")
    );
    simple_error(400, &message)
}

/// The path of a request target, without its query (absolute-form targets included).
pub(super) fn request_path(target: &str) -> &str {
    // Origin form, as every client sends it, has nothing to strip before the path.
    let target = if target.starts_with('/') {
        target
    } else {
        match target.split_once("://") {
            Some((_, rest)) => rest.find('/').map_or("/", |slash| &rest[slash..]),
            None => target,
        }
    };
    target.split(['?', '#']).next().unwrap_or(target)
}
