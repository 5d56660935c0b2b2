//! Unit tests of `server::replay`.

use crate::server::replay::*;

#[test]
fn events_replay_after_the_id_of_their_own_stream() {
    let mut replay = Replay::new(16, 1024, 0);
    let post = replay.open_stream();
    let a = replay.push(STANDALONE, b"a");
    let b = replay.push(post, b"b");
    let c = replay.push(STANDALONE, b"c");
    assert_eq!(a.to_text(), "0-1");
    assert_eq!(EventId::parse(b"1-2"), Some(b));
    let after_a: Vec<&[u8]> = replay
        .after(STANDALONE, Some(a.seq))
        .into_iter()
        .map(|(_, m)| m)
        .collect();
    assert_eq!(after_a, [b"c"]);
    assert_eq!(replay.after(post, None).len(), 1);
    assert_eq!(replay.undelivered().len(), 2);
    replay.mark_delivered(c.seq);
    assert!(replay.undelivered().is_empty());
    assert!(replay.knows(post) && !replay.knows(post + 1));
}

#[test]
fn the_oldest_events_go_when_a_cap_is_reached() {
    let mut replay = Replay::new(2, 1024, 0);
    for message in [b"1", b"2", b"3"] {
        replay.push(STANDALONE, message);
    }
    assert_eq!(replay.len(), 2);
    assert_eq!(replay.after(STANDALONE, None)[0].1, b"2");
    let mut small = Replay::new(16, 4, 0);
    small.push(STANDALONE, b"abc");
    small.push(STANDALONE, b"de");
    assert_eq!(small.len(), 1);
    small.push(STANDALONE, b"too long");
    assert_eq!(small.len(), 1, "a message over the byte cap is not kept");
}

#[test]
fn malformed_ids_are_refused() {
    for bad in [&b""[..], b"1", b"a-1", b"1-", b"-1", b"1-2-3", b"\xff"] {
        assert_eq!(EventId::parse(bad), None, "{bad:?}");
    }
}
