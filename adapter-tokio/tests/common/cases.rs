//! The expectations both HTTP adapters are tested against on real sockets: each case is raw
//! bytes written to a fresh connection, the statuses that must come back, and whether the
//! server must close the connection afterwards.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant, SystemTime};

use rampart_core::{Config, LoggingLevel, Now, Server, Tool, ToolOutput, ToolRegistry};
use serde_json::{Value, json};

const DEADLINE: Duration = Duration::from_secs(20);

/// A server with a few tools, for the adapter under test to serve.
pub fn server() -> Server {
    // These tests send far more than 100 requests a minute from 127.0.0.1.
    server_with(Config {
        rate_limit: 0,
        ..Config::default()
    })
}

/// The server with the default limit of 100 requests per minute per client.
pub fn limited_server() -> Server {
    server_with(Config::default())
}

/// The same server with its own config.
pub fn server_with(config: Config) -> Server {
    let tools = ToolRegistry::new()
        .with(Tool::new(
            "echo",
            json!({"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}),
            |args, _| async move { Ok(ToolOutput::text(args["text"].as_str().unwrap_or_default())) },
        ))
        .unwrap()
        .with(Tool::new(
            "chatty",
            json!({"type": "object"}),
            |_, ctx| async move {
                ctx.log(LoggingLevel::Info, json!("step 1"));
                ctx.log(LoggingLevel::Info, json!("step 2"));
                Ok(ToolOutput::text("done"))
            },
        ))
        .unwrap();
    Server::new(
        config,
        tools,
        [3; 32],
        Now::new(Instant::now(), SystemTime::now()),
    )
}

pub struct Case {
    pub name: &'static str,
    pub request: Vec<u8>,
    pub statuses: Vec<u16>,
    pub closes: bool,
}

fn post(body: &str) -> Vec<u8> {
    format!(
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

pub const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;

pub fn cases() -> Vec<Case> {
    let case = |name, request: &[u8], statuses: &[u16], closes| Case {
        name,
        request: request.to_vec(),
        statuses: statuses.to_vec(),
        closes,
    };
    vec![
        case("health", b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n", &[200], false),
        case("ready", b"GET /ready HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n", &[200], false),
        case("not found", b"GET /nope HTTP/1.1\r\nHost: localhost\r\n\r\n", &[404], false),
        case("pipelined", b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\nGET /nope HTTP/1.1\r\nHost: localhost\r\n\r\nGET /ready HTTP/1.1\r\nHost: localhost\r\n\r\n", &[200, 404, 200], false),
        case("connection close", b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", &[200], true),
        case("http/1.0", b"GET /health HTTP/1.0\r\n\r\n", &[403], true),
        case("http/1.0 with host", b"GET /health HTTP/1.0\r\nHost: localhost\r\n\r\n", &[200], true),
        case("rebinding host", b"GET /health HTTP/1.1\r\nHost: evil.example\r\n\r\n", &[403], false),
        case("smuggling cl+te", b"POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /health HTTP/1.1\r\nHost: localhost\r\n\r\n", &[400], true),
        case("bad content-length", b"POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Length: +5\r\n\r\nhello", &[400], true),
        case("unknown coding", b"POST /mcp HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip\r\n\r\n", &[501], true),
        case("http/2", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", &[505], true),
        case("too large", b"POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: 5000000\r\n\r\n", &[413], true),
        case("no host", b"GET /health HTTP/1.1\r\n\r\n", &[400], true),
        case("wrong method", b"PUT /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\n{}", &[405], false),
        case("initialize", &post(INITIALIZE), &[200], false),
        case("bad json", &post("{oops"), &[400], false),
    ]
}

/// Reads responses from `stream` until `count` have arrived or the server closes; returns
/// them (status, headers, body) and whether the server closed the connection.
pub fn read_responses(stream: &mut TcpStream, count: usize) -> (Vec<(u16, String, Vec<u8>)>, bool) {
    stream.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let started = Instant::now();
    let mut wire = Vec::new();
    let mut closed = false;
    let mut buf = [0u8; 8192];
    loop {
        let parsed = parse(&wire);
        if parsed.len() >= count && !closed {
            // Give a closing server a moment to show its FIN.
            match stream.read(&mut buf) {
                Ok(0) => closed = true,
                Ok(n) => wire.extend_from_slice(&buf[..n]),
                Err(_) => {}
            }
            return (parse(&wire), closed);
        }
        if closed || started.elapsed() > DEADLINE {
            return (parsed, closed);
        }
        match stream.read(&mut buf) {
            Ok(0) => closed = true,
            Ok(n) => wire.extend_from_slice(&buf[..n]),
            Err(err)
                if err.kind() == std::io::ErrorKind::WouldBlock
                    || err.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => closed = true,
        }
    }
}

/// Parses complete responses (by Content-Length or chunked).
fn parse(wire: &[u8]) -> Vec<(u16, String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(end) = wire[at..].windows(4).position(|w| w == b"\r\n\r\n") {
        let head = String::from_utf8_lossy(&wire[at..at + end]).into_owned();
        let status: u16 = head[9..12].parse().unwrap();
        let lower = head.to_ascii_lowercase();
        let mut pos = at + end + 4;
        let body;
        if let Some(line) = lower.lines().find(|l| l.starts_with("content-length:")) {
            let len: usize = line[15..].trim().parse().unwrap();
            if wire.len() < pos + len {
                break;
            }
            body = wire[pos..pos + len].to_vec();
            pos += len;
        } else if lower.contains("transfer-encoding: chunked") {
            let Some(done) = wire[pos..].windows(5).position(|w| w == b"0\r\n\r\n") else {
                break;
            };
            body = wire[pos..pos + done].to_vec();
            pos += done + 5;
        } else {
            body = Vec::new();
        }
        out.push((status, head, body));
        at = pos;
    }
    out
}

/// Runs every case against a server on `addr`.
pub fn check_cases(addr: SocketAddr) {
    for case in cases() {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.write_all(&case.request).unwrap();
        let (responses, closed) = read_responses(&mut stream, case.statuses.len());
        let statuses: Vec<u16> = responses.iter().map(|r| r.0).collect();
        assert_eq!(statuses, case.statuses, "statuses for {}", case.name);
        assert_eq!(closed, case.closes, "close after {}", case.name);
        for (_, head, _) in &responses {
            assert!(
                head.contains("X-Content-Type-Options: nosniff"),
                "security headers on {}",
                case.name
            );
            assert!(head.contains("X-Request-Id: "), "request id on {}", case.name);
        }
    }
}

fn session_of(head: &str) -> String {
    head.lines()
        .find_map(|l| l.strip_prefix("Mcp-Session-Id: "))
        .expect("a session id")
        .to_owned()
}

/// A whole MCP exchange on one keep-alive connection: initialize, a JSON call, an SSE call,
/// then a half-close with a call in flight that still gets its answer.
pub fn check_conversation(addr: SocketAddr) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.write_all(&post(INITIALIZE)).unwrap();
    let (responses, _) = read_responses(&mut stream, 1);
    let session = session_of(&responses[0].1);
    let with_session = |body: &str| {
        format!(
            "POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nMcp-Session-Id: {session}\r\nMCP-Protocol-Version: 2025-11-25\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    };
    stream
        .write_all(&with_session(r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}"#))
        .unwrap();
    let (responses, closed) = read_responses(&mut stream, 1);
    assert!(!closed);
    let body: Value = serde_json::from_slice(&responses[0].2).unwrap();
    assert_eq!(body["result"]["content"][0]["text"], "hi");

    stream
        .write_all(&with_session(
            r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"chatty","arguments":{}}}"#,
        ))
        .unwrap();
    let (responses, _) = read_responses(&mut stream, 1);
    assert!(responses[0].1.contains("text/event-stream"), "{}", responses[0].1);
    let sse = String::from_utf8_lossy(&responses[0].2).into_owned();
    assert!(
        sse.contains("step 1") && sse.contains("step 2") && sse.contains("\"id\":3"),
        "{sse}"
    );

    stream
        .write_all(&with_session(r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"echo","arguments":{"text":"bye"}}}"#))
        .unwrap();
    stream.shutdown(Shutdown::Write).unwrap();
    let (responses, closed) = read_responses(&mut stream, 1);
    let body: Value = serde_json::from_slice(&responses[0].2).unwrap();
    assert_eq!(body["result"]["content"][0]["text"], "bye");
    assert!(closed, "closed after answering a half-closed client");
}

/// Many clients at once, each with its own session.
pub fn check_concurrent_clients(addr: SocketAddr) {
    let threads: Vec<_> = (0..8)
        .map(|_| {
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect(addr).unwrap();
                for _ in 0..20 {
                    stream
                        .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
                        .unwrap();
                    let (responses, _) = read_responses(&mut stream, 1);
                    assert_eq!(responses[0].0, 200);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
}

/// A config whose output cap is small, for [`check_slow_reader_is_cut_off`].
pub fn small_output() -> Config {
    Config {
        max_output_bytes: 64 * 1024,
        // So that only the output cap can end the connection.
        max_requests_per_connection: 1_000_000,
        rate_limit: 0,
        ..Config::default()
    }
}

/// A client that pipelines requests and never reads is cut off once its unread responses
/// pass the output cap, and the server goes on serving others.
pub fn check_slow_reader_is_cut_off(addr: SocketAddr) {
    let mut hog = TcpStream::connect(addr).unwrap();
    hog.set_write_timeout(Some(Duration::from_millis(500))).unwrap();
    let request = b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n";
    let started = Instant::now();
    let mut cut_off = false;
    // 20 000 responses are about 6 MB, far past the 64 KiB cap plus the socket buffers.
    for _ in 0..20_000 {
        if hog.write_all(request).is_err() {
            cut_off = true;
            break;
        }
        if started.elapsed() > DEADLINE {
            break;
        }
    }
    if !cut_off {
        // The server may have closed without our writes failing yet: reading shows it.
        hog.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut sink = vec![0u8; 1 << 20];
        let mut total = 0usize;
        loop {
            match hog.read(&mut sink) {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
        let responses = total / 300;
        assert!(
            responses < 20_000,
            "the hog got all {responses} responses: it was never cut off"
        );
    }
    // Others are still served.
    let mut other = TcpStream::connect(addr).unwrap();
    other.write_all(request).unwrap();
    let (responses, _) = read_responses(&mut other, 1);
    assert_eq!(responses[0].0, 200);
}

/// The seed's test: 101 rapid requests to `/health` from one address; exactly the 101st gets
/// 429 with the -32006 body, `Retry-After` and the `RateLimit` fields. The requests are
/// pipelined in one write, so they reach the core together whatever the machine's speed.
pub fn check_rate_limit(addr: SocketAddr) {
    let mut stream = TcpStream::connect(addr).unwrap();
    let request = b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n".repeat(101);
    stream.write_all(&request).unwrap();
    let (responses, _) = read_responses(&mut stream, 101);
    assert_eq!(responses.len(), 101);
    let mut limited = Vec::new();
    for (i, (status, head, body)) in responses.into_iter().enumerate() {
        if status == 429 {
            limited.push(i + 1);
            assert_eq!(
                String::from_utf8(body).unwrap(),
                r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32006,"message":"Too many requests"}}"#
            );
            let retry: u64 = head
                .lines()
                .find_map(|l| l.strip_prefix("Retry-After: "))
                .expect("Retry-After")
                .parse()
                .unwrap();
            assert!(retry >= 1, "Retry-After is never 0 while limited");
            assert!(
                head.contains("RateLimit-Policy: \"default\";q=100;w=60"),
                "{head}"
            );
            assert!(head.contains("RateLimit: \"default\";r=0;"), "{head}");
        } else {
            assert_eq!(status, 200, "request {}", i + 1);
        }
    }
    assert_eq!(limited, [101]);
}
