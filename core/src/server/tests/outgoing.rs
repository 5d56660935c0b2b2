//! Unit tests of `server::outgoing`.

use std::time::Instant;

use crate::handler::CallId;
use crate::jsonrpc::Id;
use crate::server::ConnectionId;
use crate::server::outgoing::*;
use crate::server::sessions::SessionKey;

fn pending(call: u64, session: SessionKey, principal: Option<&str>) -> Pending {
    let (reply, _answer) = crate::handler::reply_channel();
    Pending {
        call: CallId(call),
        session,
        principal: principal.map(str::to_owned),
        reply,
        deadline: Instant::now(),
    }
}

#[test]
fn answers_reach_only_the_session_and_principal_asked() {
    let mut outgoing = Outgoing::default();
    let session = SessionKey::Http("s".into());
    let id = outgoing.open(pending(1, session.clone(), Some("alice")));
    let wire = Id::from_i64(i64::try_from(id).unwrap());
    let other = SessionKey::Http("t".into());
    assert_eq!(
        outgoing.answer(&wire, &other, Some("alice")).unwrap_err(),
        Refused::Foreign
    );
    assert_eq!(
        outgoing.answer(&wire, &session, Some("bob")).unwrap_err(),
        Refused::Foreign
    );
    assert_eq!(
        outgoing
            .answer(&Id::from_string("1"), &session, Some("alice"))
            .unwrap_err(),
        Refused::Unknown
    );
    assert_eq!(
        outgoing.answer(&wire, &session, Some("alice")).unwrap().call,
        CallId(1)
    );
    assert_eq!(
        outgoing.answer(&wire, &session, Some("alice")).unwrap_err(),
        Refused::Unknown
    );
}

#[test]
fn a_finished_call_takes_its_requests_along() {
    let mut outgoing = Outgoing::default();
    let session = SessionKey::Conn(ConnectionId(0));
    outgoing.open(pending(1, session.clone(), None));
    outgoing.open(pending(2, session.clone(), None));
    outgoing.open(pending(1, session, None));
    assert_eq!(outgoing.count_for(CallId(1)), 2);
    assert_eq!(outgoing.take_call(CallId(1)).len(), 2);
    assert_eq!(outgoing.len(), 1);
}
