//! Shared by the integration tests: starts `rampart-demo --transport http` on a free
//! loopback port, waits until `GET /health` answers, keeps its stderr (JSON log lines) for
//! failure reports, and kills it when dropped. Also starts the demo over stdio, runs helper
//! programs (such as the SDK test clients in `clients/`) under a deadline, and judges how a
//! test client ended.

#![allow(dead_code)] // each test binary uses a different part of this module

pub mod cluster;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long the server may take to answer its first `GET /health`.
pub const STARTUP_DEADLINE: Duration = Duration::from_secs(30);

/// How long a test waits for a log line to be written.
pub const LOG_DEADLINE: Duration = Duration::from_secs(10);

/// What to tell the reader when an installed test dependency is missing.
pub const SETUP_HINT: &str =
    "run `bash scripts/test.sh` from the repository root to install the test clients";

/// The runtimes the demo offers, as passed to `--runtime`.
pub const RUNTIMES: [&str; 2] = ["tokio", "smol"];

/// Returns the workspace root (the parent of `demo/`).
pub fn workspace_root() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .canonicalize()
        .expect("workspace root exists")
}

/// Returns a loopback port that was free a moment ago (bound to port 0, then released).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// A running `rampart-demo --transport http`, killed on drop.
pub struct DemoServer {
    child: Child,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    /// The runtime it was started with.
    pub runtime: String,
    stderr: Arc<Mutex<Vec<u8>>>,
}

impl DemoServer {
    /// Starts the demo on `runtime` with `env` added to its environment (HOST and PORT are
    /// set here) and waits until `GET /health` answers 200.
    pub fn start(runtime: &str, env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_rampart-demo"))
            .args(["--transport", "http", "--runtime", runtime])
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start rampart-demo");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let mut pipe = child.stderr.take().expect("piped stderr");
        let sink = Arc::clone(&stderr);
        thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n @ 1..) = pipe.read(&mut buf) {
                sink.lock().expect("stderr buffer").extend_from_slice(&buf[..n]);
            }
        });
        let mut server = Self {
            child,
            port,
            runtime: runtime.to_owned(),
            stderr,
        };
        server.wait_until_healthy();
        server
    }

    /// The MCP endpoint, `http://127.0.0.1:PORT/mcp`.
    pub fn mcp_url(&self) -> String {
        format!("http://127.0.0.1:{}/mcp", self.port)
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Everything the server wrote to stderr so far (its JSON log lines).
    pub fn logs(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().expect("stderr buffer")).into_owned()
    }

    /// The server's stderr once `done` holds for it, or at the deadline: log lines are
    /// written by a task of their own, a moment after the responses they describe.
    pub fn logs_once(&self, done: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        loop {
            let logs = self.logs();
            if done(&logs) || started.elapsed() > LOG_DEADLINE {
                return logs;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// The last `lines` lines of the server's stderr, framed for a failure message.
    pub fn logs_tail(&self, lines: usize) -> String {
        let logs = self.logs();
        let all: Vec<&str> = logs.lines().collect();
        let tail = all[all.len().saturating_sub(lines)..].join("\n");
        format!(
            "--- rampart-demo ({}) stderr, last {lines} lines ---\n{tail}\n--- end server stderr ---",
            self.runtime
        )
    }

    /// Kills the server with SIGKILL, as a crash would, and waits for it to exit; its logs
    /// stay readable.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn wait_until_healthy(&mut self) {
        let started = Instant::now();
        let mut last = String::from("no attempt yet");
        while started.elapsed() < STARTUP_DEADLINE {
            if let Some(status) = self.child.try_wait().expect("poll rampart-demo") {
                // Give the stderr reader a moment to collect the last words.
                thread::sleep(Duration::from_millis(100));
                panic!(
                    "rampart-demo --transport http --runtime {} exited with {status} before answering \
                     GET /health on port {}\n{}",
                    self.runtime,
                    self.port,
                    self.logs_tail(40)
                );
            }
            match raw_get(self.port, "/health") {
                Ok(response) if response.status == 200 => return,
                Ok(response) => last = format!("HTTP {} {}", response.status, response.body),
                Err(err) => last = err,
            }
            thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "rampart-demo ({}) did not answer GET /health with 200 within {STARTUP_DEADLINE:?} \
             (last attempt: {last})\n{}",
            self.runtime,
            self.logs_tail(40)
        );
    }
}

impl Drop for DemoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response read with [`raw_get`].
pub struct RawResponse {
    pub status: u16,
    pub body: String,
}

/// Sends `GET path` over a fresh HTTP/1.1 connection (`Connection: close`) and reads the
/// whole response. Plain std: no HTTP client is involved in deciding the server is up.
pub fn raw_get(port: u16, path: &str) -> Result<RawResponse, String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream =
        TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("write: {e}"))?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(|e| format!("read: {e}"))?;
    let text = String::from_utf8_lossy(&raw);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return Err(format!("incomplete response: {text:?}"));
    };
    let status = head
        .lines()
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("bad status line in {head:?}"))?;
    Ok(RawResponse {
        status,
        body: body.to_owned(),
    })
}

