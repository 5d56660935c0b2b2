//! `GET /metrics`: the Prometheus exposition, open like the probes or behind a bearer
//! token (`METRICS_TOKEN`), on the main port or only on `METRICS_ADDR`'s connections.

use subtle::ConstantTimeEq;

use super::Server;
use super::reply::{Reply, simple_error};
use crate::framing::http1::Head;
use crate::metrics::{CONTENT_TYPE, Snapshot};
use crate::server::ConnectionId;
use crate::time::Now;

impl Server {
    /// Returns every metric in the Prometheus text format (version 0.0.4), as `GET /metrics`
    /// answers; for embedders that expose metrics their own way.
    pub fn metrics_text(&self, now: Now) -> String {
        self.metrics.render(&Snapshot {
            stats: self.stats(),
            ready: self.is_ready(),
            draining: self.draining,
            uptime_seconds: now.instant.saturating_duration_since(self.started).as_secs_f64(),
            server_name: &self.config.server_name,
            server_version: &self.config.server_version,
        })
    }

    /// Serves only `/metrics`, `/health` and `/ready` on `connection` (one accepted on
    /// `METRICS_ADDR`'s listener); other paths get 404.
    pub fn serve_metrics_only(&mut self, connection: ConnectionId) {
        if let Some(conn) = self.connections.get_mut(&connection) {
            conn.metrics_only = true;
        }
    }

    /// Returns whether the request may see the metrics: on the metrics port when there is
    /// one, with the token when one is set.
    pub(super) fn metrics_reply(&self, head: &Head, now: Now) -> Reply {
        if let Some(token) = &self.config.serving.metrics_token {
            let given = head
                .header("authorization")
                .and_then(|value| value.strip_prefix(b"Bearer "))
                .unwrap_or_default();
            if !bool::from(given.ct_eq(token.as_bytes())) {
                let mut reply = simple_error(401, "Unauthorized: /metrics needs its bearer token");
                reply
                    .headers
                    .push(("WWW-Authenticate", "Bearer realm=\"metrics\"".to_owned()));
                return reply;
            }
        }
        let mut reply = Reply::empty(200);
        reply.body = Some((CONTENT_TYPE, self.metrics_text(now).into_bytes()));
        reply
    }

    /// Returns whether `path` is served on `connection`: a metrics-only connection serves
    /// the probes and `/metrics`, and with a metrics port the main one does not serve
    /// `/metrics`.
    pub(super) fn metrics_route(&self, connection: ConnectionId, path: &str) -> Route {
        let metrics_only = self
            .connections
            .get(&connection)
            .is_some_and(|conn| conn.metrics_only);
        match (path, metrics_only) {
            ("/metrics", true) => Route::Metrics,
            ("/metrics", false) if self.config.serving.metrics_addr.is_none() => Route::Metrics,
            ("/health" | "/ready", _) => Route::Other,
            (_, true) | ("/metrics", false) => Route::NotHere,
            _ => Route::Other,
        }
    }
}

/// Where the metrics rules send a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Route {
    /// `GET /metrics` is answered here.
    Metrics,
    /// Not on this connection: 404.
    NotHere,
    /// Routed as any other request.
    Other,
}
