//! The example programs as their users meet them: `stdio-minimal` and `resources-prompts`
//! driven over real pipes by the official Python MCP client, and `http-tokio` and
//! `http-smol` answering `tools/call` over a real socket.
//!
//! The client lives in `examples/tests/py/` and reuses the demo clients' helpers in
//! `clients/py/`; the SDK is installed in `clients/.venv` by `bash scripts/test.sh`. A
//! missing install fails these tests: it is never a reason to skip them.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How long the Python client may take for all its checks.
const CLIENT_DEADLINE: Duration = Duration::from_secs(60);

/// How long a server may take to log that it is listening.
const STARTUP_DEADLINE: Duration = Duration::from_secs(30);

/// How long one HTTP exchange may take.
const IO_DEADLINE: Duration = Duration::from_secs(10);

const SETUP_HINT: &str = "run `bash scripts/test.sh` from the repository root to install the test clients";

#[test]
fn python_client_drives_stdio_minimal() {
    python_client("stdio-minimal", env!("CARGO_BIN_EXE_stdio-minimal"));
}

#[test]
fn python_client_drives_resources_prompts() {
    python_client("resources-prompts", env!("CARGO_BIN_EXE_resources-prompts"));
}

#[test]
fn http_tokio_answers_tools_call() {
    http_example(env!("CARGO_BIN_EXE_http-tokio"));
}

#[test]
fn http_smol_answers_tools_call() {
    http_example(env!("CARGO_BIN_EXE_http-smol"));
}

/// Runs `examples/tests/py/examples_client.py` against `binary`, which the client starts
/// itself over stdio, and passes when the client exits 0.
fn python_client(example: &str, binary: &str) {
    let root = workspace_root();
    let python = root.join("clients/.venv/bin/python");
    assert!(
        python.is_file(),
        "the Python virtualenv is not set up ({} is missing); {SETUP_HINT}",
        python.display()
    );
    let child = Command::new(&python)
        .args(["examples/tests/py/examples_client.py", example, binary])
        .current_dir(&root)
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("cannot start {}: {err}; {SETUP_HINT}", python.display()));
    let mut client = Running(child);
    let stdout = read_to_end(client.0.stdout.take().expect("piped stdout"));
    let stderr = read_to_end(client.0.stderr.take().expect("piped stderr"));
    let status = client.wait_until(Instant::now() + CLIENT_DEADLINE);
    drop(client);
    let stdout = String::from_utf8_lossy(&stdout.join().expect("stdout reader")).into_owned();
    let stderr = String::from_utf8_lossy(&stderr.join().expect("stderr reader")).into_owned();
    match status {
        Some(status) if status.success() => print!("{stdout}"),
        status => {
            let verdict = status.map_or_else(
                || format!("was killed at the {CLIENT_DEADLINE:?} deadline"),
                |status| format!("exited with {status}"),
            );
            let hint = if stderr.contains("ModuleNotFoundError") {
                format!("\nhint: the client's dependencies look missing; {SETUP_HINT}")
            } else {
                String::new()
            };
            panic!(
                "the Python client of {example} {verdict}{hint}\n--- client stdout ---\n{stdout}\n\
                 --- client stderr ---\n{stderr}"
            );
        }
    }
}

/// Starts an HTTP example on a free port and checks what a plain client and a 2026-07-28
/// client get from `tools/call`.
fn http_example(binary: &str) {
    let server = HttpExample::start(binary);

    let (status, answer) = server.post(
        &[],
        &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": {"name": "add", "arguments": {"a": 2, "b": 3}}}),
    );
    assert_eq!(status, 200, "{answer}");
    // Plain JSON-RPC is served by 2025-03-26 rules, which have no structured content:
    // the JSON text mirror is what such a client reads.
    assert_eq!(
        answer["result"]["content"],
        json!([{"type": "text", "text": "{\"sum\":5}"}]),
        "{answer}"
    );

    let (status, answer) = server.post(
        &[],
        &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                "params": {"name": "add", "arguments": {"a": 2, "b": "3"}}}),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["error"]["code"], -32007, "{answer}");

    let (status, answer) = server.post(
        &[],
        &json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                "params": {"name": "invite", "arguments": {"email": "ada@example.com"}}}),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["result"]["isError"], true, "{answer}");

    let (status, answer) = server.post(
        &[
            ("MCP-Protocol-Version", "2026-07-28"),
            ("Mcp-Method", "tools/call"),
            ("Mcp-Name", "add"),
        ],
        &json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {
            "name": "add",
            "arguments": {"a": 2, "b": 3},
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {}
            }
        }}),
    );
    assert_eq!(status, 200, "{answer}");
    let result = &answer["result"];
    assert_eq!(result["structuredContent"], json!({"sum": 5}), "{answer}");
    assert_eq!(
        result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"], "rampart-examples",
        "server_info!() names the example's crate: {answer}"
    );
}

