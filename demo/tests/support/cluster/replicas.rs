//! The replicas of a deployment: demo servers started alike (and killed one by one, as a
//! crash would), and what their logs say about which of them served a request, or each
//! request of a session.

use std::collections::BTreeMap;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::http::HttpConnection;
use crate::support::{DemoServer, LOG_DEADLINE};

/// Demo replicas started with the same settings, and what their logs say about who served
/// which request.
pub struct Replicas {
    servers: Vec<DemoServer>,
}

/// Where a request was served: the replica's index and the log line it wrote for it.
pub struct Served {
    pub replica: usize,
    pub line: Value,
}

impl Replicas {
    /// Starts `n` demos on `runtime`, at once, each with `env` and with
    /// `TRUSTED_PROXIES=127.0.0.1` unless `env` sets it: behind nginx, the client is the
    /// one `X-Forwarded-For` names. `ALLOWED_HOSTS` needs no setting: nginx forwards the
    /// `Host` it received without its port (`127.0.0.1`), which a replica bound to loopback
    /// accepts by default.
    pub fn start(n: usize, runtime: &str, env: &[(&str, &str)]) -> Self {
        let mut env = env.to_vec();
        if !env.iter().any(|(name, _)| *name == "TRUSTED_PROXIES") {
            env.push(("TRUSTED_PROXIES", "127.0.0.1"));
        }
        let servers = thread::scope(|scope| {
            let starting: Vec<_> = (0..n)
                .map(|_| scope.spawn(|| DemoServer::start(runtime, &env)))
                .collect();
            starting
                .into_iter()
                .map(|handle| {
                    handle
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        });
        Self { servers }
    }

    /// The replicas, in the order of [`ports`](Self::ports).
    pub fn servers(&self) -> &[DemoServer] {
        &self.servers
    }

    /// The ports the replicas listen on (127.0.0.1).
    pub fn ports(&self) -> Vec<u16> {
        self.servers.iter().map(|server| server.port).collect()
    }

    /// Opens a keep-alive connection to replica `replica` itself, past the load balancer.
    pub fn connect(&self, replica: usize) -> HttpConnection {
        HttpConnection::open(self.servers[replica].port)
            .unwrap_or_else(|e| panic!("connect to replica {replica}: {e}\n{}", self.logs_tail(20)))
    }

    /// For each of `request_ids`, the replica whose log has a line with that `request_id`;
    /// waits up to [`LOG_DEADLINE`] for every id to be logged (lines follow responses).
    pub fn served(&self, request_ids: &[String]) -> Vec<Option<Served>> {
        let started = Instant::now();
        loop {
            let lines: Vec<BTreeMap<String, Value>> = self
                .servers
                .iter()
                .map(|server| lines_by_request_id(&server.logs()))
                .collect();
            let found: Vec<Option<Served>> = request_ids
                .iter()
                .map(|id| {
                    lines.iter().enumerate().find_map(|(replica, by_id)| {
                        by_id.get(id).map(|line| Served {
                            replica,
                            line: line.clone(),
                        })
                    })
                })
                .collect();
            if found.iter().all(Option::is_some) || started.elapsed() > LOG_DEADLINE {
                return found;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Panics unless every replica logged at least one of `request_ids`, and every id was
    /// logged: `what` names the requests in the message.
    pub fn assert_each_served_some(&self, request_ids: &[String], what: &str) {
        let served = self.served(request_ids);
        let by: Vec<Option<usize>> = served.iter().map(|s| s.as_ref().map(|s| s.replica)).collect();
        let unlogged: Vec<&String> = request_ids
            .iter()
            .zip(&by)
            .filter_map(|(id, by)| by.is_none().then_some(id))
            .collect();
        assert!(
            unlogged.is_empty(),
            "{what}: no replica logged {unlogged:?}\n{}",
            self.logs_tail(20)
        );
        let idle: Vec<usize> = (0..self.servers.len())
            .filter(|replica| !by.contains(&Some(*replica)))
            .collect();
        assert!(
            idle.is_empty(),
            "{what}: replicas {idle:?} served none of them (served by: {by:?})\n{}",
            self.logs_tail(20)
        );
    }

    /// For each session that the replicas' request lines name (a `session` and an `http`
    /// field), how many of its requests each replica logged, in the order of
    /// [`servers`](Self::servers).
    pub fn requests_by_session(&self) -> BTreeMap<String, Vec<usize>> {
        let mut counts = BTreeMap::new();
        for (replica, server) in self.servers.iter().enumerate() {
            for line in server.logs().lines() {
                let Ok(line) = serde_json::from_str::<Value>(line) else {
                    continue;
                };
                let (Some(session), true) = (line["session"].as_str(), line["http"].is_string()) else {
                    continue;
                };
                counts
                    .entry(session.to_owned())
                    .or_insert_with(|| vec![0; self.servers.len()])[replica] += 1;
            }
        }
        counts
    }

    /// The requests of `session` per replica, once `done` holds for them or at
    /// [`LOG_DEADLINE`] (lines follow responses).
    pub fn session_requests_once(&self, session: &str, done: impl Fn(&[usize]) -> bool) -> Vec<usize> {
        let started = Instant::now();
        loop {
            let counts = self.requests_by_session().remove(session).unwrap_or_default();
            if done(&counts) || started.elapsed() > LOG_DEADLINE {
                return counts;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The only session the logs name and its requests per replica, once they name one;
    /// panics when they name several, or none within [`LOG_DEADLINE`].
    pub fn only_session(&self) -> (String, Vec<usize>) {
        let started = Instant::now();
        loop {
            let counts = self.requests_by_session();
            assert!(
                counts.len() <= 1,
                "wanted one session in the replicas' logs, got {counts:?}\n{}",
                self.logs_tail(20)
            );
            if let Some(only) = counts.into_iter().next() {
                return only;
            }
            assert!(
                started.elapsed() < LOG_DEADLINE,
                "no session in the replicas' logs within {LOG_DEADLINE:?}\n{}",
                self.logs_tail(20)
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The replica whose log shows the latest `GET /mcp` of `session`: the one that holds
    /// its stream.
    pub fn stream_holder(&self, session: &str) -> Option<usize> {
        let opened = |logs: String| {
            logs.lines()
                .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                .filter(|line| line["session"] == session && line["http"] == "GET /mcp")
                .filter_map(|line| line["timestamp"].as_str().map(String::from))
                .next_back()
        };
        (self.servers.iter().enumerate())
            .filter_map(|(replica, server)| opened(server.logs()).map(|at| (at, replica)))
            .max()
            .map(|(_, replica)| replica)
    }

    /// Panics unless some session's requests were served by at least two replicas; waits up
    /// to [`LOG_DEADLINE`] for the lines that say so. Returns the counts of
    /// [`requests_by_session`](Self::requests_by_session); `what` names the client in the
    /// message, which shows them.
    pub fn assert_a_session_spans_replicas(&self, what: &str) -> BTreeMap<String, Vec<usize>> {
        let spans = |counts: &[usize]| counts.iter().filter(|&&n| n > 0).count() >= 2;
        let started = Instant::now();
        loop {
            let counts = self.requests_by_session();
            if counts.values().any(|c| spans(c)) {
                return counts;
            }
            assert!(
                started.elapsed() < LOG_DEADLINE,
                "{what}: no session was served by two replicas; requests per replica by session: \
                 {counts:?}\n{}",
                self.logs_tail(20)
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills replica `replica` with SIGKILL, as a crash would, and waits for it to exit; its
    /// logs stay readable.
    pub fn kill(&mut self, replica: usize) {
        self.servers[replica].kill();
    }

    /// The last `lines` lines of every replica's log, framed for a failure message.
    pub fn logs_tail(&self, lines: usize) -> String {
        self.servers
            .iter()
            .enumerate()
            .map(|(replica, server)| {
                format!(
                    "replica {replica} (port {}):\n{}",
                    server.port,
                    server.logs_tail(lines)
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The JSON log lines of `logs` by their `request_id` (the first line of each id).
fn lines_by_request_id(logs: &str) -> BTreeMap<String, Value> {
    let mut by_id = BTreeMap::new();
    for line in logs.lines() {
        let Ok(value) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if let Some(id) = value["request_id"].as_str() {
            by_id.entry(id.to_owned()).or_insert(value);
        }
    }
    by_id
}
