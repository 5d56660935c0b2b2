//! Replicas as they run in production: a real `redis-server` they share rate limits through,
//! a real nginx that spreads requests over them round-robin (no sticky sessions), and the
//! demo replicas themselves; plus an HTTP/1.1 client that keeps its connection alive, as a
//! client of a load balancer does.
//!
//! Every process is killed on drop, and every wait has a deadline. `redis-server` and
//! `nginx` come from `bash scripts/test.sh`, which installs them when it runs as root.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{DemoServer, LOG_DEADLINE, STARTUP_DEADLINE, free_port, wait_or_kill};

/// What to tell the reader when `redis-server` or `nginx` is missing.
pub const INSTALL_HINT: &str =
    "run `bash scripts/test.sh` from the repository root (as root it installs redis-server and nginx)";

/// How long a read or write of [`HttpConnection`] may make no progress.
pub const IO_DEADLINE: Duration = Duration::from_secs(30);

/// The largest response head or body [`HttpConnection`] reads.
const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

// --- Redis ----------------------------------------------------------------------------

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

// --- nginx ----------------------------------------------------------------------------

/// A real nginx on a loopback port that spreads requests round-robin over upstream
/// replicas, with everything it writes kept in a directory of its own; killed on drop.
pub struct Nginx {
    port: u16,
    dir: PathBuf,
    child: Child,
    output: Arc<Mutex<Vec<u8>>>,
}

impl Nginx {
    /// Starts nginx on a free loopback port in front of `127.0.0.1:P` for each of
    /// `upstream_ports`, and waits until it accepts connections. Panics with
    /// [`INSTALL_HINT`] when it is not installed.
    pub fn start(upstream_ports: &[u16]) -> Self {
        assert!(!upstream_ports.is_empty(), "nginx needs at least one upstream");
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("rampart-nginx-{}-{port}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        let conf = dir.join("nginx.conf");
        fs::write(&conf, nginx_conf(port, upstream_ports, &dir))
            .unwrap_or_else(|e| panic!("write {}: {e}", conf.display()));
        let mut child = Command::new(nginx_program())
            .arg("-c")
            .arg(&conf)
            .arg("-p")
            .arg(&dir)
            // The error log before the configuration is read, which is /var/log otherwise.
            .arg("-e")
            .arg(dir.join("error.log"))
            .args(["-g", "daemon off;"])
            // Its workers are in its group: drop ends them with it.
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("FAIL: cannot start nginx: {e}; {INSTALL_HINT}"));
        let output = Arc::default();
        capture(child.stdout.take(), &output);
        capture(child.stderr.take(), &output);
        let mut nginx = Self {
            port,
            dir,
            child,
            output,
        };
        nginx.wait_until_listening();
        nginx
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// What nginx wrote to its output and error log, framed for a failure message.
    pub fn output_tail(&self) -> String {
        let log = fs::read_to_string(self.dir.join("error.log")).unwrap_or_default();
        format!(
            "--- nginx output ---\n{}\n--- nginx error.log ---\n{log}\n--- end nginx ---",
            tail(&self.output, 30)
        )
    }

    fn wait_until_listening(&mut self) {
        let started = Instant::now();
        let mut last = String::from("no attempt yet");
        while started.elapsed() < STARTUP_DEADLINE {
            if let Some(status) = self.child.try_wait().expect("poll nginx") {
                thread::sleep(Duration::from_millis(100));
                panic!(
                    "nginx on port {} exited with {status} before listening\n{}",
                    self.port,
                    self.output_tail()
                );
            }
            match connect(self.port, Duration::from_secs(1)) {
                Ok(_) => return,
                Err(err) => last = err,
            }
            thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "nginx did not listen on port {} within {STARTUP_DEADLINE:?} (last: {last})\n{}",
            self.port,
            self.output_tail()
        );
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // TERM to the master and its workers; the whole group is killed if they linger.
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = wait_or_kill(&mut self.child, Instant::now() + Duration::from_secs(5));
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// The `nginx` on PATH, or Debian's `/usr/sbin/nginx` (not on every user's PATH).
fn nginx_program() -> PathBuf {
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("nginx"))
            .find(|candidate| candidate.is_file())
    });
    on_path.unwrap_or_else(|| PathBuf::from("/usr/sbin/nginx"))
}

/// A configuration that keeps every file nginx writes in `dir`, so that it runs as root or
/// not without touching /var: round-robin over `upstreams` with no sticky sessions and no
/// replica ever taken out of the rotation, keep-alive connections to them, the client's
/// address in `X-Forwarded-For`, and responses (SSE streams too) passed on unbuffered.
fn nginx_conf(port: u16, upstreams: &[u16], dir: &Path) -> String {
    let dir = dir.display();
    let servers: String = upstreams
        .iter()
        .map(|p| format!("        server 127.0.0.1:{p} max_fails=0;\n"))
        .collect();
    format!(
        "worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;

events {{
    worker_connections 256;
}}

http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;

    upstream replicas {{
{servers}        keepalive 16;
    }}

    server {{
        listen 127.0.0.1:{port};

        location / {{
            proxy_pass http://replicas;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_buffering off;
            proxy_read_timeout 300s;
        }}
    }}
}}
"
    )
}

// --- Replicas -------------------------------------------------------------------------

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

// --- HTTP -----------------------------------------------------------------------------

