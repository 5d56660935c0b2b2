//! The probes: `GET /health` (liveness) and `GET /ready` (readiness, 503 while a check fails
//! or the server drains).

use serde_json::json;

use super::Server;
use super::reply::{Reply, json_reply};
use crate::time::Now;

impl Server {
    pub(super) fn health(&self, now: Now) -> Reply {
        let uptime = now.instant.saturating_duration_since(self.started).as_secs();
        let body = json!({"status": "alive", "uptime_seconds": uptime, "timestamp": now.rfc3339()});
        json_reply(200, body.to_string().into_bytes())
    }

    pub(super) fn ready_reply(&self, now: Now) -> Reply {
        let mut checks = serde_json::Map::new();
        checks.insert("tools".into(), json!("ok"));
        for (name, check) in &self.checks {
            checks.insert(
                name.clone(),
                json!(if check.is_healthy() { "ok" } else { "failing" }),
            );
        }
        if let Some(store) = self.store.readiness() {
            checks.insert("store".into(), json!(store));
        }
        let ready = self.is_ready();
        let status = if self.draining {
            "draining"
        } else if ready {
            "ok"
        } else {
            "unavailable"
        };
        let body = json!({"status": status, "checks": checks, "timestamp": now.rfc3339()});
        json_reply(if ready { 200 } else { 503 }, body.to_string().into_bytes())
    }
}
