//! Rate limits and authentication of the real demo over real sockets, on both runtimes: the
//! seed's loop of 101 `curl /health` (one 429), 401 with its challenge, the RFC 9728
//! metadata document, static bearer tokens, and an ES256 JWT signed by a key made here.

mod support;

#[path = "../../core/tests/common/jwt.rs"]
mod jwt;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use support::{DemoServer, RUNTIMES};

#[test]
fn the_seed_loop_of_101_curls_gets_one_429() {
    for runtime in RUNTIMES {
        // The loop's requests come through a trusted proxy on behalf of one client, so the
        // health checks that waited for the server to start do not count against it.
        let server = DemoServer::start(runtime, &[("TRUSTED_PROXIES", "127.0.0.1/32")]);
        // One curl process, 101 URLs: the requests follow each other on one keep-alive
        // connection within milliseconds (a token comes back only every 600 ms).
        let url = server.url("/health");
        let out = Command::new("curl")
            .args(["-s", "-w", "%{http_code}\\n", "--max-time", "30"])
            .args(["-H", "X-Forwarded-For: 198.51.100.7"])
            .args((0..101).flat_map(|_| ["-o", "/dev/null", url.as_str()]))
            .output()
            .expect("curl runs (bash scripts/test.sh installs it)");
        let statuses: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(String::from)
            .collect();
        assert_eq!(statuses.len(), 101, "{runtime}: {statuses:?}");
        let limited: Vec<usize> = statuses
            .iter()
            .enumerate()
            .filter(|(_, s)| *s == "429")
            .map(|(i, _)| i + 1)
            .collect();
        assert_eq!(limited, [101], "{runtime}: {statuses:?}");
        assert!(
            statuses[..100].iter().all(|s| s == "200"),
            "{runtime}: {statuses:?}"
        );
    }
}

/// Sends one request and returns the status, the head and the body.
fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut text = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(text.as_bytes()).unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("a response");
    (head[9..12].parse().unwrap(), head.to_owned(), body.to_owned())
}

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;

fn initialize(port: u16, token: Option<&str>) -> (u16, String, String) {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![
        ("Content-Type", "application/json"),
        ("Accept", "application/json, text/event-stream"),
    ];
    if let Some(bearer) = &bearer {
        headers.push(("Authorization", bearer));
    }
    request(port, "POST", "/mcp", &headers, INITIALIZE)
}

#[test]
fn bearer_tokens_jwts_and_the_metadata_document() {
    let issuer = jwt::Issuer::new(11, "demo-key");
    let dir = std::env::temp_dir().join(format!("rampart-auth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let jwks = dir.join("jwks.json");
    std::fs::write(&jwks, issuer.jwks()).unwrap();
    let tokens = dir.join("tokens");
    std::fs::write(&tokens, "# demo tokens\nci-bot:file-token-123\n").unwrap();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    for runtime in RUNTIMES {
        let server = DemoServer::start(
            runtime,
            &[
                ("AUTH_TOKENS", "alice:env-token-456"),
                ("AUTH_TOKENS_FILE", tokens.to_str().unwrap()),
                ("AUTH_ISSUER", "https://auth.example.com"),
                ("AUTH_RESOURCE", "https://mcp.example.com/mcp"),
                ("AUTH_JWKS_FILE", jwks.to_str().unwrap()),
            ],
        );
        let (status, head, body) = initialize(server.port, None);
        assert_eq!(status, 401, "{runtime}");
        assert!(
            head.contains(r#"WWW-Authenticate: Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp""#),
            "{head}"
        );
        let error: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(error["error"]["code"], -32005);
        let (status, head, _) = initialize(server.port, Some("nope"));
        assert_eq!(status, 401);
        assert!(head.contains(r#"error="invalid_token""#), "{head}");

        for token in ["env-token-456", "file-token-123"] {
            assert_eq!(initialize(server.port, Some(token)).0, 200, "{runtime}: {token}");
        }
        let claims = json!({"iss": "https://auth.example.com", "aud": "https://mcp.example.com/mcp",
                            "sub": "jwt-user", "exp": now + 600, "scope": "users:write"});
        assert_eq!(
            initialize(server.port, Some(&issuer.token(&claims))).0,
            200,
            "{runtime}: JWT"
        );

        let (status, _, body) = request(
            server.port,
            "GET",
            "/.well-known/oauth-protected-resource/mcp",
            &[],
            "",
        );
        assert_eq!(status, 200);
        let doc: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(doc["resource"], "https://mcp.example.com/mcp");
        assert_eq!(doc["authorization_servers"], json!(["https://auth.example.com"]));
        assert_eq!(
            request(server.port, "GET", "/health", &[], "").0,
            200,
            "probes stay open"
        );

        let principals = |logs: &str| {
            logs.contains(r#""principal":"ci-bot""#) && logs.contains(r#""principal":"jwt-user""#)
        };
        // Lines are written in order: once the last initialize's line is in, so are the others.
        let logs = server.logs_once(principals);
        assert!(principals(&logs), "{runtime}: principals in the logs");
        for secret in ["env-token-456", "file-token-123", "nope"] {
            assert!(!logs.contains(secret), "{runtime}: a token reached the logs");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
