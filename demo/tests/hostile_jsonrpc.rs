//! The hostile JSON-RPC inputs, each with its exact outcome, sent to the real demo over
//! stdio and over HTTP on both runtimes. Ids follow DESIGN.md: strings and integers within
//! i64/u64 echo exactly (`-0` and 2^53+1 included); floats, `1e400`, 2^64, null, objects,
//! arrays and bools are refused with -32600 and a null id.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;
use support::{DemoServer, RUNTIMES, read_in_background, start_stdio_demo};

/// What one input must get: the error code (or `None` for a result) and the id's JSON text.
struct Case {
    name: &'static str,
    body: Vec<u8>,
    code: Option<i64>,
    id: &'static str,
}

fn nested(depth: usize) -> Vec<u8> {
    format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"x":{}{}}}}}"#,
        "[".repeat(depth),
        "]".repeat(depth)
    )
    .into_bytes()
}

fn cases() -> Vec<Case> {
    let case = |name, body: &[u8], code, id| Case {
        name,
        body: body.to_vec(),
        code,
        id,
    };
    let big_array = format!(
        "[{}]",
        vec![r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#; 10_000].join(",")
    );
    vec![
        case(
            "invalid JSON",
            br#"{"jsonrpc":"2.0","id":1,"method":"#,
            Some(-32700),
            "null",
        ),
        case(
            "trailing bytes",
            br#"{"jsonrpc":"2.0","id":1,"method":"ping"} x"#,
            Some(-32700),
            "null",
        ),
        case(
            "two objects",
            br#"{"jsonrpc":"2.0","id":1,"method":"ping"}{"jsonrpc":"2.0","id":2,"method":"ping"}"#,
            Some(-32700),
            "null",
        ),
        // The envelope and params objects are two levels, so 125 arrays make 127.
        case("nesting 127", &nested(125), None, "1"),
        case("nesting 128", &nested(126), Some(-32700), "null"),
        case("nesting 100 000", &nested(100_000), Some(-32700), "null"),
        case(
            "lone surrogate",
            br#"{"jsonrpc":"2.0","id":1,"method":"ping","params":{"s":"\ud800"}}"#,
            Some(-32700),
            "null",
        ),
        case(
            "byte order mark",
            b"\xef\xbb\xbf{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}",
            Some(-32700),
            "null",
        ),
        case(
            "invalid UTF-8",
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"s\":\"\xff\"}}",
            Some(-32700),
            "null",
        ),
        case(
            "duplicate method",
            br#"{"jsonrpc":"2.0","id":1,"method":"ping","method":"tools/list"}"#,
            Some(-32600),
            "null",
        ),
        case(
            "duplicate id",
            br#"{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}"#,
            Some(-32600),
            "null",
        ),
        case(
            "id 1e400",
            br#"{"jsonrpc":"2.0","id":1e400,"method":"ping"}"#,
            Some(-32600),
            "null",
        ),
        case(
            "id 2^64",
            br#"{"jsonrpc":"2.0","id":18446744073709551616,"method":"ping"}"#,
            Some(-32600),
            "null",
        ),
        case(
            "id 1.0",
            br#"{"jsonrpc":"2.0","id":1.0,"method":"ping"}"#,
            Some(-32600),
            "null",
        ),
        case(
            "id -0",
            br#"{"jsonrpc":"2.0","id":-0,"method":"ping"}"#,
            None,
            "-0",
        ),
        case(
            "id 2^53+1",
            br#"{"jsonrpc":"2.0","id":9007199254740993,"method":"ping"}"#,
            None,
            "9007199254740993",
        ),
        case(
            "id null",
            br#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#,
            Some(-32600),
            "null",
        ),
        case(
            "id object",
            br#"{"jsonrpc":"2.0","id":{},"method":"ping"}"#,
            Some(-32600),
            "null",
        ),
        case(
            "id array",
            br#"{"jsonrpc":"2.0","id":[1],"method":"ping"}"#,
            Some(-32600),
            "null",
        ),
        case(
            "id bool",
            br#"{"jsonrpc":"2.0","id":true,"method":"ping"}"#,
            Some(-32600),
            "null",
        ),
        case(
            "jsonrpc missing",
            br#"{"id":1,"method":"ping"}"#,
            Some(-32600),
            "1",
        ),
        case(
            "jsonrpc 1.0",
            br#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#,
            Some(-32600),
            "1",
        ),
        case(
            "method not a string",
            br#"{"jsonrpc":"2.0","id":1,"method":42}"#,
            Some(-32600),
            "1",
        ),
        case(
            "params not an object",
            br#"{"jsonrpc":"2.0","id":1,"method":"ping","params":"x"}"#,
            Some(-32600),
            "1",
        ),
        case(
            "rpc.* method",
            br#"{"jsonrpc":"2.0","id":1,"method":"rpc.discover"}"#,
            Some(-32601),
            "1",
        ),
        case(
            "escaped NUL in method",
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/\u0000list"}"#,
            Some(-32601),
            "1",
        ),
        case("empty array", b"[]", Some(-32600), "null"),
        case("10 000-element array", big_array.as_bytes(), Some(-32600), "null"),
    ]
}

fn check(case: &Case, raw: &str, transport: &str) {
    let response: Value = serde_json::from_str(raw).expect("a JSON response");
    let code = response["error"]["code"].as_i64();
    assert_eq!(code, case.code, "{transport}: code for {}: {response}", case.name);
    if case.code.is_none() {
        assert!(
            response["result"].is_object(),
            "{transport}: result for {}",
            case.name
        );
    }
    // Compared as text: `-0` must come back as `-0`, not as a float.
    let id = format!("\"id\":{},", case.id);
    assert!(
        raw.contains(&id),
        "{transport}: id for {} should be {}: {raw}",
        case.name,
        case.id
    );
}

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;

#[test]
fn hostile_inputs_over_stdio() {
    let mut child = start_stdio_demo();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let errors = read_in_background(child.stderr.take().unwrap());
    let writer = std::thread::spawn(move || {
        writeln!(stdin, "{INITIALIZE}").unwrap();
        for case in cases() {
            stdin.write_all(&case.body).unwrap();
            stdin.write_all(b"\n").unwrap();
        }
    });
    let mut lines = BufReader::new(stdout).lines();
    let mut next = || -> String { lines.next().expect("a response").unwrap() };
    assert!(next().contains(r#""id":"init""#));
    // Every case is answered at once, so responses come in order.
    for case in cases() {
        check(&case, &next(), "stdio");
    }
    writer.join().unwrap();
    assert!(child.wait().unwrap().success());
    let logs = errors.join().unwrap();
    assert!(!logs.contains(&0), "a NUL reached the log raw");
    let logs = String::from_utf8(logs).expect("logs are UTF-8");
    assert!(logs.contains(r"tools/\u0000list"), "the NUL is logged escaped");
    for line in logs.lines() {
        serde_json::from_str::<Value>(line).expect("every log line is JSON");
    }
}

/// Posts `body` with the session's headers and returns the status and the JSON body.
fn post(port: u16, session: Option<&str>, body: &[u8]) -> (u16, String, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut request = format!(
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    )
    .into_bytes();
    if let Some(session) = session {
        request.extend(format!("Mcp-Session-Id: {session}\r\nMCP-Protocol-Version: 2025-11-25\r\n").bytes());
    }
    request.extend(b"\r\n");
    request.extend(body);
    stream.write_all(&request).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a response");
    let status = head[9..12].parse().unwrap();
    (status, body.to_owned(), head.to_owned())
}

#[test]
fn hostile_inputs_over_http() {
    for runtime in RUNTIMES {
        let server = DemoServer::start(runtime, &[]);
        let (_, _, head) = post(server.port, None, INITIALIZE.as_bytes());
        let session = head
            .lines()
            .find_map(|l| l.strip_prefix("Mcp-Session-Id: "))
            .expect("a session")
            .to_owned();
        for case in cases() {
            let (status, response, _) = post(server.port, Some(&session), &case.body);
            let expected = match case.code {
                Some(-32700 | -32600) => 400,
                _ => 200,
            };
            assert_eq!(status, expected, "{runtime}: status for {}", case.name);
            check(&case, &response, runtime);
        }
        let logs = server.logs_once(|logs| logs.contains(r"tools/\u0000list"));
        assert!(logs.contains(r"tools/\u0000list"), "the NUL is logged escaped");
    }
}
