//! Unit tests of `mcp::session`.

use serde_json::json;

use crate::handler::ClientRequest;
use crate::handler::Elicitation;
use crate::mcp::session::*;
use crate::protocol::ProtocolVersion;

#[test]
fn client_requests_need_their_declared_capability() {
    let form = ClientRequest::Elicitation(Elicitation::form("?", json!({})));
    let url = ClientRequest::Elicitation(Elicitation::url("?", "https://x", "e1"));
    let mut session = Session::new();
    session.initialized(
        ProtocolVersion::LATEST_LEGACY,
        json!({"elicitation": {}}),
        json!(null),
    );
    assert!(session.client_supports(&form));
    assert!(!session.client_supports(&url));
    assert!(!session.client_supports(&ClientRequest::Roots));
    session.initialized(
        ProtocolVersion::LATEST_LEGACY,
        json!({"elicitation": {"url": {}}, "roots": {}, "sampling": {}}),
        json!(null),
    );
    assert!(!session.client_supports(&form));
    assert!(session.client_supports(&url));
    assert!(session.client_supports(&ClientRequest::Roots));
    assert!(session.client_supports(&ClientRequest::Sampling(json!({}))));
    let with_tools = ClientRequest::Sampling(json!({"tools": []}));
    assert!(
        !session.client_supports(&with_tools),
        "tools in sampling need sampling.tools"
    );
    session.initialized(
        ProtocolVersion::LATEST_LEGACY,
        json!({"sampling": {"tools": {}}}),
        json!(null),
    );
    assert!(session.client_supports(&with_tools));
}

#[test]
fn subscriptions_are_capped() {
    let mut session = Session::new();
    assert!(session.subscribe("a".into(), 2));
    assert!(session.subscribe("b".into(), 2));
    assert!(session.subscribe("b".into(), 2));
    assert!(!session.subscribe("c".into(), 2));
    session.unsubscribe("a");
    assert!(session.subscribe("c".into(), 2));
    assert!(session.is_subscribed("c") && !session.is_subscribed("a"));
}

#[test]
fn a_record_carries_what_another_replica_needs() {
    let mut session = Session::new();
    session.initialized(
        ProtocolVersion::V2025_06_18,
        json!({"sampling": {}}),
        json!({"name": "inspector", "version": "1.2"}),
    );
    session.mark_initialized();
    session.set_log_level(crate::mcp::LoggingLevel::Debug);
    assert!(session.subscribe("test://a".into(), 10));
    let record = session.record(Some("alice"));
    let value: serde_json::Value = serde_json::from_str(&record).unwrap();
    assert_eq!(value["info"]["name"], "inspector");
    let (copy, owner) = Session::from_record(&record).expect("a record reads back");
    assert_eq!(owner.as_deref(), Some("alice"));
    assert_eq!(copy.version(), Some(ProtocolVersion::V2025_06_18));
    assert!(copy.is_subscribed("test://a"));
    assert!(copy.wants_log(crate::mcp::LoggingLevel::Debug));
    assert!(copy.client_supports(&ClientRequest::Sampling(json!({}))));
    assert_eq!(copy.record(Some("alice")), record);
    // A record of no legacy revision, or not a record at all, is refused.
    assert!(Session::from_record(&record.replace("2025-06-18", "2026-07-28")).is_none());
    assert!(Session::from_record("{}").is_none());
    assert!(Session::new().revision() < session.revision());
}
