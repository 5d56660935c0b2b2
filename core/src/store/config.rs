//! The store's settings: where it is, how long a request may take, and what a failing store
//! means for rate limits.

use std::time::Duration;

/// What rate limits do while the shared store fails (`RATE_LIMIT_FAILURE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StoreFailure {
    /// Each replica limits on its own (`open`, the default): a WARNING is logged, the
    /// fallbacks are counted, and the global limit is at most the limit times the replicas.
    #[default]
    Open,
    /// Requests are refused with 503 (`closed`), and `/ready` fails, until the store answers.
    Closed,
}

/// Where the shared store is and how it is used.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreConfig {
    /// The store's address (`REDIS_URL`); `None` keeps all state in this process.
    pub url: Option<String>,
    /// How long a store request may take before it counts as failed (`STORE_TIMEOUT_MS`).
    pub timeout: Duration,
    /// What rate limits do while the store fails (`RATE_LIMIT_FAILURE`).
    pub failure: StoreFailure,
    /// Time between probes of a failing store.
    pub probe_interval: Duration,
    /// Requests nothing waits for (saving, renewing, publishing, keeping events) that may be
    /// out at once; past it they are dropped and counted, so a stalled store never holds
    /// more than this many.
    pub max_unanswered: usize,
}

impl Default for StoreConfig {
    /// Returns no store, a 250 ms deadline, `open`, a probe a second, and 10 000 requests
    /// nothing waits for.
    fn default() -> Self {
        Self {
            url: None,
            timeout: Duration::from_millis(250),
            failure: StoreFailure::Open,
            probe_interval: Duration::from_secs(1),
            max_unanswered: 10_000,
        }
    }
}

impl StoreConfig {
    /// Returns whether a shared store is configured.
    pub fn is_shared(&self) -> bool {
        self.url.is_some()
    }

    /// Applies one environment variable if it is a store setting: `None` when `name` is not
    /// one, else whether `value` was understood (the `Err` says what was expected).
    pub(crate) fn apply(&mut self, name: &str, value: &str) -> Option<Result<(), &'static str>> {
        let applied = match name {
            "REDIS_URL" => {
                self.url = (!value.is_empty()).then(|| value.to_owned());
                Ok(())
            }
            "STORE_TIMEOUT_MS" => match value.parse::<u64>() {
                Ok(ms) if ms > 0 => {
                    self.timeout = Duration::from_millis(ms);
                    Ok(())
                }
                _ => Err("a positive number of milliseconds"),
            },
            "RATE_LIMIT_FAILURE" => match value {
                "open" => {
                    self.failure = StoreFailure::Open;
                    Ok(())
                }
                "closed" => {
                    self.failure = StoreFailure::Closed;
                    Ok(())
                }
                _ => Err("open or closed"),
            },
            _ => return None,
        };
        Some(applied)
    }
}
