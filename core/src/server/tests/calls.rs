//! Unit tests of `server::calls`.

use std::time::{Duration, Instant};

use crate::server::calls::*;
use serde_json::json;

#[test]
fn progress_needs_a_token_and_only_increases() {
    let now = Instant::now();
    assert!(Progress::new(None).is_none(), "no token, no progress");
    let mut progress = *Progress::new(Some(json!("t"))).unwrap();
    let first = progress.report(1.0, Some(10.0), Some("one".into()), now).unwrap();
    assert_eq!(
        first,
        json!({"progressToken": "t", "progress": 1.0, "total": 10.0, "message": "one"})
    );
    assert_eq!(progress.report(1.0, Some(10.0), None, now), None);
    assert_eq!(progress.report(0.5, Some(10.0), None, now), None);
    assert_eq!(progress.report(f64::NAN, None, None, now), None);
    assert!(progress.report(2.0, Some(10.0), None, now).is_some());
}

#[test]
fn heartbeats_keep_increasing_and_stay_below_the_total() {
    let now = Instant::now();
    let every = Duration::from_secs(10);
    let mut progress = *Progress::new(Some(json!(7))).unwrap();
    assert_eq!(progress.set_heartbeat(every, now), Some(now + every));
    let beat = progress.beat(now + every).unwrap();
    assert_eq!(beat["progress"], json!(0.0));
    assert_eq!(progress.next_beat, Some(now + every * 2));
    let after = progress.beat(now + every * 2).unwrap();
    assert!(after["progress"].as_f64().unwrap() > 0.0);
    progress.report(5.0, Some(5.0), None, now + every * 2).unwrap();
    assert_eq!(progress.beat(now + every * 3), None, "never past the total");
    assert_eq!(progress.next_beat, Some(now + every * 4));
    // A handler's own next value still counts after heartbeats.
    let mut counting = *Progress::new(Some(json!("c"))).unwrap();
    counting.set_heartbeat(every, now);
    counting.report(1.0, None, None, now).unwrap();
    counting.beat(now + every).unwrap();
    assert!(counting.report(2.0, None, None, now + every).is_some());
}

#[test]
fn a_heartbeat_past_the_clock_range_is_never_due() {
    let now = Instant::now();
    let mut progress = *Progress::new(Some(json!("h"))).unwrap();
    assert_eq!(progress.set_heartbeat(Duration::MAX, now), None);
    assert!(progress.report(1.0, None, None, now).is_some());
    assert_eq!(progress.next_beat, None);
}
