//! The expectation both HTTP adapters' `run` is tested against on a real socket: started on a
//! free port, it answers a plain JSON-RPC `tools/call`, and on SIGTERM it drains and returns.
//!
//! The signal goes to the whole test process, so the test that uses this must be the only one
//! in its binary (nextest runs every test in a process of its own anyway).

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use rampart_core::{Config, Registry, Tool, ToolOutput};
use serde_json::json;

const DEADLINE: Duration = Duration::from_secs(10);

/// Starts `run` on a thread of its own, checks that it answers and, on unix, that SIGTERM
/// makes it return `Ok`.
pub fn check_run(run: fn(Config, Registry) -> io::Result<()>) {
    let port = free_port();
    let config = Config {
        port,
        ..Config::default()
    };
    let (done_tx, done) = mpsc::channel();
    thread::spawn(move || {
        let _ = done_tx.send(run(config, echo_registry()));
    });

    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = connect(address, &done);
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}"#;
    let request = format!(
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nConnection: close\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let (_, answer) = response.split_once("\r\n\r\n").unwrap();
    assert!(answer.contains(r#""text":"hi""#), "{response}");
    drop(stream);

    #[cfg(unix)]
    {
        use rustix::process::{Signal, getpid, kill_process};
        kill_process(getpid(), Signal::TERM).unwrap();
        let result = done
            .recv_timeout(DEADLINE)
            .expect("run did not return after SIGTERM");
        assert!(result.is_ok(), "{result:?}");
    }
}

/// A registry with one tool, `echo`, that answers with its `text` argument.
fn echo_registry() -> Registry {
    Registry::new()
        .tool(Tool::new(
            "echo",
            json!({"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}),
            |args, _ctx| async move { Ok(ToolOutput::text(args["text"].as_str().unwrap_or_default())) },
        ))
        .unwrap()
}

/// A port that was free a moment ago: bound on 127.0.0.1 and let go again.
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Connects to `address` once the server listens, failing at the deadline or as soon as
/// `run` has returned (with the error it returned).
fn connect(address: SocketAddr, done: &mpsc::Receiver<io::Result<()>>) -> TcpStream {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Ok(result) = done.try_recv() {
            panic!("run returned before serving: {result:?}");
        }
        match TcpStream::connect_timeout(&address, Duration::from_secs(1)) {
            Ok(stream) => {
                stream.set_read_timeout(Some(DEADLINE)).unwrap();
                stream.set_write_timeout(Some(DEADLINE)).unwrap();
                return stream;
            }
            Err(err) if Instant::now() >= deadline => panic!("cannot connect to {address}: {err}"),
            Err(_) => thread::sleep(Duration::from_millis(20)),
        }
    }
}
