//! The load balancer of a replicated deployment: a real nginx on a loopback port that
//! spreads requests round-robin over the replicas with no sticky sessions, configured to
//! keep every file it writes in a directory of its own.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::http::connect;
use super::{INSTALL_HINT, capture, tail};
use crate::support::{STARTUP_DEADLINE, free_port, wait_or_kill};

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
