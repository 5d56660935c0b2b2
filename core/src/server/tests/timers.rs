//! Unit tests of `server::timers`.

use std::time::{Duration, Instant};

use crate::handler::CallId;
use crate::server::timers::*;

#[test]
fn timers_fire_in_deadline_order_and_only_when_due() {
    let start = Instant::now();
    let mut timers = Timers::default();
    timers.arm(start + Duration::from_secs(5), Timer::Session("a".into()));
    timers.arm(start + Duration::from_secs(1), Timer::Call(CallId(1)));
    timers.arm(start + Duration::from_secs(3), Timer::ClientRequest(7));
    timers.arm(start + Duration::from_secs(3), Timer::ClientRequest(7));
    assert_eq!(timers.len(), 3);
    assert_eq!(
        timers.first().map(|(_, t)| t.clone()),
        Some(Timer::Call(CallId(1)))
    );
    assert_eq!(timers.pop_due(start), None);
    let later = start + Duration::from_secs(3);
    assert_eq!(timers.pop_due(later), Some(Timer::Call(CallId(1))));
    assert_eq!(timers.pop_due(later), Some(Timer::ClientRequest(7)));
    assert_eq!(timers.pop_due(later), None);
    timers.disarm(start + Duration::from_secs(5), Timer::Session("a".into()));
    assert_eq!(timers.first(), None);
}