/// How a program run under [`run_with_deadline`] ended.
pub struct Outcome {
    /// `None` when it was killed at the deadline.
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

/// Runs `program args...` in `cwd`, killing it (and anything it started: it runs in its own
/// process group) once `deadline` has passed.
pub fn run_with_deadline(program: &Path, args: &[&str], cwd: &Path, deadline: Duration) -> Outcome {
    run_with_deadline_env(program, args, cwd, &[], deadline)
}

/// [`run_with_deadline`] with `env` added to the program's environment.
pub fn run_with_deadline_env(
    program: &Path,
    args: &[&str],
    cwd: &Path,
    env: &[(&str, &str)],
    deadline: Duration,
) -> Outcome {
    let started = Instant::now();
    let mut child = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(cwd)
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}; {SETUP_HINT}", program.display()));

    let out_reader = read_in_background(child.stdout.take().expect("piped stdout"));
    let err_reader = read_in_background(child.stderr.take().expect("piped stderr"));
    let status = wait_or_kill(&mut child, started + deadline);
    let stdout = String::from_utf8_lossy(&out_reader.join().expect("stdout reader")).into_owned();
    let stderr = String::from_utf8_lossy(&err_reader.join().expect("stderr reader")).into_owned();
    Outcome {
        status,
        stdout,
        stderr,
        elapsed: started.elapsed(),
    }
}

/// Waits for `child` to exit; at `deadline` kills it, and its process group when it leads
/// one (a shell's own children hold our pipes too), and returns `None`.
pub fn wait_or_kill(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    loop {
        match child.try_wait().expect("waiting for the child") {
            Some(status) => return Some(status),
            None if Instant::now() >= deadline => {
                // A group's id is its leader's pid; for a child that leads none this finds nothing.
                let _ = Command::new("kill")
                    .args(["-KILL", "--", &format!("-{}", child.id())])
                    .status();
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            None => thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// Reads `pipe` to its end on a thread of its own; the handle yields every byte read.
pub fn read_in_background(mut pipe: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
}

/// Starts `rampart-demo --transport stdio` with stdin, stdout and stderr piped.
pub fn start_stdio_demo() -> Child {
    Command::new(env!("CARGO_BIN_EXE_rampart-demo"))
        .args(["--transport", "stdio"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start rampart-demo")
}

/// Panics with [`SETUP_HINT`] unless the TypeScript MCP SDK is installed in `clients/`.
pub fn assert_typescript_sdk_installed(root: &Path) {
    let sdk = root.join("clients/node_modules/@modelcontextprotocol/sdk/package.json");
    assert!(
        sdk.is_file(),
        "FAIL: the TypeScript MCP SDK is not installed ({} is missing); {SETUP_HINT}",
        sdk.display()
    );
}

/// Returns the Python of the clients' virtualenv; panics with [`SETUP_HINT`] when it is missing.
pub fn client_python(root: &Path) -> PathBuf {
    let python = root.join("clients/.venv/bin/python");
    assert!(
        python.is_file(),
        "FAIL: the Python virtualenv is not set up ({} is missing); {SETUP_HINT}",
        python.display()
    );
    python
}

/// Passes when a test client run under `deadline` exited 0, and prints its per-check lines
/// (visible with --nocapture / in nextest's failure output). Otherwise panics with `what`,
/// the client's output, a hint when its dependencies look missing, and `trailer` (such as
/// the server's log tail).
pub fn assert_client_passed(what: &str, outcome: &Outcome, deadline: Duration, trailer: &str) {
    let verdict = match outcome.status {
        Some(status) if status.success() => {
            print!("{}", outcome.stdout);
            return;
        }
        Some(status) => format!("exited with {status}"),
        None => format!("was killed after the {}s deadline", deadline.as_secs()),
    };
    let mut hint = String::new();
    if outcome.stderr.contains("ModuleNotFoundError")
        || outcome.stderr.contains("ERR_MODULE_NOT_FOUND")
        || outcome.stderr.contains("Cannot find package")
    {
        hint = format!("\nhint: the client's dependencies look missing; {SETUP_HINT}");
    }
    panic!(
        "{what} {verdict} after {:.1}s{hint}\n--- client stdout ---\n{}\n--- client stderr ---\n{}\n{trailer}",
        outcome.elapsed.as_secs_f64(),
        outcome.stdout,
        outcome.stderr,
    );
}
