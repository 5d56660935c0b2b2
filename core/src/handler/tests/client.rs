//! Unit tests of `handler::client`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use crate::handler::client::*;
use serde_json::json;

fn poll<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    Pin::new(future).poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn an_answer_reaches_the_waiting_future() {
    let (reply, answer) = channel();
    let mut answer = Box::pin(answer);
    assert!(poll(&mut answer).is_pending());
    reply.send(Ok(json!({"roots": []})));
    assert_eq!(poll(&mut answer), Poll::Ready(Ok(json!({"roots": []}))));
}

#[test]
fn a_dropped_reply_abandons_the_request() {
    let (reply, answer) = channel();
    drop(reply);
    let mut answer = Box::pin(answer);
    assert_eq!(poll(&mut answer), Poll::Ready(Err(ClientError::Abandoned)));
}

#[test]
fn elicitation_params_name_the_mode_only_for_revisions_that_know_it() {
    let form = ClientRequest::Elicitation(Elicitation::form("Name?", json!({"type": "object"})));
    assert_eq!(form.params(false).unwrap().get("mode"), None);
    assert_eq!(form.params(true).unwrap()["mode"], "form");
    assert_eq!(form.capability(), ("elicitation", Some("form")));
}

#[test]
fn every_request_needs_one_of_the_listed_capabilities() {
    let requests = [
        ClientRequest::Sampling(json!({"messages": []})),
        ClientRequest::Sampling(json!({"messages": [], "tools": []})),
        ClientRequest::Elicitation(Elicitation::Form {
            message: "m".into(),
            schema: json!({"type": "object"}),
        }),
        ClientRequest::Elicitation(Elicitation::Url {
            message: "m".into(),
            url: "https://example.com".into(),
            id: "e".into(),
        }),
        ClientRequest::Roots,
    ];
    for request in requests {
        let (capability, _) = request.capability();
        assert!(ClientRequest::CAPABILITIES.contains(&capability), "{request:?}");
    }
}