/// A response read by [`HttpConnection`].
pub struct HttpResponse {
    pub status: u16,
    /// Header fields in the order received, names as sent.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    /// The first value of the header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The JSON-RPC message of the body: the body itself, or the last `data:` of an SSE
    /// stream that parses as JSON; `Value::Null` when there is none.
    pub fn message(&self) -> Value {
        if let Ok(value) = serde_json::from_str(&self.body) {
            return value;
        }
        self.body
            .lines()
            .filter_map(|line| line.strip_prefix("data:"))
            .filter_map(|data| serde_json::from_str(data.trim()).ok())
            .next_back()
            .unwrap_or(Value::Null)
    }

    /// The status, headers and body, for a failure message.
    pub fn dump(&self) -> String {
        let headers: String = self
            .headers
            .iter()
            .map(|(name, value)| format!("{name}: {value}\n"))
            .collect();
        format!("HTTP {}\n{headers}\n{}", self.status, self.body)
    }
}

/// An HTTP/1.1 connection kept alive across requests; no read or write waits longer than
/// [`IO_DEADLINE`].
pub struct HttpConnection {
    port: u16,
    reader: BufReader<TcpStream>,
}

impl HttpConnection {
    /// Connects to `127.0.0.1:port`.
    pub fn open(port: u16) -> Result<Self, String> {
        let stream = connect(port, IO_DEADLINE)?;
        Ok(Self {
            port,
            reader: BufReader::new(stream),
        })
    }

    /// Sends `method path` with `headers` (`Host` and `Content-Length` are added) and
    /// `body`, and reads the whole response.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Result<HttpResponse, String> {
        let mut request = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n", self.port);
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        if !body.is_empty() || method == "POST" {
            request.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        request.push_str("\r\n");
        request.push_str(body);
        let stream = self.reader.get_mut();
        stream
            .write_all(request.as_bytes())
            .map_err(|e| format!("write: {e}"))?;
        self.read_response(method == "HEAD")
    }

    fn read_response(&mut self, head_only: bool) -> Result<HttpResponse, String> {
        let status_line = self.read_line()?;
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| format!("bad status line {status_line:?}"))?;
        let mut headers = Vec::new();
        loop {
            let line = self.read_line()?;
            if line.is_empty() {
                break;
            }
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| format!("bad header line {line:?}"))?;
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
        let mut response = HttpResponse {
            status,
            headers,
            body: String::new(),
        };
        let no_body = head_only || status == 204 || status == 304 || (100..200).contains(&status);
        let body = if no_body {
            Vec::new()
        } else if response
            .header("transfer-encoding")
            .is_some_and(|te| te.eq_ignore_ascii_case("chunked"))
        {
            self.read_chunked()?
        } else if let Some(length) = response.header("content-length") {
            let length: usize = length
                .parse()
                .map_err(|_| format!("bad Content-Length {length:?}"))?;
            if length > MAX_RESPONSE_BYTES {
                return Err(format!("a body of {length} bytes is over the cap"));
            }
            let mut body = vec![0; length];
            self.reader
                .read_exact(&mut body)
                .map_err(|e| format!("read body: {e}"))?;
            body
        } else {
            let mut body = Vec::new();
            (&mut self.reader)
                .take(MAX_RESPONSE_BYTES as u64)
                .read_to_end(&mut body)
                .map_err(|e| format!("read body: {e}"))?;
            body
        };
        response.body = String::from_utf8_lossy(&body).into_owned();
        Ok(response)
    }

    fn read_chunked(&mut self) -> Result<Vec<u8>, String> {
        let mut body = Vec::new();
        loop {
            let line = self.read_line()?;
            let size = line.split(';').next().unwrap_or_default().trim();
            let size = usize::from_str_radix(size, 16).map_err(|_| format!("bad chunk size {line:?}"))?;
            if size == 0 {
                // Trailers, up to the blank line.
                while !self.read_line()?.is_empty() {}
                return Ok(body);
            }
            if body.len() + size > MAX_RESPONSE_BYTES {
                return Err("a chunked body over the cap".into());
            }
            let start = body.len();
            body.resize(start + size, 0);
            self.reader
                .read_exact(&mut body[start..])
                .map_err(|e| format!("read chunk: {e}"))?;
            if !self.read_line()?.is_empty() {
                return Err("a chunk without its CRLF".into());
            }
        }
    }

    /// One line without its CRLF; end of input before it is an error.
    fn read_line(&mut self) -> Result<String, String> {
        let mut line = Vec::new();
        (&mut self.reader)
            .take(64 * 1024)
            .read_until(b'\n', &mut line)
            .map_err(|e| format!("read: {e}"))?;
        if line.last() != Some(&b'\n') {
            return Err(format!(
                "the connection ended mid-line: {:?}",
                String::from_utf8_lossy(&line)
            ));
        }
        while matches!(line.last(), Some(b'\n' | b'\r')) {
            line.pop();
        }
        Ok(String::from_utf8_lossy(&line).into_owned())
    }
}

/// Sends one request on a fresh connection (`Connection: close`) and reads the response.
pub fn http_request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<HttpResponse, String> {
    let mut headers = headers.to_vec();
    headers.push(("Connection", "close"));
    HttpConnection::open(port)?.request(method, path, &headers, body)
}

/// Connects to `127.0.0.1:port` with `deadline` on the connect and on every read and write.
fn connect(port: u16, deadline: Duration) -> Result<TcpStream, String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let stream = TcpStream::connect_timeout(&addr, deadline).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(deadline))
        .and_then(|()| stream.set_write_timeout(Some(deadline)))
        .map_err(|e| e.to_string())?;
    Ok(stream)
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
