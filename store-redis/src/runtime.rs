//! The async runtime a store runs on, chosen where it is created as Redis chooses it: tokio
//! inside a tokio runtime, smol anywhere else.

use std::future::Future;
use std::time::Duration;

use rampart_core::store::StoreError;

/// The runtime a store was created in: its timers, and where its background task runs.
#[derive(Debug, Clone)]
pub(crate) enum Runtime {
    /// The tokio runtime the store was created in.
    Tokio(tokio::runtime::Handle),
    /// smol's global executor.
    Smol,
}

impl Runtime {
    /// Returns the current tokio runtime, else smol.
    pub(crate) fn locate() -> Self {
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => Self::Tokio(handle),
            Err(_) => Self::Smol,
        }
    }

    /// Runs `work`, or fails once `limit` has passed.
    pub(crate) async fn within<T>(
        &self,
        limit: Duration,
        work: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let late = || {
            StoreError::new(format!(
                "no answer from Redis within {} ms (unreachable or slow)",
                limit.as_millis()
            ))
        };
        match self {
            Self::Tokio(_) => tokio::time::timeout(limit, work)
                .await
                .unwrap_or_else(|_| Err(late())),
            Self::Smol => {
                let timer = async {
                    smol::Timer::after(limit).await;
                    Err(late())
                };
                smol::future::or(work, timer).await
            }
        }
    }

    /// Waits for `duration`.
    pub(crate) async fn sleep(&self, duration: Duration) {
        match self {
            Self::Tokio(_) => tokio::time::sleep(duration).await,
            Self::Smol => {
                smol::Timer::after(duration).await;
            }
        }
    }

    /// Runs `task` in the background until it ends.
    pub(crate) fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        match self {
            Self::Tokio(handle) => drop(handle.spawn(task)),
            Self::Smol => smol::spawn(task).detach(),
        }
    }
}
