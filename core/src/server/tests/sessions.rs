//! Unit tests of `server::sessions`.

use std::time::{Duration, Instant};

use crate::mcp::Session;
use crate::server::ConnectionId;
use crate::server::sessions::*;

fn state(now: Instant) -> SessionState {
    SessionState::new(Session::new(), now, None)
}

#[test]
fn http_sessions_are_capped_and_counted() {
    let now = Instant::now();
    let mut sessions = Sessions::default();
    assert_eq!(sessions.insert_http("a".into(), state(now), 2), Ok(()));
    assert_eq!(sessions.insert_http("b".into(), state(now), 2), Ok(()));
    assert_eq!(sessions.insert_http("c".into(), state(now), 2), Err(Full));
    sessions.insert_conn(ConnectionId(1), state(now));
    assert_eq!(sessions.http_count(), 2);
    assert!(sessions.remove(&SessionKey::Http("a".into())).is_some());
    assert!(sessions.remove(&SessionKey::Http("a".into())).is_none());
    assert_eq!(sessions.http_count(), 1);
}

#[test]
fn a_session_is_found_only_by_its_owner() {
    let now = Instant::now();
    let mut sessions = Sessions::default();
    let mut owned = state(now);
    owned.owner = Some("alice".into());
    sessions.insert_http("s".into(), owned, 10).unwrap();
    assert!(sessions.owned("s", Some("alice")).is_some());
    assert!(sessions.owned("s", Some("bob")).is_none());
    assert!(sessions.owned("s", None).is_none());
}

#[test]
fn idle_sessions_expire_and_busy_ones_wait() {
    let now = Instant::now();
    let timeout = Duration::from_secs(60);
    let mut sessions = Sessions::default();
    sessions.insert_http("s".into(), state(now), 10).unwrap();
    assert_eq!(sessions.expiry("s", now, timeout), Expiry::Rearm(now + timeout));
    let key = SessionKey::Http("s".into());
    sessions.get_mut(&key).unwrap().stream = Some(ConnectionId(3));
    let later = now + timeout;
    assert_eq!(
        sessions.expiry("s", later, timeout),
        Expiry::Rearm(later + timeout)
    );
    sessions.get_mut(&key).unwrap().stream = None;
    assert_eq!(sessions.expiry("s", later, timeout), Expiry::Expired);
    sessions.remove(&key);
    assert_eq!(sessions.expiry("s", later, timeout), Expiry::Gone);
}
