//! The seed's curl examples, run with the real `curl` binary against the demo over HTTP on
//! both runtimes: health and readiness probes, a tools/call with a missing parameter over a
//! real session, and CORS (preflight answers, and origins off the `ALLOWED_ORIGINS` list are
//! never reflected and get 403). Every response must carry the security headers and an
//! `X-Request-Id`.
//!
//! `curl` must be on PATH (`bash scripts/test.sh` installs it with apt-get when it can); a
//! missing curl fails these tests rather than skipping them.

mod support;

use std::process::Command;
use std::sync::OnceLock;

use serde_json::{Value, json};
use support::{DemoServer, RUNTIMES};

const PROTOCOL_VERSION: &str = "2025-11-25";

/// The security headers every response must carry, with their exact values.
const SECURITY_HEADERS: [(&str, &str); 4] = [
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("X-XSS-Protection", "1; mode=block"),
    ("Strict-Transport-Security", "max-age=31536000; includeSubDomains"),
];

/// One HTTP response as `curl -i` printed it.
struct Response {
    what: String,
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Response {
    /// The first value of header `name` (case-insensitive).
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether any `name` header, read as a comma-separated list, holds `token` (case-insensitive).
    fn list_has(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.split(','))
            .any(|item| item.trim().eq_ignore_ascii_case(token))
    }

    /// The body parsed as JSON.
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("{}: body is not JSON ({e}):\n{}", self.what, self.dump()))
    }

    /// The JSON-RPC message with `id`, from a JSON body or from the events of an SSE body.
    fn message(&self, id: i64) -> Value {
        let content_type = self
            .header("content-type")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let messages: Vec<Value> = if content_type.starts_with("text/event-stream") {
            sse_data(&self.body)
                .iter()
                .filter_map(|data| serde_json::from_str(data).ok())
                .collect()
        } else if content_type.starts_with("application/json") {
            vec![self.json()]
        } else {
            panic!(
                "{}: unexpected Content-Type {content_type:?}:\n{}",
                self.what,
                self.dump()
            );
        };
        messages
            .into_iter()
            .find(|m| m["id"] == json!(id))
            .unwrap_or_else(|| {
                panic!(
                    "{}: no JSON-RPC message with id {id}:\n{}",
                    self.what,
                    self.dump()
                )
            })
    }

    fn dump(&self) -> String {
        let headers: String = self.headers.iter().map(|(n, v)| format!("{n}: {v}\n")).collect();
        format!("HTTP {}\n{headers}\n{}", self.status, self.body)
    }

    fn expect_status(&self, ok: impl Fn(u16) -> bool, wanted: &str) {
        assert!(
            ok(self.status),
            "{}: expected {wanted}, got:\n{}",
            self.what,
            self.dump()
        );
    }

    /// Checks the security headers and the request id every response must carry.
    fn expect_hardened(&self) {
        for (name, value) in SECURITY_HEADERS {
            let got = self.header(name);
            assert!(
                got.is_some_and(|got| got.trim().eq_ignore_ascii_case(value)),
                "{}: expected header `{name}: {value}`, got {got:?}:\n{}",
                self.what,
                self.dump()
            );
        }
        assert!(
            self.header("x-request-id")
                .is_some_and(|id| !id.trim().is_empty()),
            "{}: no X-Request-Id header:\n{}",
            self.what,
            self.dump()
        );
    }
}

