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

/// A config that accepts ES256 access tokens from `issuer` for this resource.
fn jwt_config(issuer: &common::jwt::Issuer) -> Config {
    Config::default()
        .apply_env([
            ("AUTH_ISSUER", "https://auth.example.com"),
            ("AUTH_RESOURCE", "https://mcp.example.com/mcp"),
        ])
        .unwrap()
        .with_jwks(&issuer.jwks())
        .unwrap()
}

fn claims(scope: &str, exp: u64) -> serde_json::Value {
    serde_json::json!({
        "iss": "https://auth.example.com",
        "aud": "https://mcp.example.com/mcp",
        "sub": "user-42",
        "exp": exp,
        "scope": scope,
    })
}

#[test]
fn jwt_access_tokens_are_verified_and_scoped() {
    let issuer = common::jwt::Issuer::new(7, "key-1");
    let tools = test_tools()
        .with(
            rampart_core::Tool::new(
                "admin.wipe@v1",
                serde_json::json!({"type": "object"}),
                |_, _| async { Ok(rampart_core::ToolOutput::text("wiped")) },
            )
            .required_scope("admin"),
        )
        .unwrap();
    let mut h = HttpHarness::new(jwt_config(&issuer), tools);
    // The harness clock stands at 2027-01-15: 1 800 000 000 seconds after the epoch.
    let now = 1_800_000_000;
    let reader = issuer.token(&claims("tools:read", now + 600));
    let init = h.exchange(&post(INITIALIZE, Some(&reader), None));
    assert_eq!(init.status, 200);
    assert_eq!(h.logs.last().unwrap().principal.as_deref(), Some("user-42"));
    let session = init.header("Mcp-Session-Id").unwrap().to_owned();

    // Calling a tool that needs a scope the token lacks: 403 insufficient_scope.
    let call =
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"admin.wipe@v1","arguments":{}}}"#;
    let denied = h.exchange(&post(call, Some(&reader), Some(&session)));
    assert_eq!(denied.status, 403);
    assert_eq!(denied.json()["error"]["code"], -32005);
    let challenge = denied.header("WWW-Authenticate").unwrap();
    assert!(
        challenge.contains(r#"error="insufficient_scope""#) && challenge.contains(r#"scope="admin""#),
        "{challenge}"
    );
    // Tools without a scope work.
    let echo = r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}"#;
    assert_eq!(h.exchange(&post(echo, Some(&reader), Some(&session))).status, 200);

    // Expired, foreign-key and wrong-audience tokens are 401 invalid_token.
    let expired = issuer.token(&claims("tools:read", now - 3600));
    assert_unauthorized(&h.exchange(&post(INITIALIZE, Some(&expired), None)), true);
    let stranger = common::jwt::Issuer::new(9, "key-1").token(&claims("admin", now + 600));
    assert_unauthorized(&h.exchange(&post(INITIALIZE, Some(&stranger), None)), true);
    let mut other_audience = claims("admin", now + 600);
    other_audience["aud"] = serde_json::json!("https://elsewhere.example.com/mcp");
    assert_unauthorized(
        &h.exchange(&post(INITIALIZE, Some(&issuer.token(&other_audience)), None)),
        true,
    );

    // An admin token (its own session) may call it.
    let admin = issuer.token(&claims("tools:read admin", now + 600));
    let init = h.exchange(&post(INITIALIZE, Some(&admin), None));
    let session = init.header("Mcp-Session-Id").unwrap().to_owned();
    let done = h.exchange(&post(call, Some(&admin), Some(&session)));
    assert_eq!(done.json()["result"]["content"][0]["text"], "wiped");
}
