//! The Redis half of a replicated deployment: a real `redis-server` on a loopback port that
//! the replicas share rate limits, sessions and stream events through, and that a test may
//! stop and restart on the same port as an outage would.

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::http::connect;
use super::{INSTALL_HINT, capture, tail};
use crate::support::{STARTUP_DEADLINE, free_port};

/// A real `redis-server` on a loopback port that persists nothing; killed on drop.
pub struct RedisServer {
    port: u16,
    child: Option<Child>,
    output: Arc<Mutex<Vec<u8>>>,
}

impl RedisServer {
    /// Starts `redis-server` on a free loopback port and waits until it answers `PING`.
    /// Panics with [`INSTALL_HINT`] when it is not installed.
    pub fn start() -> Self {
        let mut redis = Self {
            port: free_port(),
            child: None,
            output: Arc::default(),
        };
        redis.restart();
        redis
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The replicas' `REDIS_URL`: `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Returns whether the server answers `PING` now.
    pub fn answers_ping(&self) -> bool {
        ping(self.port).is_ok()
    }

    /// Kills the server, as a crash would (its clients' connections are cut), and waits for
    /// it to exit. Does nothing when it is stopped already.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port (stopping it first if it runs), empty, and
    /// waits until it answers `PING`.
    pub fn restart(&mut self) {
        self.stop();
        let port = self.port.to_string();
        let mut child = Command::new("redis-server")
            .args(["--port", &port, "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("FAIL: cannot start redis-server: {e}; {INSTALL_HINT}"));
        capture(child.stdout.take(), &self.output);
        capture(child.stderr.take(), &self.output);
        self.child = Some(child);
        let started = Instant::now();
        let mut last = String::from("no attempt yet");
        while started.elapsed() < STARTUP_DEADLINE {
            let exited = self
                .child
                .as_mut()
                .and_then(|child| child.try_wait().expect("poll redis-server"));
            if let Some(status) = exited {
                thread::sleep(Duration::from_millis(100));
                panic!(
                    "redis-server on port {port} exited with {status} before answering PING\n{}",
                    self.output_tail()
                );
            }
            match ping(self.port) {
                Ok(()) => return,
                Err(err) => last = err,
            }
            thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "redis-server on port {port} did not answer PING within {STARTUP_DEADLINE:?} (last: {last})\n{}",
            self.output_tail()
        );
    }

    /// What the server wrote so far, framed for a failure message.
    pub fn output_tail(&self) -> String {
        format!(
            "--- redis-server output ---\n{}\n--- end redis-server output ---",
            tail(&self.output, 30)
        )
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Sends `PING` in RESP and expects `+PONG`.
fn ping(port: u16) -> Result<(), String> {
    let mut stream = connect(port, Duration::from_secs(1))?;
    stream
        .write_all(b"*1\r\n$4\r\nPING\r\n")
        .map_err(|e| format!("write: {e}"))?;
    let mut reply = [0u8; 64];
    let n = stream.read(&mut reply).map_err(|e| format!("read: {e}"))?;
    if reply[..n].starts_with(b"+PONG") {
        Ok(())
    } else {
        Err(format!("answered {:?}", String::from_utf8_lossy(&reply[..n])))
    }
}