/// The `data:` payloads of each event in an SSE body.
fn sse_data(body: &str) -> Vec<String> {
    let body = body.replace("\r\n", "\n");
    body.split("\n\n")
        .map(|event| {
            event
                .lines()
                .filter_map(|line| line.strip_prefix("data:"))
                .map(|data| data.strip_prefix(' ').unwrap_or(data))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .filter(|data| !data.trim().is_empty())
        .collect()
}

/// Fails the test with a clear message when there is no usable curl.
fn require_curl() {
    static VERSION: OnceLock<Result<String, String>> = OnceLock::new();
    let version = VERSION.get_or_init(|| match Command::new("curl").arg("--version").output() {
        Ok(out) if out.status.success() => Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned()),
        Ok(out) => Err(format!("`curl --version` exited with {}", out.status)),
        Err(e) => Err(format!("cannot run `curl --version`: {e}")),
    });
    if let Err(err) = version {
        panic!(
            "FAIL: these tests need the curl binary on PATH ({err}); install it (e.g. `apt-get install curl`) \
             or run `bash scripts/test.sh` as root, which installs it"
        );
    }
}

/// Runs `curl -s -S -i --max-time 10 ARGS...` and parses what it printed.
fn curl(what: &str, server: &DemoServer, args: &[&str]) -> Response {
    require_curl();
    let out = Command::new("curl")
        .args(["-s", "-S", "-i", "--max-time", "10"])
        .args(args)
        .output()
        .expect("run curl");
    let what = format!("[{}] {what}", server.runtime);
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what}: curl {} failed with {}: {}\n--- curl stdout ---\n{printed}\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr).trim(),
        server.logs_tail(30)
    );
    parse_response(what, &printed)
}

/// Parses `curl -i` output: header blocks (skipping any 1xx interim ones), then the body.
fn parse_response(what: String, printed: &str) -> Response {
    let mut rest = printed;
    loop {
        let (head, body) = rest
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("{what}: no complete header block in curl output:\n{printed}"));
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let status: u16 = status_line
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("{what}: bad status line {status_line:?}"));
        if (100..200).contains(&status) {
            rest = body;
            continue;
        }
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
            .collect();
        return Response {
            what,
            status,
            headers,
            body: body.to_owned(),
        };
    }
}

/// Checks an RFC 3339 date-time: `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`.
fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 20 || !s.is_ascii() {
        return false;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        if b[from..to].iter().all(u8::is_ascii_digit) {
            s[from..to].parse().ok()
        } else {
            None
        }
    };
    let shape =
        b[4] == b'-' && b[7] == b'-' && matches!(b[10], b'T' | b't') && b[13] == b':' && b[16] == b':';
    let (Some(_), Some(month), Some(day), Some(hour), Some(minute), Some(second)) = (
        num(0, 4),
        num(5, 7),
        num(8, 10),
        num(11, 13),
        num(14, 16),
        num(17, 19),
    ) else {
        return false;
    };
    if !shape
        || !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return false;
    }
    let mut rest = &s[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return false;
        }
        rest = &fraction[digits..];
    }
    if rest.eq_ignore_ascii_case("z") {
        return true;
    }
    let o = rest.as_bytes();
    o.len() == 6
        && matches!(o[0], b'+' | b'-')
        && o[3] == b':'
        && [1, 2, 4, 5].iter().all(|&i| o[i].is_ascii_digit())
}

/// Sends one JSON-RPC message to `/mcp` with the headers a Streamable HTTP client sends.
fn post_mcp(
    what: &str,
    server: &DemoServer,
    session: Option<&str>,
    extra: &[&str],
    body: &Value,
) -> Response {
    let url = server.mcp_url();
    let body = body.to_string();
    let session_header = session.map(|id| format!("Mcp-Session-Id: {id}"));
    let version_header = format!("MCP-Protocol-Version: {PROTOCOL_VERSION}");
    let mut args = vec![
        "-X",
        "POST",
        url.as_str(),
        "-H",
        "Content-Type: application/json",
        "-H",
        "Accept: application/json, text/event-stream",
    ];
    if let Some(header) = &session_header {
        args.extend(["-H", header.as_str(), "-H", version_header.as_str()]);
    }
    args.extend_from_slice(extra);
    args.extend(["--data-raw", body.as_str()]);
    curl(what, server, &args)
}

fn initialize_request() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": PROTOCOL_VERSION,
        "capabilities": {},
        "clientInfo": {"name": "curl", "version": "0"}
    }})
}

