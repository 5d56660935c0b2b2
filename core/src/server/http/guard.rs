//! The checks every request passes before anything else: the client's rate limit, the
//! `Host` (DNS rebinding) and `Origin` checks, and CORS preflight.

use std::net::{IpAddr, Ipv4Addr};

use super::reply::{Reply, error_reply, simple_error};
use super::route::ALLOW_METHODS;
use super::{Ctx, Server};
use crate::config::{Hosts, Origins};
use crate::error::{ErrorCode, RpcError};
use crate::framing::http1::Head;
use crate::rate_limit::{ClientKey, client_ip, forwarded_hosts};
use crate::server::ConnectionId;
use crate::time::Now;

/// Headers a browser may send on CORS requests to the MCP endpoint.
const ALLOW_HEADERS: &str =
    "Content-Type, Accept, Authorization, Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID, X-Request-Id";

impl Server {
    /// Counts the request against its client's bucket, before anything else is read; returns
    /// the 429 to send when the bucket is empty.
    pub(super) fn rate_limit(
        &mut self,
        connection: ConnectionId,
        head: &Head,
        path: &str,
        ctx: &mut Ctx,
        now: Now,
    ) -> Option<Reply> {
        if self.config.rate_limit == 0 || self.config.rate_limit_exempt.iter().any(|exempt| exempt == path) {
            return None;
        }
        let conn = self.connections.get_mut(&connection)?;
        let peer = conn.peer.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let values = |name: &'static str| -> Vec<&[u8]> { head.values(name).collect() };
        let ip = client_ip(
            peer,
            &values("x-forwarded-for"),
            &values("forwarded"),
            &self.config.trusted_proxies,
        );
        conn.client_key = ClientKey::from_ip(ip);
        let decision = self.limiter.check(conn.client_key, now.instant);
        ctx.rate = Some(decision);
        if decision.allowed {
            return None;
        }
        let error = RpcError::new(ErrorCode::RateLimit, "Too many requests");
        let mut reply = error_reply(429, &error, false);
        let retry_after = decision.retry_after_secs().unwrap_or(1);
        reply.headers.push(("Retry-After", retry_after.to_string()));
        Some(reply)
    }

    /// Checks `Host` (DNS rebinding) and `Origin`; fills in the CORS origin to echo. Behind a
    /// trusted proxy, the `Host` it says it received is checked in place of its own.
    pub(super) fn check_peer(
        &self,
        connection: ConnectionId,
        head: &Head,
        ctx: &mut Ctx,
    ) -> Result<(), Reply> {
        let peer = self.connections.get(&connection).and_then(|conn| conn.peer);
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
        let host_ok = if forwarded.is_empty() {
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
