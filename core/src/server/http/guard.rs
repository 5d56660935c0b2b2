//! The checks every request passes before anything else: the client's rate limit (here, or
//! in the shared store while the head waits), the `Host` (DNS rebinding) and `Origin`
//! checks, and CORS preflight.

use std::net::{IpAddr, Ipv4Addr};

use super::reply::{Reply, error_reply, simple_error};
use super::route::ALLOW_METHODS;
use super::{Ctx, Server};
use crate::config::{Hosts, Origins};
use crate::error::{ErrorCode, RpcError};
use crate::framing::http1::Head;
use crate::rate_limit::{ClientKey, Decision, client_ip, forwarded_hosts};
use crate::server::ConnectionId;
use crate::server::store::{Limit, Waiter};
use crate::time::Now;

/// What the rate limit says of a request head.
pub(super) enum Gate {
    /// Go on.
    Pass,
    /// Answer this (429, or 503 while the shared store fails with `RATE_LIMIT_FAILURE=closed`).
    Refuse(Reply),
    /// The shared store was asked; the head waits for its answer.
    Asked,
}

/// Turns a decided limit into the gate, noting the decision for the `RateLimit` headers.
fn gate(limit: Limit, ctx: &mut Ctx) -> Gate {
    match limit {
        Limit::Decided(decision) => {
            ctx.rate = Some(decision);
            if decision.allowed {
                return Gate::Pass;
            }
            let error = RpcError::new(ErrorCode::RateLimit, "Too many requests");
            let mut reply = error_reply(429, &error, false);
            let retry_after = decision.retry_after_secs().unwrap_or(1);
            reply.headers.push(("Retry-After", retry_after.to_string()));
            Gate::Refuse(reply)
        }
        Limit::Unavailable => {
            let error = store_unavailable();
            let mut reply = error_reply(503, &error, false);
            reply.headers.push(("Retry-After", "1".to_owned()));
            Gate::Refuse(reply)
        }
    }
}

/// Returns whether `path` is one of the probes.
fn is_probe(path: &str) -> bool {
    path == "/health" || path == "/ready"
}

/// The error of a request refused because the shared store fails and limits fail closed.
pub(crate) fn store_unavailable() -> RpcError {
    RpcError::new(
        ErrorCode::InternalError,
        "Service Unavailable: the rate-limit store is unreachable",
    )
}

/// Headers a browser may send on CORS requests to the MCP endpoint.
const ALLOW_HEADERS: &str =
    "Content-Type, Accept, Authorization, Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID, X-Request-Id";

impl Server {
    /// Finds who the client is (behind trusted proxies, the address they forwarded for) and
    /// counts the request against its bucket, before anything else is read: here, or in the
    /// shared store, whose answer comes back through [`http_admitted`](Self::http_admitted).
    pub(super) fn rate_limit(
        &mut self,
        connection: ConnectionId,
        head: &Head,
        path: &str,
        ctx: &mut Ctx,
        now: Now,
    ) -> Gate {
        let limited =
            self.config.rate_limit > 0 && !self.config.rate_limit_exempt.iter().any(|exempt| exempt == path);
        if !limited && self.config.trusted_proxies.is_empty() {
            return Gate::Pass;
        }
        let Some(conn) = self.connections.get_mut(&connection) else {
            return Gate::Pass;
        };
        let peer = conn.peer.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let trusted = &self.config.trusted_proxies;
        let ip = if trusted.is_empty() {
            // No proxy is trusted: what the forwarding headers say counts for nothing.
            client_ip(peer, &[], &[], trusted)
        } else {
            let values = |name: &'static str| -> Vec<&[u8]> { head.values(name).collect() };
            client_ip(peer, &values("x-forwarded-for"), &values("forwarded"), trusted)
        };
        conn.forwarded_for = (ip != peer).then_some(ip);
        if !limited {
            return Gate::Pass;
        }
        let key = ClientKey::from_ip(ip);
        conn.client_key = key;
        if self.store.is_asked() {
            let op = Self::take_op(format!("rl:c:{key}"), self.config.rate_limit);
            self.ask_store(op, Waiter::Head(connection), now);
            return Gate::Asked;
        }
        let limit = self.limit_here(key, is_probe(path), now);
        gate(limit, ctx)
    }