/// A CORS preflight for a POST to `/mcp` from `origin`.
fn preflight(what: &str, server: &DemoServer, origin: &str) -> Response {
    let url = server.mcp_url();
    let origin = format!("Origin: {origin}");
    curl(
        what,
        server,
        &[
            "-X",
            "OPTIONS",
            url.as_str(),
            "-H",
            origin.as_str(),
            "-H",
            "Access-Control-Request-Method: POST",
            "-H",
            "Access-Control-Request-Headers: content-type, mcp-session-id",
        ],
    )
}

#[test]
fn rfc3339_checker() {
    for good in [
        "2025-11-25T08:09:10Z",
        "2025-11-25T08:09:10.123456Z",
        "2025-11-25t08:09:10+01:00",
    ] {
        assert!(is_rfc3339(good), "{good}");
    }
    for bad in [
        "2025-11-25 08:09:10Z",
        "2025-13-25T08:09:10Z",
        "2025-11-25T08:09:10",
        "1732435750",
        "",
    ] {
        assert!(!is_rfc3339(bad), "{bad}");
    }
}

#[test]
fn health_over_curl() {
    for runtime in RUNTIMES {
        let server = DemoServer::start(runtime, &[]);
        let health = curl("GET /health", &server, &[&server.url("/health")]);
        health.expect_status(|s| s == 200, "200");
        health.expect_hardened();
        let content_type = health.header("content-type").unwrap_or_default();
        assert!(
            content_type.to_ascii_lowercase().starts_with("application/json"),
            "{}: Content-Type {content_type:?} is not application/json",
            health.what
        );
        let body = health.json();
        assert_eq!(body["status"], "alive", "{}: {body}", health.what);
        assert!(
            body["uptime_seconds"].is_number(),
            "{}: uptime_seconds is not a number: {body}",
            health.what
        );
        let timestamp = body["timestamp"].as_str().unwrap_or_default();
        assert!(
            is_rfc3339(timestamp),
            "{}: timestamp {timestamp:?} is not RFC 3339: {body}",
            health.what
        );

        // A sane client request id is used and echoed.
        let echoed = curl(
            "GET /health with X-Request-Id",
            &server,
            &["-H", "X-Request-Id: curl-health-1234", &server.url("/health")],
        );
        echoed.expect_status(|s| s == 200, "200");
        echoed.expect_hardened();
        assert_eq!(
            echoed.header("x-request-id"),
            Some("curl-health-1234"),
            "{}: the client's X-Request-Id was not echoed:\n{}",
            echoed.what,
            echoed.dump()
        );
    }
}

#[test]
fn ready_over_curl() {
    for runtime in RUNTIMES {
        let server = DemoServer::start(runtime, &[]);
        let ready = curl("GET /ready", &server, &[&server.url("/ready")]);
        ready.expect_status(|s| s == 200, "200");
        ready.expect_hardened();
        let body = ready.json();
        assert_eq!(body["status"], "ok", "{}: {body}", ready.what);
        assert_eq!(body["checks"]["tools"], "ok", "{}: {body}", ready.what);
    }
}

#[test]
fn missing_parameter_over_curl() {
    for runtime in RUNTIMES {
        let server = DemoServer::start(runtime, &[]);

        let init = post_mcp("POST initialize", &server, None, &[], &initialize_request());
        init.expect_status(|s| s == 200, "200");
        init.expect_hardened();
        let session = init
            .header("mcp-session-id")
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| panic!("{}: no Mcp-Session-Id header:\n{}", init.what, init.dump()))
            .to_owned();
        let reply = init.message(1);
        assert_eq!(
            reply["result"]["protocolVersion"], PROTOCOL_VERSION,
            "{}: {reply}",
            init.what
        );

        let initialized = post_mcp(
            "POST notifications/initialized",
            &server,
            Some(&session),
            &[],
            &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        );
        initialized.expect_status(|s| s == 202, "202 Accepted");
        initialized.expect_hardened();

        let call = post_mcp(
            "POST tools/call user.create@v1 {}",
            &server,
            Some(&session),
            &[],
            &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                    "params": {"name": "user.create@v1", "arguments": {}}}),
        );
        call.expect_status(|s| s == 200, "200");
        call.expect_hardened();
        let reply = call.message(2);
        assert_eq!(
            reply["error"],
            json!({"code": -32000, "message": "Missing required parameter: email"}),
            "{}: {reply}",
            call.what
        );
    }
}

