//! The settings of serving itself, read by the adapters' loops as much as by the core: how
//! many connections are taken at once, how a shutdown drains, and where logs and metrics go.

use std::net::SocketAddr;
use std::time::Duration;

/// How the server takes connections and how it drains on shutdown.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServingConfig {
    /// Connections served at once (`MAX_CONNECTIONS`); beyond it new ones wait in the
    /// listen backlog until one closes. 0 sets no limit.
    pub max_connections: usize,
    /// How long the listener stays open after a shutdown signal while `/ready` answers 503
    /// (`DRAIN_DELAY`), so that a load balancer stops sending before connections are refused.
    pub drain_delay: Duration,
    /// How long calls still running when the listener closes may go on (`DRAIN_TIMEOUT`);
    /// then they are cancelled with E_TIMEOUT and every stream ends.
    pub drain_timeout: Duration,
    /// A second address that serves only `/metrics`, `/health` and `/ready`
    /// (`METRICS_ADDR`); `None` serves `/metrics` on the main port.
    pub metrics_addr: Option<SocketAddr>,
    /// A bearer token `/metrics` requires (`METRICS_TOKEN`); `None` leaves it open, like
    /// the probes.
    pub metrics_token: Option<String>,
    /// Where log records go (`LOG_OUTPUT=json|tracing|both`); `tracing` needs the
    /// `tracing` feature.
    pub log_output: crate::log::LogOutput,
    /// Shards the HTTP driver splits the server state into (`SHARDS`), each behind a lock of
    /// its own, with every connection of one client address in one shard; 0 takes as many
    /// as the adapter has worker threads, 1 keeps one lock for everything.
    pub shards: usize,
}

impl Default for ServingConfig {
    /// Returns 10 000 connections, no drain delay, a 25 s drain timeout, open metrics on
    /// the main port, and a shard per worker thread.
    fn default() -> Self {
        Self {
            max_connections: 10_000,
            drain_delay: Duration::ZERO,
            drain_timeout: Duration::from_secs(25),
            metrics_addr: None,
            metrics_token: None,
            log_output: crate::log::LogOutput::Json,
            shards: 0,
        }
    }
}

impl ServingConfig {
    /// Applies one environment variable if it is a serving setting: `None` when `name` is
    /// not one, else whether `value` was understood (the `Err` says what was expected).
    pub(crate) fn apply(&mut self, name: &str, value: &str) -> Option<Result<(), &'static str>> {
        let applied = match name {
            "MAX_CONNECTIONS" => value
                .parse()
                .map(|n| self.max_connections = n)
                .map_err(|_| "a number of connections (0 sets no limit)"),
            "DRAIN_DELAY" => parse_duration(value)
                .map(|d| self.drain_delay = d)
                .ok_or(DURATION),
            "DRAIN_TIMEOUT" => parse_duration(value)
                .map(|d| self.drain_timeout = d)
                .ok_or(DURATION),
            "METRICS_ADDR" => match value {
                "" => {
                    self.metrics_addr = None;
                    Ok(())
                }
                addr => addr
                    .parse()
                    .map(|addr| self.metrics_addr = Some(addr))
                    .map_err(|_| "an address such as 0.0.0.0:9090"),
            },
            "LOG_OUTPUT" => {
                use crate::log::LogOutput;
                match value {
                    "json" => Ok(LogOutput::Json),
                    "tracing" if cfg!(feature = "tracing") => Ok(LogOutput::Tracing),
                    "both" if cfg!(feature = "tracing") => Ok(LogOutput::Both),
                    _ if cfg!(feature = "tracing") => Err("json, tracing or both"),
                    _ => Err("json (tracing and both need the `tracing` feature)"),
                }
                .map(|output| self.log_output = output)
            }
            "SHARDS" => value
                .parse()
                .map(|n| self.shards = n)
                .map_err(|_| "a number of shards (0: one per worker thread)"),
            "METRICS_TOKEN" => {
                self.metrics_token = (!value.is_empty()).then(|| value.to_owned());
                Ok(())
            }
            _ => return None,
        };
        Some(applied)
    }
}

/// What a duration setting must hold.
const DURATION: &str = "a duration in seconds (5, 2.5) or with a unit (500ms, 5s)";

/// Parses `5`, `2.5`, `5s` or `500ms`.
pub(crate) fn parse_duration(value: &str) -> Option<Duration> {
    let (number, scale) = match value.strip_suffix("ms") {
        Some(ms) => (ms, 1e-3),
        None => (value.strip_suffix('s').unwrap_or(value), 1.0),
    };
    let seconds = number.trim().parse::<f64>().ok()? * scale;
    (0.0..1e9)
        .contains(&seconds)
        .then(|| Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_seconds_or_units() {
        assert_eq!(parse_duration("5"), Some(Duration::from_secs(5)));
        assert_eq!(parse_duration("2.5"), Some(Duration::from_millis(2500)));
        assert_eq!(parse_duration("5s"), Some(Duration::from_secs(5)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("0"), Some(Duration::ZERO));
        for bad in ["", "-1", "five", "NaN", "inf", "1e12", "5m"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn settings_apply_and_refuse() {
        let mut config = ServingConfig::default();
        assert_eq!(config.apply("MAX_CONNECTIONS", "64"), Some(Ok(())));
        assert_eq!(config.apply("DRAIN_DELAY", "5s"), Some(Ok(())));
        assert_eq!(config.apply("DRAIN_TIMEOUT", "1.5"), Some(Ok(())));
        assert_eq!(config.apply("METRICS_ADDR", "127.0.0.1:9090"), Some(Ok(())));
        assert_eq!(config.apply("METRICS_TOKEN", "s3cret"), Some(Ok(())));
        assert_eq!(config.apply("SHARDS", "4"), Some(Ok(())));
        assert_eq!(config.shards, 4);
        assert!(matches!(config.apply("SHARDS", "-1"), Some(Err(_))));
        assert_eq!(config.max_connections, 64);
        assert_eq!(config.drain_delay, Duration::from_secs(5));
        assert_eq!(config.drain_timeout, Duration::from_millis(1500));
        assert_eq!(config.metrics_addr, Some("127.0.0.1:9090".parse().unwrap()));
        assert_eq!(config.metrics_token.as_deref(), Some("s3cret"));
        assert!(matches!(config.apply("MAX_CONNECTIONS", "many"), Some(Err(_))));
        assert!(matches!(config.apply("METRICS_ADDR", "nowhere"), Some(Err(_))));
        assert_eq!(config.apply("PORT", "1"), None);
    }
}
