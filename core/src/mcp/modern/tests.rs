//! Unit tests of the 2026-07-28 pieces: telling eras apart, the header checks, the metadata
//! checks, and sealed request state.

use std::time::{Duration, SystemTime};

use serde_json::{Map, Value, json};

use super::headers::{Headers, check};
use super::state::{Binding, Refusal, StateKey, open, request_digest, seal};
use super::{Era, check_meta, era};
use crate::error::ErrorCode;

const META: &str = r#"{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#;

fn params(extra: &str) -> Value {
    serde_json::from_str(&format!(r#"{{"_meta":{META}{extra}}}"#)).unwrap()
}

#[test]
fn the_era_of_a_message() {
    let modern = params("");
    let plain = json!({"name": "echo", "_meta": {"progressToken": 1}});
    type Case<'a> = (Option<&'a [u8]>, Option<&'a str>, Option<&'a Value>, Era);
    let cases: [Case<'_>; 11] = [
        // The header decides when it names a revision without sessions, or one unknown.
        (Some(b"2026-07-28"), Some("tools/list"), None, Era::Modern),
        (Some(b"v999.0.0"), Some("tools/list"), None, Era::Modern),
        (Some(b"2026-07-28"), None, None, Era::Modern),
        // A revision with sessions leaves it to the body.
        (Some(b"2025-11-25"), Some("tools/list"), None, Era::Legacy),
        (
            Some(b"2025-11-25"),
            Some("tools/list"),
            Some(&modern),
            Era::Modern,
        ),
        // Without a header, `_meta` decides, except for initialize.
        (None, Some("tools/list"), Some(&modern), Era::Modern),
        (None, Some("server/discover"), Some(&modern), Era::Modern),
        (None, Some("initialize"), Some(&modern), Era::Legacy),
        (None, Some("tools/call"), Some(&plain), Era::Legacy),
        (None, Some("tools/call"), None, Era::Legacy),
        // A notification or response without a header is legacy.
        (None, None, Some(&modern), Era::Legacy),
    ];
    for (header, method, params, expected) in cases {
        assert_eq!(
            era(header, method, params),
            expected,
            "{header:?} {method:?} {params:?}"
        );
    }
}

#[test]
fn metadata_needs_the_revision_and_capabilities() {
    assert!(check_meta(Some(&params(""))).is_ok());
    for bad in [
        json!({}),
        json!({"_meta": {"io.modelcontextprotocol/clientCapabilities": {}}}),
        json!({"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}}),
        json!({"_meta": {"io.modelcontextprotocol/protocolVersion": 2026, "io.modelcontextprotocol/clientCapabilities": {}}}),
        json!({"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": []}}),
        json!({"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}, "io.modelcontextprotocol/logLevel": "loud"}}),
    ] {
        let error = check_meta(Some(&bad)).unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidParams, "{bad}");
    }
    let old = json!({"_meta": {"io.modelcontextprotocol/protocolVersion": "2025-11-25", "io.modelcontextprotocol/clientCapabilities": {}}});
    let error = check_meta(Some(&old)).unwrap_err();
    assert_eq!(error.code, ErrorCode::UnsupportedVersion);
    assert_eq!(
        error.to_json(false)["data"],
        json!({"supported": ["2026-07-28"], "requested": "2025-11-25"}),
        "protocol data is sent without DEBUG"
    );
}

#[test]
fn trace_context_is_kept_only_when_well_formed() {
    let good = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    assert_eq!(check_meta(Some(&params(""))).unwrap().trace, None);
    let with = |parent: &str| {
        let value = json!({"_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
            "traceparent": parent,
            "tracestate": "congo=t61rcWkgMzE"
        }});
        check_meta(Some(&value)).unwrap().trace
    };
    let trace = with(good).unwrap();
    assert_eq!(trace.parent, good);
    assert_eq!(trace.state.as_deref(), Some("congo=t61rcWkgMzE"));
    for bad in [
        "00-00000000000000000000000000000000-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
        "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\n",
    ] {
        assert_eq!(with(bad), None, "{bad:?}");
    }
}

fn headers(method: &str, name: Option<&str>, params: &[(&str, &str)]) -> Headers {
    let params: Vec<(String, &str)> = params
        .iter()
        .map(|(k, v)| (format!("Mcp-Param-{k}"), *v))
        .collect();
    let fields = [("Mcp-Method", Some(method)), ("Mcp-Name", name)]
        .into_iter()
        .filter_map(|(field, value)| Some((field.as_bytes(), value?.as_bytes())))
        .chain(
            params
                .iter()
                .map(|(field, value)| (field.as_bytes(), value.as_bytes())),
        );
    Headers::collect(fields).expect("Mcp-Method is always given")
}

#[test]
fn headers_must_repeat_the_body() {
    let call = json!({"name": "t", "arguments": {"region": "Hello", "n": 5, "flag": true}});
    let tool: Vec<(String, String)> = [("region", "Region"), ("n", "N"), ("flag", "Flag")]
        .into_iter()
        .map(|(p, h)| (p.to_owned(), h.to_owned()))
        .collect();
    let good = [("Region", "Hello"), ("N", "5"), ("Flag", "true")];
    assert!(
        check(
            Some(&headers("tools/call", Some("t"), &good)),
            "tools/call",
            Some(&call),
            &tool
        )
        .is_ok()
    );
    let base64 = [("Region", "=?base64?SGVsbG8=?="), ("N", "5"), ("Flag", "true")];
    assert!(
        check(
            Some(&headers("tools/call", Some("t"), &base64)),
            "tools/call",
            Some(&call),
            &tool
        )
        .is_ok()
    );
    let mismatches: [(Headers, &str); 10] = [
        (headers("tools/list", Some("t"), &good), "another method"),
        (
            headers("TOOLS/CALL", Some("t"), &good),
            "values are case-sensitive",
        ),
        (headers("tools/call", None, &good), "no Mcp-Name"),
        (headers("tools/call", Some("u"), &good), "another name"),
        (
            headers("tools/call", Some("t"), &good[1..]),
            "no Mcp-Param-Region",
        ),
        (
            headers("tools/call", Some("t"), &[("Region", "Bye"), good[1], good[2]]),
            "another value",
        ),
        (
            headers(
                "tools/call",
                Some("t"),
                &[("Region", "=?base64?SGVsbG8?="), good[1], good[2]],
            ),
            "unpadded base64",
        ),
        (
            headers(
                "tools/call",
                Some("t"),
                &[("Region", "=?base64?SGVs!!!bG8=?="), good[1], good[2]],
            ),
            "bad base64",
        ),
        (
            headers("tools/call", Some("t"), &[good[0], ("N", "6"), good[2]]),
            "another number",
        ),
        (
            headers("tools/call", Some("t"), &[good[0], good[1], ("Flag", "1")]),
            "a boolean is true or false",
        ),
    ];
    for (headers, why) in mismatches {
        let error = check(Some(&headers), "tools/call", Some(&call), &tool).unwrap_err();
        assert_eq!(error.code, ErrorCode::HeaderMismatch, "{why}");
    }
    assert_eq!(
        check(None, "tools/list", None, &[]).unwrap_err().code,
        ErrorCode::HeaderMismatch,
        "no Mcp-Method"
    );
    // A literal value that looks half like base64 is taken as it is.
    let literal = json!({"name": "t", "arguments": {"region": "=?base64?SGVsbG8="}});
    let sent = headers("tools/call", Some("t"), &[("Region", "=?base64?SGVsbG8=")]);
    assert!(check(Some(&sent), "tools/call", Some(&literal), &tool).is_ok());
    // resources/read names its URI.
    let read = json!({"uri": "demo://guide"});
    assert!(
        check(
            Some(&headers("resources/read", Some("demo://guide"), &[])),
            "resources/read",
            Some(&read),
            &[]
        )
        .is_ok()
    );
    assert!(
        check(
            Some(&headers("resources/read", Some("demo://x"), &[])),
            "resources/read",
            Some(&read),
            &[]
        )
        .is_err()
    );
}

#[test]
fn headers_are_collected_whatever_their_case_and_trimmed() {
    let fields: Vec<(&[u8], &[u8])> = vec![
        (b"MCP-METHOD", b" tools/call\t"),
        (b"mcp-name", b"  echo  "),
        (b"Mcp-Param-Region", b"eu"),
        (b"Content-Type", b"application/json"),
    ];
    let collected = Headers::collect(fields.into_iter()).unwrap();
    assert_eq!(collected.method(), Some(&b"tools/call"[..]));
    assert_eq!(collected.name(), Some(&b"echo"[..]));
    assert_eq!(
        collected.params().collect::<Vec<_>>(),
        vec![(&b"region"[..], &b"eu"[..])]
    );
    assert!(Headers::collect(std::iter::empty()).is_none());
    let others: Vec<(&[u8], &[u8])> = vec![
        (b"mcp-protocol-version", b"2025-11-25"),
        (b"mcp-session-id", b"s"),
    ];
    assert!(Headers::collect(others.into_iter()).is_none());
}

fn answers() -> Map<String, Value> {
    let mut answers = Map::new();
    answers.insert(
        "user_name".into(),
        json!({"action": "accept", "content": {"name": "Ada"}}),
    );
    answers
}

#[test]
fn sealed_state_opens_only_for_its_principal_request_and_time() {
    let key = StateKey::new(&[7; 32]).unwrap();
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let request = request_digest("tools/call", "greet", Some(&json!({"a": 1})));
    let binding = Binding {
        principal: Some("alice"),
        request: &request,
    };
    let token = seal(&key, binding, &answers(), now + Duration::from_secs(600));
    assert_eq!(open(&key, &token, binding, now), Ok(answers()));
    assert_eq!(
        open(&key, &token, binding, now + Duration::from_secs(601)),
        Err(Refusal::Expired)
    );
    let bob = Binding {
        principal: Some("bob"),
        ..binding
    };
    assert_eq!(open(&key, &token, bob, now), Err(Refusal::OtherPrincipal));
    let anonymous = Binding {
        principal: None,
        ..binding
    };
    assert_eq!(open(&key, &token, anonymous, now), Err(Refusal::OtherPrincipal));
    let other = request_digest("tools/call", "greet", Some(&json!({"a": 2})));
    let elsewhere = Binding {
        request: &other,
        ..binding
    };
    assert_eq!(open(&key, &token, elsewhere, now), Err(Refusal::OtherRequest));
    let foreign = StateKey::new(&[8; 32]).unwrap();
    assert_eq!(open(&foreign, &token, binding, now), Err(Refusal::Tampered));
    let (payload, tag) = token.split_once('.').unwrap();
    for tampered in [
        format!("{token}-TAMPERED"),
        format!("{token}="),
        format!("x{token}"),
        format!("{payload}."),
        format!(".{tag}"),
        token.replace('.', ""),
        format!("{payload}.{tag}.{tag}"),
        flip_last(payload) + "." + tag,
        String::new(),
    ] {
        assert_eq!(
            open(&key, &tampered, binding, now),
            Err(Refusal::Tampered),
            "{tampered:?}"
        );
    }
}

/// Changes the last character of a base64url string to another valid one.
fn flip_last(text: &str) -> String {
    let mut out = text[..text.len() - 1].to_owned();
    out.push(if text.ends_with('A') { 'B' } else { 'A' });
    out
}

#[test]
fn short_keys_are_refused() {
    assert!(StateKey::new(&[1; 31]).is_none());
    assert!(StateKey::new(&[1; 32]).is_some());
    assert_eq!(format!("{:?}", StateKey::new(&[1; 32]).unwrap()), "StateKey(..)");
}

#[test]
fn results_gain_members_without_a_value_tree() {
    use crate::jsonrpc::{Id, write_result_with};
    let id = Id::from_i64(7);
    let members = [r#""resultType":"complete""#, r#""_meta":{"x":1}"#];
    let written = |result: &Value| {
        let bytes = write_result_with(&id, result, &members);
        serde_json::from_slice::<Value>(&bytes).unwrap()
    };
    assert_eq!(
        written(&json!({"content": []})),
        json!({"jsonrpc": "2.0", "id": 7, "result": {"content": [], "resultType": "complete", "_meta": {"x": 1}}})
    );
    assert_eq!(
        written(&json!({})),
        json!({"jsonrpc": "2.0", "id": 7, "result": {"resultType": "complete", "_meta": {"x": 1}}})
    );
}