/// The seed's own example, as written: plain JSON-RPC with curl's own `Accept: */*`, no
/// session and no revision header, is served on its own.
#[test]
fn the_seed_example_works_as_written() {
    for runtime in RUNTIMES {
        let server = DemoServer::start(runtime, &[]);
        let url = server.mcp_url();
        let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"user.create@v1","arguments":{}}}"#;
        let call = curl(
            "the seed's curl example",
            &server,
            &[
                "-X",
                "POST",
                url.as_str(),
                "-H",
                "Content-Type: application/json",
                "-d",
                body,
            ],
        );
        call.expect_status(|s| s == 200, "200");
        call.expect_hardened();
        assert_eq!(call.header("mcp-session-id"), None, "{}", call.dump());
        assert_eq!(
            call.message(1)["error"],
            json!({"code": -32000, "message": "Missing required parameter: email"}),
            "{}",
            call.dump()
        );
    }
}

/// A 2026-07-28 request over curl: headers repeat the body, `_meta` names the revision.
#[test]
fn a_2026_request_over_curl() {
    for runtime in RUNTIMES {
        let server = DemoServer::start(runtime, &[]);
        let body = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {
            "name": "echo",
            "arguments": {"text": "hi"},
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {}
            }
        }});
        let headers = [
            "-H",
            "MCP-Protocol-Version: 2026-07-28",
            "-H",
            "Mcp-Method: tools/call",
            "-H",
            "Mcp-Name: echo",
        ];
        let call = post_mcp("POST 2026 tools/call echo", &server, None, &headers, &body);
        call.expect_status(|s| s == 200, "200");
        call.expect_hardened();
        assert_eq!(call.header("mcp-session-id"), None, "{}", call.dump());
        let result = &call.message(3)["result"];
        assert_eq!(result["content"][0]["text"], "hi", "{}", call.dump());
        assert_eq!(result["resultType"], "complete", "{}", call.dump());
        assert_eq!(
            result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
            "rampart-demo",
            "{}",
            call.dump()
        );
        // The name header disagrees with the body: 400 with -32020.
        let wrong = [
            headers[0],
            headers[1],
            headers[2],
            headers[3],
            "-H",
            "Mcp-Name: add",
        ];
        let refused = post_mcp(
            "POST 2026 tools/call, wrong Mcp-Name",
            &server,
            None,
            &wrong,
            &body,
        );
        refused.expect_status(|s| s == 400, "400");
        assert_eq!(refused.message(3)["error"]["code"], -32020, "{}", refused.dump());
    }
}