/// A child process, killed with its process group when dropped.
struct Running(Child);

impl Running {
    /// Waits for the child to exit until `deadline`; `None` if it is still running then.
    fn wait_until(&mut self, deadline: Instant) -> Option<ExitStatus> {
        loop {
            match self.0.try_wait().expect("wait for the child") {
                Some(status) => return Some(status),
                None if Instant::now() >= deadline => return None,
                None => thread::sleep(Duration::from_millis(20)),
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // The child leads its own process group, so this also ends what it started (the
        // Python client's server); for a child that leads none it finds nothing.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0.id())])
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An HTTP example listening on 127.0.0.1, with its stderr lines kept for failure reports.
struct HttpExample {
    /// Held for its drop, which kills the server.
    _child: Running,
    port: u16,
    log: Receiver<String>,
    name: String,
}

impl HttpExample {
    /// Starts `binary` with `PORT` set to a port that was free a moment ago, and waits for
    /// the log line that says it is listening.
    fn start(binary: &str) -> Self {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|listener| listener.local_addr())
            .expect("bind 127.0.0.1:0")
            .port();
        let mut child = Command::new(binary)
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {binary}: {err}"));
        let (sender, log) = mpsc::channel();
        let stderr = BufReader::new(child.stderr.take().expect("piped stderr"));
        thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let name = Path::new(binary)
            .file_name()
            .map_or_else(|| binary.to_owned(), |name| name.to_string_lossy().into_owned());
        let server = Self {
            _child: Running(child),
            port,
            log,
            name,
        };
        server.wait_until_listening();
        server
    }

    fn wait_until_listening(&self) {
        let deadline = Instant::now() + STARTUP_DEADLINE;
        let mut seen = Vec::new();
        let wanted = format!("\"address\":\"http://127.0.0.1:{}/mcp\"", self.port);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.log.recv_timeout(left) {
                Ok(line) if line.contains("\"listening\"") && line.contains(&wanted) => return,
                Ok(line) => seen.push(line),
                Err(RecvTimeoutError::Timeout) => panic!(
                    "{} did not log that it listens on port {} within {STARTUP_DEADLINE:?}; stderr:\n{}",
                    self.name,
                    self.port,
                    seen.join("\n")
                ),
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "{} closed its stderr before listening on port {}; stderr:\n{}",
                    self.name,
                    self.port,
                    seen.join("\n")
                ),
            }
        }
    }

    /// POSTs `body` to `/mcp` with `headers` over a fresh HTTP/1.1 connection and returns the
    /// status and the JSON body.
    fn post(&self, headers: &[(&str, &str)], body: &Value) -> (u16, Value) {
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let mut stream = TcpStream::connect_timeout(&address, IO_DEADLINE).expect("connect");
        stream.set_read_timeout(Some(IO_DEADLINE)).expect("read timeout");
        stream
            .set_write_timeout(Some(IO_DEADLINE))
            .expect("write timeout");
        let body = body.to_string();
        let mut request = format!(
            "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\n\
             Accept: application/json, text/event-stream\r\nContent-Length: {}\r\nConnection: close\r\n",
            self.port,
            body.len()
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(&body);
        stream.write_all(request.as_bytes()).expect("write the request");
        let mut raw = Vec::new();
        stream
            .read_to_end(&mut raw)
            .unwrap_or_else(|err| panic!("{}: read the response: {err}", self.name));
        let text = String::from_utf8_lossy(&raw);
        let (head, body) = text
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("{}: incomplete response {text:?}", self.name));
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("{}: bad status line in {head:?}", self.name));
        let json = serde_json::from_str(body)
            .unwrap_or_else(|err| panic!("{}: the body is not JSON ({err}): {text}", self.name));
        (status, json)
    }
}

/// Returns the workspace root (the parent of `examples/`).
fn workspace_root() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .canonicalize()
        .expect("the workspace root exists")
}

/// Reads `pipe` to its end on a thread of its own.
fn read_to_end(mut pipe: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}
