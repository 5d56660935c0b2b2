//! Replicas as they run in production: a real `redis-server` they share state through
//! ([`redis`]), a real nginx that spreads requests over them round-robin with no sticky
//! sessions ([`nginx`]), and the demo replicas themselves ([`replicas`]); plus an HTTP/1.1
//! client that keeps its connection alive, as a client of a load balancer does ([`http`]),
//! and reads an SSE stream as it arrives ([`sse`]).
//!
//! This module owns the [`Cluster`] that puts them together, and the capture of the output
//! of the processes it starts. Every process is killed on drop, and every wait has a
//! deadline. `redis-server` and `nginx` come from `bash scripts/test.sh`, which installs
//! them when it runs as root.

mod http;
mod nginx;
mod redis;
mod replicas;
mod sse;

use std::io::Read;
use std::sync::{Arc, Mutex};
use std::thread;

// Each test binary uses a different part of the cluster, so some re-exports go unused in each.
#[allow(unused_imports)]
pub use self::{
    http::{HttpConnection, HttpResponse, IO_DEADLINE, http_request},
    nginx::Nginx,
    redis::RedisServer,
    replicas::{Replicas, Served},
    sse::{EventStream, SseEvent},
};

/// What to tell the reader when `redis-server` or `nginx` is missing.
pub const INSTALL_HINT: &str =
    "run `bash scripts/test.sh` from the repository root (as root it installs redis-server and nginx)";

/// Replicas behind nginx: what the client of a replicated deployment talks to.
pub struct Cluster {
    /// Declared first, so that it goes first on drop.
    pub nginx: Nginx,
    pub replicas: Replicas,
}

impl Cluster {
    /// Starts `n` replicas on `runtime` with `env` (see [`Replicas::start`]) and nginx in
    /// front of them.
    pub fn start(n: usize, runtime: &str, env: &[(&str, &str)]) -> Self {
        let replicas = Replicas::start(n, runtime, env);
        let nginx = Nginx::start(&replicas.ports());
        Self { nginx, replicas }
    }

    /// Opens a keep-alive connection to nginx.
    pub fn connect(&self) -> HttpConnection {
        HttpConnection::open(self.nginx.port())
            .unwrap_or_else(|e| panic!("connect to nginx: {e}\n{}", self.nginx.output_tail()))
    }
}

/// Appends everything `pipe` yields to `sink`, on a thread of its own.
fn capture(pipe: Option<impl Read + Send + 'static>, sink: &Arc<Mutex<Vec<u8>>>) {
    let Some(mut pipe) = pipe else {
        return;
    };
    let sink = Arc::clone(sink);
    thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n @ 1..) = pipe.read(&mut buf) {
            sink.lock().expect("output buffer").extend_from_slice(&buf[..n]);
        }
    });
}

/// The last `lines` lines of a captured output.
fn tail(output: &Mutex<Vec<u8>>, lines: usize) -> String {
    let text = String::from_utf8_lossy(&output.lock().expect("output buffer")).into_owned();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