    /// The shared store decided a parked head's rate limit (`None`: it failed): answer the
    /// head, then go on with the connection.
    pub(in crate::server) fn http_admitted(
        &mut self,
        connection: ConnectionId,
        decision: Option<Decision>,
        now: Now,
    ) {
        let Some((head, mut ctx)) = self.unpark(connection) else {
            return;
        };
        let limit = match decision {
            Some(decision) => Limit::Decided(decision),
            None => {
                let key = self.connections.get(&connection).map(|conn| conn.client_key);
                let probe = is_probe(super::route::request_path(head.target()));
                self.limit_here(key.unwrap_or(ClientKey::V4([0; 4])), probe, now)
            }
        };
        let refusal = match gate(limit, &mut ctx) {
            Gate::Refuse(reply) => Some(reply),
            Gate::Pass | Gate::Asked => None,
        };
        self.resume_head(connection, head, ctx, refusal, now);
    }

    /// Decides a client's limit in this process: with its own limiter when there is no
    /// shared store, and as `RATE_LIMIT_FAILURE` says while the store fails, except for the
    /// probes, which a failing store never refuses (liveness must not depend on it, and
    /// `/ready` reports it).
    fn limit_here(&mut self, key: ClientKey, probe: bool, now: Now) -> Limit {
        let check = |server: &mut Self| server.limiter.check(key, now.instant);
        if !self.config.store.is_shared() {
            return Limit::Decided(check(self));
        }
        match self.limit_locally(check) {
            Limit::Unavailable if probe => Limit::Decided(check(self)),
            limit => limit,
        }
    }

    /// Checks `Host` (DNS rebinding) and `Origin`; fills in the CORS origin to echo. Behind a
    /// trusted proxy, the `Host` it says it received is checked in place of its own.
    pub(super) fn check_peer(
        &self,
        connection: ConnectionId,
        head: &Head,
        ctx: &mut Ctx,
    ) -> Result<(), Reply> {
        let conn = self.connections.get(&connection);
        let peer = conn.and_then(|conn| conn.peer);
        // Scrapers address a metrics port by the pod's IP: it does not check Host (it serves
        // no page a browser could be tricked into, and METRICS_TOKEN guards it).
        let metrics_only = conn.is_some_and(|conn| conn.metrics_only);
        let forwarded = match peer {
            Some(peer) if !self.config.trusted_proxies.is_empty() => {
                let values = |name: &'static str| -> Vec<&[u8]> { head.values(name).collect() };
                forwarded_hosts(
                    peer,
                    &values("x-forwarded-host"),
                    &values("forwarded"),
                    &self.config.trusted_proxies,
                )
            }
            _ => Vec::new(),
        };
        let host_ok = if metrics_only {
            true
        } else if forwarded.is_empty() {
            match head.header("host").and_then(|h| std::str::from_utf8(h).ok()) {
                Some(host) => self.config.allowed_hosts.allows(host),
                None => self.config.allowed_hosts == Hosts::Any,
            }
        } else {
            forwarded
                .iter()
                .all(|host| self.config.allowed_hosts.allows(host))
        };
        if let Some(origin) = head.header("origin") {
            let origin = String::from_utf8_lossy(origin).into_owned();
            if !self.config.allowed_origins.allows(&origin) {
                return Err(simple_error(403, "Forbidden: Origin not allowed"));
            }
            ctx.cors = Some(match self.config.allowed_origins {
                Origins::Any => "*".into(),
                Origins::List(_) => origin,
            });
        }
        if !host_ok {
            return Err(simple_error(403, "Forbidden: Host not allowed"));
        }
        Ok(())
    }

    /// Answers a CORS preflight: the methods and headers the endpoint takes, to an allowed
    /// origin only.
    pub(super) fn preflight(&self, ctx: &Ctx) -> Reply {
        let mut reply = Reply::empty(204);
        if ctx.cors.is_some() {
            reply.headers = vec![
                ("Access-Control-Allow-Methods", ALLOW_METHODS.to_owned()),
                ("Access-Control-Allow-Headers", ALLOW_HEADERS.to_owned()),
                ("Access-Control-Max-Age", "86400".to_owned()),
            ];
        }
        reply
    }
}
