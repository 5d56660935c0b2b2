//! Authentication over HTTP on a virtual clock: bearer tokens (401 + WWW-Authenticate +
//! -32005), open probes, sessions that are never a credential and belong to their opener,
//! the RFC 9728 metadata document, and secrets kept out of logs.

mod common;

use common::http::{HttpHarness, INITIALIZE, Response, get};
use common::test_tools;
use rampart_core::Config;

const TOKEN: &str = "s3cr3t-alice-token";
const OTHER: &str = "s3cr3t-bob-token";

fn config() -> Config {
    Config::default()
        .apply_env([
            ("AUTH_TOKENS", format!("alice:{TOKEN},bob:{OTHER}")),
            ("AUTH_ISSUER", "https://auth.example.com".to_owned()),
            ("AUTH_RESOURCE", "https://mcp.example.com/mcp".to_owned()),
        ])
        .unwrap()
}

fn post(body: &str, token: Option<&str>, session: Option<&str>) -> Vec<u8> {
    let mut request = format!(
        "POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(token) = token {
        request.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    if let Some(session) = session {
        request.push_str(&format!("Mcp-Session-Id: {session}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    request.into_bytes()
}

fn assert_unauthorized(response: &Response, invalid_token: bool) {
    assert_eq!(response.status, 401);
    assert_eq!(response.json()["error"]["code"], -32005);
    let challenge = response.header("WWW-Authenticate").expect("a challenge");
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    assert!(
        challenge.contains(
            r#"resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp""#
        ),
        "{challenge}"
    );
    assert_eq!(
        challenge.contains(r#"error="invalid_token""#),
        invalid_token,
        "{challenge}"
    );
}

#[test]
fn requests_need_a_valid_bearer_token() {
    let mut h = HttpHarness::new(config(), test_tools());
    assert_unauthorized(&h.exchange(&post(INITIALIZE, None, None)), false);
    assert_unauthorized(&h.exchange(&post(INITIALIZE, Some("wrong"), None)), true);
    assert_unauthorized(
        &h.exchange(&post(INITIALIZE, Some(&TOKEN[..TOKEN.len() - 1]), None)),
        true,
    );
    let ok = h.exchange(&post(INITIALIZE, Some(TOKEN), None));
    assert_eq!(ok.status, 200);
    assert_eq!(h.logs.last().unwrap().principal.as_deref(), Some("alice"));
    // Probes stay open.
    assert_eq!(h.exchange(&get("/health")).status, 200);
    assert_eq!(h.exchange(&get("/ready")).status, 200);
}

#[test]
fn a_session_is_never_a_credential_and_belongs_to_its_opener() {
    let mut h = HttpHarness::new(config(), test_tools());
    let init = h.exchange(&post(INITIALIZE, Some(TOKEN), None));
    let session = init.header("Mcp-Session-Id").unwrap().to_owned();
    let ping = r#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#;
    assert_unauthorized(&h.exchange(&post(ping, None, Some(&session))), false);
    assert_eq!(h.exchange(&post(ping, Some(OTHER), Some(&session))).status, 404);
    assert_eq!(h.exchange(&post(ping, Some(TOKEN), Some(&session))).status, 200);
}

#[test]
fn the_protected_resource_metadata_is_served() {
    let mut h = HttpHarness::new(config(), test_tools());
    for path in [
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource",
    ] {
        let response = h.exchange(&get(path));
        assert_eq!(response.status, 200, "{path}");
        let doc = response.json();
        assert_eq!(doc["resource"], "https://mcp.example.com/mcp");
        assert_eq!(doc["authorization_servers"][0], "https://auth.example.com");
        assert_eq!(doc["bearer_methods_supported"][0], "header");
    }
}

#[test]
fn tokens_never_reach_logs_or_error_data() {
    let config = Config {
        debug: true,
        ..config()
    };
    let mut h = HttpHarness::new(config, test_tools());
    let wrong = "s3cr3t-wrong-token";
    let refused = h.exchange(&post(INITIALIZE, Some(wrong), None));
    assert!(!String::from_utf8_lossy(&refused.body).contains(wrong));
    h.exchange(&post(INITIALIZE, Some(TOKEN), None));
    for record in &h.logs {
        let line = record.to_json_line();
        assert!(!line.contains("s3cr3t"), "{line}");
    }
    let config_debug = format!("{:?}", h.server.config());
    assert!(!config_debug.contains("s3cr3t"), "{config_debug}");
}

#[test]
fn a_bad_tokens_setting_names_the_entry_not_the_token() {
    let err = Config::default()
        .apply_env([("AUTH_TOKENS", "alice:ok-token,bob:bad token")])
        .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("AUTH_TOKENS"), "{message}");
    assert!(
        !message.contains("ok-token") && !message.contains("bad token"),
        "{message}"
    );
}
