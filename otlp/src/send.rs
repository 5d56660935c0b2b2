//! One export over OTLP/HTTP: a POST of protobuf bytes, retried once when the collector
//! asks for patience, within one deadline.

use std::fmt;
use std::thread;
use std::time::{Duration, Instant};

use ureq::Agent;

/// How long to wait before the retry when the collector gives no `Retry-After`.
const BACKOFF: Duration = Duration::from_millis(500);

/// The longest wait before the retry, whatever `Retry-After` asks.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The least time a retry is worth starting with.
const MIN_ATTEMPT: Duration = Duration::from_millis(50);

/// The most of a collector's answer that is read (and dropped) so that the connection can
/// be used again.
const MAX_ANSWER: u64 = 64 * 1024;

/// Posts export requests to one URL with the configured headers.
pub(crate) struct Client {
    agent: Agent,
    url: String,
    headers: Vec<(String, String)>,
}

/// Why an export failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The collector answered with this status.
    Status(u16),
    /// The request did not get an answer (connection, TLS, timeout, bad header).
    Transport(ureq::Error),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Status(status) => write!(f, "the collector answered HTTP {status}"),
            Failure::Transport(err) => write!(f, "{err}"),
        }
    }
}

impl Client {
    /// Makes a client for `url`; the proxy settings come from the environment (`HTTPS_PROXY`,
    /// `HTTP_PROXY`, `NO_PROXY`), as for any HTTP client.
    pub(crate) fn new(url: String, headers: Vec<(String, String)>) -> Self {
        let agent = Agent::config_builder()
            .http_status_as_error(false)
            .user_agent(concat!("rampart-otlp/", env!("CARGO_PKG_VERSION")))
            .max_idle_connections(1)
            .max_idle_connections_per_host(1)
            .build()
            .into();
        Self { agent, url, headers }
    }

    /// Posts `body`, and once more after a short wait when the collector answers 429, 502,
    /// 503 or 504, all before `deadline`.
    pub(crate) fn post(&self, body: &[u8], deadline: Instant) -> Result<(), Failure> {
        let (status, retry_after) = match self.attempt(body, deadline)? {
            Attempt::Done => return Ok(()),
            Attempt::Retry(status, retry_after) => (status, retry_after),
        };
        let backoff = retry_after.unwrap_or(BACKOFF).min(MAX_BACKOFF);
        if Instant::now() + backoff + MIN_ATTEMPT > deadline {
            return Err(Failure::Status(status));
        }
        thread::sleep(backoff);
        match self.attempt(body, deadline)? {
            Attempt::Done => Ok(()),
            Attempt::Retry(status, _) => Err(Failure::Status(status)),
        }
    }

    fn attempt(&self, body: &[u8], deadline: Instant) -> Result<Attempt, Failure> {
        let budget = deadline.saturating_duration_since(Instant::now());
        let mut request = self
            .agent
            .post(&self.url)
            .config()
            .timeout_global(Some(budget))
            .build()
            .header("content-type", "application/x-protobuf");
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        let mut response = request.send(body).map_err(Failure::Transport)?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|value| value.to_str().ok()?.trim().parse().ok())
            .map(Duration::from_secs);
        let _ = response.body_mut().with_config().limit(MAX_ANSWER).read_to_vec();
        match status {
            200..=299 => Ok(Attempt::Done),
            429 | 502 | 503 | 504 => Ok(Attempt::Retry(status, retry_after)),
            _ => Err(Failure::Status(status)),
        }
    }
}

/// What one attempt came to, short of a failure that no retry can help.
enum Attempt {
    Done,
    /// The collector is overloaded or restarting: the status, and how long it asked to wait.
    Retry(u16, Option<Duration>),
}
