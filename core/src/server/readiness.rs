//! Readiness checks the embedding code flips, which `GET /ready` reports.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A readiness check the embedding code flips; `GET /ready` answers 503 while one fails.
#[derive(Debug, Clone)]
pub struct ReadinessCheck(Arc<AtomicBool>);

impl ReadinessCheck {
    /// Creates a check, healthy or failing; register it with
    /// [`Server::add_readiness_check`](crate::Server::add_readiness_check).
    pub fn new(healthy: bool) -> Self {
        Self(Arc::new(AtomicBool::new(healthy)))
    }

    /// Marks the dependency healthy or failing.
    pub fn set(&self, healthy: bool) {
        self.0.store(healthy, Ordering::Relaxed);
    }

    /// Returns whether the dependency is healthy.
    pub fn is_healthy(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}