#[test]
fn cors_preflight_over_curl() {
    let origin = "http://localhost:3000";
    for runtime in RUNTIMES {
        let server = DemoServer::start(runtime, &[]);
        let pre = preflight("OPTIONS /mcp preflight", &server, origin);
        pre.expect_status(|s| (200..300).contains(&s), "2xx");
        pre.expect_hardened();
        let allow_origin = pre.header("access-control-allow-origin");
        assert!(
            allow_origin == Some(origin) || allow_origin == Some("*"),
            "{}: Access-Control-Allow-Origin should be {origin} (or *), got {allow_origin:?}:\n{}",
            pre.what,
            pre.dump()
        );
        if allow_origin == Some("*") {
            assert_ne!(
                pre.header("access-control-allow-credentials"),
                Some("true"),
                "{}: credentials allowed with a wildcard origin",
                pre.what
            );
        }
        let lists = [
            ("access-control-allow-methods", "POST"),
            ("access-control-allow-headers", "Content-Type"),
            ("access-control-allow-headers", "Mcp-Session-Id"),
            ("access-control-allow-headers", "MCP-Protocol-Version"),
            ("access-control-expose-headers", "Mcp-Session-Id"),
            ("vary", "Origin"),
        ];
        for (header, token) in lists {
            assert!(
                pre.list_has(header, token),
                "{}: {header} lacks {token}:\n{}",
                pre.what,
                pre.dump()
            );
        }

        // The actual request: a browser may only read Mcp-Session-Id if this response exposes it.
        let origin_header = format!("Origin: {origin}");
        let init = post_mcp(
            "POST initialize with Origin",
            &server,
            None,
            &["-H", &origin_header],
            &initialize_request(),
        );
        init.expect_status(|s| s == 200, "200");
        init.expect_hardened();
        let allow_origin = init.header("access-control-allow-origin");
        assert!(
            allow_origin == Some(origin) || allow_origin == Some("*"),
            "{}: Access-Control-Allow-Origin should be {origin} (or *), got {allow_origin:?}:\n{}",
            init.what,
            init.dump()
        );
        for (header, token) in [
            ("access-control-expose-headers", "Mcp-Session-Id"),
            ("vary", "Origin"),
        ] {
            assert!(
                init.list_has(header, token),
                "{}: {header} lacks {token}:\n{}",
                init.what,
                init.dump()
            );
        }
    }
}

#[test]
fn cors_never_reflects_an_unlisted_origin() {
    let good = "http://good.example";
    let evil = "http://evil.example";
    for runtime in RUNTIMES {
        let server = DemoServer::start(runtime, &[("ALLOWED_ORIGINS", good)]);

        let pre = preflight("OPTIONS /mcp preflight from an unlisted origin", &server, evil);
        pre.expect_hardened();
        let allow_origin = pre.header("access-control-allow-origin");
        assert!(
            allow_origin != Some(evil) && allow_origin != Some("*"),
            "{}: an unlisted origin was allowed (Access-Control-Allow-Origin {allow_origin:?}):\n{}",
            pre.what,
            pre.dump()
        );

        let evil_header = format!("Origin: {evil}");
        let post = post_mcp(
            "POST initialize from an unlisted origin",
            &server,
            None,
            &["-H", &evil_header],
            &initialize_request(),
        );
        post.expect_status(|s| s == 403, "403 Forbidden");
        post.expect_hardened();
        let allow_origin = post.header("access-control-allow-origin");
        assert!(
            allow_origin != Some(evil) && allow_origin != Some("*"),
            "{}: an unlisted origin was allowed (Access-Control-Allow-Origin {allow_origin:?}):\n{}",
            post.what,
            post.dump()
        );
        assert!(
            post.header("mcp-session-id").is_none(),
            "{}: a session was created for a refused request:\n{}",
            post.what,
            post.dump()
        );

        // The listed origin still works, and is reflected exactly.
        let pre = preflight("OPTIONS /mcp preflight from the listed origin", &server, good);
        pre.expect_status(|s| (200..300).contains(&s), "2xx");
        pre.expect_hardened();
        assert_eq!(
            pre.header("access-control-allow-origin"),
            Some(good),
            "{}:\n{}",
            pre.what,
            pre.dump()
        );
        assert!(
            pre.list_has("vary", "Origin"),
            "{}: Vary lacks Origin:\n{}",
            pre.what,
            pre.dump()
        );

        let good_header = format!("Origin: {good}");
        let post = post_mcp(
            "POST initialize from the listed origin",
            &server,
            None,
            &["-H", &good_header],
            &initialize_request(),
        );
        post.expect_status(|s| s == 200, "200");
        post.expect_hardened();
        assert_eq!(
            post.header("access-control-allow-origin"),
            Some(good),
            "{}:\n{}",
            post.what,
            post.dump()
        );
    }
}
