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
    session.initialized(ProtocolVersion::LATEST_LEGACY, json!({"elicitation": {}}));
    assert!(session.client_supports(&form));
    assert!(!session.client_supports(&url));
    assert!(!session.client_supports(&ClientRequest::Roots));
    session.initialized(
        ProtocolVersion::LATEST_LEGACY,
        json!({"elicitation": {"url": {}}, "roots": {}, "sampling": {}}),
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
    session.initialized(ProtocolVersion::LATEST_LEGACY, json!({"sampling": {"tools": {}}}));
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
