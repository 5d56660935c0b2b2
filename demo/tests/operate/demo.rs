//! The demo as a process the operations tests can signal, starve of stderr, measure and
//! wait for: `support::DemoServer` always reads stderr and always kills; these tests need
//! to choose.

use std::io::Read;
use std::process::{Child, ChildStderr, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::http::each_keep_alive;
use crate::support::{STARTUP_DEADLINE, free_port, raw_get};

/// What happens to the demo's stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stderr {
    /// Read at once and kept, for the test to look at.
    Read,
    /// A pipe nobody reads until [`Demo::read_stderr`]: it fills up.
    Unread,
    /// A pipe whose reading end is closed: every write fails.
    Closed,
}

/// A running `rampart-demo --transport http`, killed on drop.
pub struct Demo {
    child: Child,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    /// The runtime it was started with.
    pub runtime: String,
    logs: Arc<Mutex<Vec<u8>>>,
    unread: Option<ChildStderr>,
}

impl Demo {
    /// Starts the demo on `runtime` with `env` added (HOST, PORT and RATE_LIMIT=0 are set
    /// here) and waits until `GET /health` answers 200.
    pub fn start(runtime: &str, env: &[(&str, &str)], stderr: Stderr) -> Self {
        let port = free_port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_rampart-demo"))
            .args(["--transport", "http", "--runtime", runtime])
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("RATE_LIMIT", "0")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start rampart-demo");
        let pipe = child.stderr.take().expect("piped stderr");
        let mut demo = Self {
            child,
            port,
            runtime: runtime.to_owned(),
            logs: Arc::new(Mutex::new(Vec::new())),
            unread: None,
        };
        match stderr {
            Stderr::Read => demo.read(pipe),
            Stderr::Unread => demo.unread = Some(pipe),
            Stderr::Closed => drop(pipe),
        }
        demo.wait_until_healthy();
        demo
    }

    /// Starts reading the stderr left unread.
    pub fn read_stderr(&mut self) {
        if let Some(pipe) = self.unread.take() {
            self.read(pipe);
        }
    }

    fn read(&self, mut pipe: ChildStderr) {
        let sink = Arc::clone(&self.logs);
        thread::spawn(move || {
            let mut buf = [0u8; 64 * 1024];
            while let Ok(n @ 1..) = pipe.read(&mut buf) {
                sink.lock().expect("stderr buffer").extend_from_slice(&buf[..n]);
            }
        });
    }

    /// Everything read from stderr so far.
    pub fn logs(&self) -> String {
        String::from_utf8_lossy(&self.logs.lock().expect("stderr buffer")).into_owned()
    }

    /// The stderr read once `done` holds for it, or at `deadline` from now.
    pub fn logs_once(&self, deadline: Duration, done: impl Fn(&str) -> bool) -> String {
        let until = Instant::now() + deadline;
        loop {
            let logs = self.logs();
            if done(&logs) || Instant::now() >= until {
                return logs;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The last `lines` lines of stderr, framed for a failure message.
    pub fn tail(&self, lines: usize) -> String {
        let logs = self.logs();
        let all: Vec<&str> = logs.lines().collect();
        let tail = all[all.len().saturating_sub(lines)..].join("\n");
        format!(
            "--- rampart-demo ({}) stderr, last {lines} lines ---\n{tail}\n--- end ---",
            self.runtime
        )
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).expect("a pid");
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("signal the demo");
    }

    /// Returns whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for the process to exit, at most `deadline`; `None` if it did not.
    pub fn wait_exit(&mut self, deadline: Duration) -> Option<ExitStatus> {
        let until = Instant::now() + deadline;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for the demo") {
                return Some(status);
            }
            if Instant::now() >= until {
                return None;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// The number of descriptors the process holds (entries of /proc/PID/fd).
    pub fn open_files(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .expect("read /proc fd")
            .count()
    }

    /// Sets the process's limit of open files (soft and hard) to `limit`.
    pub fn limit_open_files(&self, limit: u64) {
        use rustix::process::{Pid, Resource, Rlimit, prlimit};
        let pid = Pid::from_raw(self.child.id() as i32).expect("a pid");
        let new = Rlimit {
            current: Some(limit),
            maximum: Some(limit),
        };
        prlimit(Some(pid), Resource::Nofile, new).expect("prlimit on the demo");
    }

    /// The resident set size, in KiB (VmRSS of /proc/PID/status).
    pub fn rss_kib(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).expect("read /proc status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc status")
    }

    fn wait_until_healthy(&mut self) {
        let started = Instant::now();
        let mut last = String::from("no attempt yet");
        while started.elapsed() < STARTUP_DEADLINE {
            if let Some(status) = self.child.try_wait().expect("poll rampart-demo") {
                thread::sleep(Duration::from_millis(100));
                panic!(
                    "rampart-demo ({}) exited with {status} before serving\n{}",
                    self.runtime,
                    self.tail(40)
                );
            }
            match raw_get(self.port, "/health") {
                Ok(response) if response.status == 200 => return,
                Ok(response) => last = format!("HTTP {} {}", response.status, response.body),
                Err(err) => last = err,
            }
            thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "rampart-demo ({}) did not answer GET /health within {STARTUP_DEADLINE:?} (last: {last})\n{}",
            self.runtime,
            self.tail(40)
        );
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Raises this process's soft limit of open files to its hard limit (the demo, started
/// from here, inherits it); returns the soft limit now in force.
pub fn raise_open_files_limit() -> u64 {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        let raised = Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        let _ = setrlimit(Resource::Nofile, raised);
    }
    getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX)
}

/// Sends `total` `GET /health` from four threads, each logged with a 128-character request
/// id; asserts every one is answered 200 and returns how long they took.
pub fn flood_health(demo: &Demo, total: usize) -> Duration {
    const THREADS: usize = 4;
    let port = demo.port;
    let started = Instant::now();
    let failed = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let failed = Arc::clone(&failed);
            thread::spawn(move || {
                let id = format!("{t}{}", "r".repeat(127));
                each_keep_alive(
                    port,
                    total / THREADS,
                    |conn| conn.get("/health", &[("X-Request-Id", &id)]),
                    |response| {
                        if response.status != 200 {
                            failed.store(true, Ordering::SeqCst);
                        }
                    },
                );
            })
        })
        .collect();
    for worker in workers {
        worker
            .join()
            .unwrap_or_else(|_| panic!("{}: a client thread failed", demo.runtime));
    }
    assert!(
        !failed.load(Ordering::SeqCst),
        "{}: a request was not answered 200",
        demo.runtime
    );
    started.elapsed()
}

/// The value of the unlabelled sample `name` on `/metrics`, when the demo serves it.
pub fn metric(demo: &Demo, name: &str) -> Option<f64> {
    let response = raw_get(demo.port, "/metrics").ok()?;
    let line = response
        .body
        .lines()
        .find(|line| line.starts_with(&format!("{name} ")))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Prints the lines of `/metrics` that name `counter`, when the demo serves it.
pub fn report_metrics(demo: &Demo, counter: &str) {
    if let Ok(response) = raw_get(demo.port, "/metrics")
        && response.status == 200
    {
        for line in response.body.lines().filter(|line| line.contains(counter)) {
            eprintln!("{}: /metrics: {line}", demo.runtime);
        }
    }
}
