//! The limiter on a virtual clock (a base `Instant` plus durations): the seed's 101 requests,
//! token-bucket laws as properties, `Retry-After`, the sweep, and address churn against the
//! table cap.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use proptest::prelude::*;

use crate::rate_limit::{ClientKey, Decision, Limits, RateLimiter};

/// Nanoseconds in the 60 s window that `per_minute` is counted over.
const WINDOW_NS: u128 = 60_000_000_000;

fn limits(per_minute: u32, burst: u32) -> Limits {
    Limits {
        per_minute,
        burst,
        max_clients: 10_000,
        idle_sweep: Duration::from_secs(60),
    }
}

/// A base instant with an hour of room before it, so tests can step back in time.
fn base() -> Instant {
    Instant::now() + Duration::from_secs(3600)
}

fn key(ip: &str) -> ClientKey {
    ClientKey::from_ip(ip.parse::<IpAddr>().unwrap())
}

/// The smallest number of whole nanoseconds holding one token: ⌈60 s / per_minute⌉.
fn token_ns(per_minute: u32) -> u64 {
    u64::try_from(WINDOW_NS.div_ceil(u128::from(per_minute))).unwrap()
}

#[test]
fn the_101st_rapid_request_is_refused() {
    let mut limiter = RateLimiter::new(limits(100, 100));
    let client = key("203.0.113.7");
    let t0 = base();
    for i in 0..100u32 {
        let decision = limiter.check(client, t0);
        assert_eq!(
            decision,
            Decision {
                allowed: true,
                limit: 100,
                remaining: 99 - i,
                reset: Duration::from_millis(600) * (i + 1),
                retry_after: None,
            },
            "request {}",
            i + 1
        );
        assert_eq!(decision.retry_after_secs(), None);
    }
    let refused = limiter.check(client, t0);
    assert_eq!(
        refused,
        Decision {
            allowed: false,
            limit: 100,
            remaining: 0,
            reset: Duration::from_secs(60),
            retry_after: Some(Duration::from_millis(600)),
        }
    );
    assert_eq!(refused.retry_after_secs(), Some(1));
    // Another client is not affected.
    assert!(limiter.check(key("203.0.113.8"), t0).allowed);
}

#[test]
fn the_101st_request_one_millisecond_apart_is_refused() {
    let mut limiter = RateLimiter::new(limits(100, 100));
    let client = key("203.0.113.7");
    let t0 = base();
    for i in 0..100u32 {
        let decision = limiter.check(client, t0 + Duration::from_millis(u64::from(i)));
        assert!(decision.allowed, "request {}", i + 1);
        assert_eq!(decision.remaining, 99 - i);
    }
    // 100 tokens used, 0.1 s × 100/min = 1/6 of a token back: 0.5 s until the next one.
    let refused = limiter.check(client, t0 + Duration::from_millis(100));
    assert!(!refused.allowed);
    assert_eq!(refused.retry_after, Some(Duration::from_millis(500)));
    assert_eq!(refused.retry_after_secs(), Some(1));
    assert_eq!(refused.reset, Duration::from_millis(59_900));
}

#[test]
fn retry_after_is_rounded_up_and_never_zero() {
    // (per_minute, burst, wait before the refused request, Retry-After, in seconds)
    let table: [(u32, u32, Duration, Duration, u64); 6] = [
        (100, 100, Duration::ZERO, Duration::from_millis(600), 1),
        (1, 1, Duration::ZERO, Duration::from_secs(60), 60),
        (1, 1, Duration::from_millis(59_500), Duration::from_millis(500), 1),
        (
            1,
            1,
            Duration::from_nanos(59_999_999_999),
            Duration::from_nanos(1),
            1,
        ),
        (30, 1, Duration::ZERO, Duration::from_secs(2), 2),
        (7, 3, Duration::ZERO, Duration::from_nanos(8_571_428_572), 9),
    ];
    for (per_minute, burst, wait, retry_after, secs) in table {
        let mut limiter = RateLimiter::new(limits(per_minute, burst));
        let t0 = base();
        for _ in 0..burst {
            assert!(limiter.check(1u8, t0).allowed);
        }
        let refused = limiter.check(1u8, t0 + wait);
        assert!(!refused.allowed, "{per_minute}/min after {wait:?}");
        assert_eq!(
            refused.retry_after,
            Some(retry_after),
            "{per_minute}/min after {wait:?}"
        );
        assert_eq!(
            refused.retry_after_secs(),
            Some(secs),
            "{per_minute}/min after {wait:?}"
        );
    }
}

#[test]
fn headers_follow_the_draft() {
    let decision = Decision {
        allowed: true,
        limit: 100,
        remaining: 42,
        reset: Duration::from_millis(12_001),
        retry_after: None,
    };
    assert_eq!(
        decision.headers(60),
        [
            ("RateLimit-Policy", "\"default\";q=100;w=60".to_owned()),
            ("RateLimit", "\"default\";r=42;t=13".to_owned()),
        ]
    );
    let full = Decision {
        reset: Duration::from_secs(12),
        ..decision
    };
    assert_eq!(full.headers(60)[1].1, "\"default\";r=42;t=12");
    let mut lines = Vec::new();
    decision.write_header_lines(60, &mut lines);
    assert_eq!(
        lines,
        b"RateLimit-Policy: \"default\";q=100;w=60\r\nRateLimit: \"default\";r=42;t=13\r\n"
    );
}

#[test]
fn zero_per_minute_disables_the_limiter() {
    let mut limiter = RateLimiter::new(limits(0, 100));
    let t0 = base();
    for i in 0..1000u32 {
        let decision = limiter.check(i, t0);
        assert!(decision.allowed);
        assert_eq!(decision.retry_after, None);
        assert_eq!(decision.limit, 0);
    }
    assert!(limiter.is_empty());
    assert_eq!(limiter.poll_timeout(), None);
}

#[test]
fn zero_burst_counts_as_one() {
    let mut limiter = RateLimiter::new(limits(60, 0));
    let t0 = base();
    let first = limiter.check(1u8, t0);
    assert!(first.allowed);
    assert_eq!(first.remaining, 0);
    let second = limiter.check(1u8, t0);
    assert_eq!(second.retry_after, Some(Duration::from_secs(1)));
    assert!(limiter.check(1u8, t0 + Duration::from_secs(1)).allowed);
}

#[test]
fn time_going_backwards_does_not_panic() {
    let mut limiter = RateLimiter::new(limits(60, 2));
    let t0 = base();
    let hour = Duration::from_secs(3600);
    let instants = [
        t0 + Duration::from_secs(10),
        t0,
        t0 - hour,
        t0 + hour,
        t0 - hour,
        t0,
    ];
    for (i, &now) in instants.iter().enumerate() {
        let decision = limiter.check(1u8, now);
        assert!(decision.remaining <= 2);
        if !decision.allowed {
            assert!(
                decision.retry_after.is_some_and(|wait| wait > Duration::ZERO),
                "step {i}"
            );
        }
        limiter.handle_timeout(now);
    }
    // An instant before the first one seen counts as that first one.
    let mut limiter = RateLimiter::new(limits(60, 2));
    assert!(limiter.check(1u8, t0).allowed);
    assert!(limiter.check(1u8, t0 - hour).allowed);
    let refused = limiter.check(1u8, t0 - hour);
    assert_eq!(refused.retry_after, Some(Duration::from_secs(1)));
}

#[test]
fn extreme_limits_do_not_overflow() {
    let mut limiter = RateLimiter::new(Limits {
        per_minute: u32::MAX,
        burst: u32::MAX,
        max_clients: usize::MAX,
        idle_sweep: Duration::MAX,
    });
    let t0 = base();
    let first = limiter.check(1u8, t0);
    assert!(first.allowed);
    assert_eq!(first.remaining, u32::MAX - 1);
    // A sweep that would be due beyond the end of time is never due.
    assert_eq!(limiter.poll_timeout(), None);
    let century = Duration::from_secs(100 * 365 * 86_400);
    let later = t0.checked_add(century).unwrap();
    let decision = limiter.check(1u8, later);
    assert!(decision.allowed);
    assert_eq!(decision.remaining, u32::MAX - 1);

    let mut slow = RateLimiter::new(Limits {
        per_minute: 1,
        burst: u32::MAX,
        ..limits(1, 1)
    });
    assert_eq!(slow.check(1u8, t0).reset, Duration::from_secs(60));
    assert_eq!(slow.check(1u8, later).remaining, u32::MAX - 1);
}

#[test]
fn poll_timeout_follows_the_table() {
    let mut limiter = RateLimiter::new(Limits {
        idle_sweep: Duration::ZERO,
        ..limits(60, 1)
    });
    let t0 = base();
    assert_eq!(limiter.poll_timeout(), None);
    let _ = limiter.check(1u8, t0);
    // A zero sweep interval is raised to one second.
    assert_eq!(limiter.poll_timeout(), Some(t0 + Duration::from_secs(1)));
    limiter.handle_timeout(t0 + Duration::from_secs(1));
    // The bucket held one token and refilled it in a second: nothing left to sweep.
    assert!(limiter.is_empty());
    assert_eq!(limiter.poll_timeout(), None);
}

#[test]
fn the_sweep_drops_only_full_buckets() {
    let mut limiter = RateLimiter::new(Limits {
        per_minute: 60,
        burst: 10,
        max_clients: 3,
        idle_sweep: Duration::from_secs(5),
    });
    let t0 = base();
    for _ in 0..10 {
        assert!(limiter.check('a', t0).allowed);
    }
    assert!(limiter.check('b', t0).allowed);
    assert!(limiter.check('c', t0).allowed);
    assert_eq!(limiter.poll_timeout(), Some(t0 + Duration::from_secs(5)));
    // A spurious wake-up changes nothing.
    limiter.handle_timeout(t0 + Duration::from_secs(4));
    assert_eq!(limiter.len(), 3);
    assert_eq!(limiter.poll_timeout(), Some(t0 + Duration::from_secs(5)));
    // 'b' and 'c' are full again after 1 s; 'a' only after 10 s.
    limiter.handle_timeout(t0 + Duration::from_secs(5));
    assert_eq!(limiter.len(), 1);
    assert_eq!(limiter.poll_timeout(), Some(t0 + Duration::from_secs(10)));
    assert_eq!(limiter.check('a', t0 + Duration::from_secs(5)).remaining, 4);
    limiter.handle_timeout(t0 + Duration::from_secs(10));
    assert_eq!(
        limiter.len(),
        1,
        "'a' took a token at 5 s: full again only at 11 s"
    );
    limiter.handle_timeout(t0 + Duration::from_secs(15));
    assert!(limiter.is_empty());
    assert_eq!(limiter.poll_timeout(), None);
}

#[test]
fn new_keys_share_the_overflow_bucket_until_a_sweep_frees_room() {
    let mut limiter = RateLimiter::new(Limits {
        per_minute: 60,
        burst: 2,
        max_clients: 2,
        idle_sweep: Duration::from_secs(5),
    });
    let t0 = base();
    assert_eq!(limiter.check('a', t0).remaining, 1);
    assert_eq!(limiter.check('b', t0).remaining, 1);
    // The table is full: 'c', 'd' and 'e' share one bucket of two tokens.
    assert_eq!(limiter.check('c', t0).remaining, 1);
    assert_eq!(limiter.check('d', t0).remaining, 0);
    let refused = limiter.check('e', t0);
    assert!(!refused.allowed);
    assert_eq!(refused.retry_after, Some(Duration::from_secs(1)));
    assert!(!limiter.check('c', t0).allowed);
    // Tracked keys keep their own bucket.
    assert_eq!(limiter.check('a', t0).remaining, 0);
    assert!(limiter.check('b', t0).allowed);
    assert_eq!(limiter.len(), 2);

    let swept = t0 + Duration::from_secs(5);
    limiter.handle_timeout(swept);
    assert!(limiter.is_empty());
    // Room again: 'e' gets a fresh bucket of its own, and so does 'c'.
    assert_eq!(limiter.check('e', swept).remaining, 1);
    assert_eq!(limiter.check('e', swept).remaining, 0);
    assert_eq!(limiter.check('c', swept).remaining, 1);
    assert_eq!(limiter.len(), 2);
    assert_eq!(limiter.poll_timeout(), Some(swept + Duration::from_secs(5)));
}

/// One step of a random run: wait `advance_ns`, then check `key`.
fn steps(max_advance_ns: u64) -> impl Strategy<Value = Vec<(u64, u8)>> {
    prop::collection::vec((0..max_advance_ns, 0u8..3), 1..150)
}

proptest! {
    /// In any run between two granted requests at `t1 <= t2`, the number granted is at most
    /// `burst + ⌊per_minute × (t2 - t1) / 60 s⌋`, exactly; and `remaining` is exact: after
    /// a grant, that many more requests at the same instant pass, and the next one does not.
    #[test]
    fn grants_never_exceed_burst_plus_rate(
        per_minute in 1u32..2000,
        burst in 1u32..30,
        steps in steps(3_000_000_000),
    ) {
        let mut limiter = RateLimiter::new(limits(per_minute, burst));
        let t0 = base();
        let mut now_ns = 0u64;
        let mut granted: [Vec<u64>; 3] = Default::default();
        for (advance, key) in steps {
            now_ns += advance;
            let now = t0 + Duration::from_nanos(now_ns);
            let decision = limiter.check(key, now);
            prop_assert!(decision.remaining < burst);
            if decision.allowed {
                granted[usize::from(key)].push(now_ns);
                let mut probe = limiter.clone();
                for _ in 0..decision.remaining {
                    prop_assert!(probe.check(key, now).allowed);
                }
                prop_assert!(!probe.check(key, now).allowed);
            }
        }
        for times in &granted {
            for (i, &t1) in times.iter().enumerate() {
                for (j, &t2) in times.iter().enumerate().skip(i) {
                    let count = (j - i + 1) as u128;
                    let bound = u128::from(burst) + u128::from(t2 - t1) * u128::from(per_minute) / WINDOW_NS;
                    prop_assert!(count <= bound, "{count} granted in {} ns, bound {bound}", t2 - t1);
                }
            }
        }
    }

    /// A refused request learns exactly when to come back: one nanosecond before
    /// `retry_after` it is still refused, at `retry_after` it passes; `Retry-After` in
    /// seconds is that wait rounded up, never 0.
    #[test]
    fn retry_after_is_exact(
        per_minute in 1u32..2000,
        burst in 1u32..10,
        steps in steps(1_000_000_000),
    ) {
        let mut limiter = RateLimiter::new(limits(per_minute, burst));
        let t0 = base();
        let mut now = t0;
        for (advance, key) in steps {
            now += Duration::from_nanos(advance);
            let decision = limiter.check(key, now);
            if decision.allowed {
                prop_assert_eq!(decision.retry_after, None);
                continue;
            }
            prop_assert_eq!(decision.remaining, 0);
            let wait = decision.retry_after.unwrap();
            prop_assert!(wait > Duration::ZERO && wait <= Duration::from_nanos(token_ns(per_minute)));
            let secs = decision.retry_after_secs().unwrap();
            prop_assert!(secs >= 1);
            prop_assert!(Duration::from_secs(secs) >= wait && Duration::from_secs(secs - 1) < wait);
            prop_assert!(!limiter.clone().check(key, now + wait - Duration::from_nanos(1)).allowed);
            prop_assert!(limiter.clone().check(key, now + wait).allowed);
        }
    }

    /// After a burst is spent, one token comes back after exactly ⌈60 s / per_minute⌉ ns,
    /// not a nanosecond before.
    #[test]
    fn refill_is_exact(per_minute in 1u32..=u32::MAX, burst in 1u32..100) {
        let mut limiter = RateLimiter::new(limits(per_minute, burst));
        let t0 = base();
        for _ in 0..burst {
            prop_assert!(limiter.check(0u8, t0).allowed);
        }
        let token = Duration::from_nanos(token_ns(per_minute));
        prop_assert_eq!(limiter.check(0u8, t0).retry_after, Some(token));
        prop_assert!(!limiter.check(0u8, t0 + token - Duration::from_nanos(1)).allowed);
        let back = limiter.check(0u8, t0 + token);
        prop_assert!(back.allowed);
        prop_assert_eq!(back.remaining, 0);
        prop_assert!(!limiter.check(0u8, t0 + token).allowed);
    }

    /// Waiting longer never leaves fewer tokens, and never turns a pass into a refusal.
    #[test]
    fn more_time_never_means_fewer_tokens(
        per_minute in 1u32..2000,
        burst in 1u32..30,
        steps in steps(2_000_000_000),
        wait in 0u64..5_000_000_000,
        extra in 0u64..5_000_000_000,
        key in 0u8..3,
    ) {
        let mut limiter = RateLimiter::new(limits(per_minute, burst));
        let mut now = base();
        for (advance, key) in steps {
            now += Duration::from_nanos(advance);
            let _ = limiter.check(key, now);
        }
        let sooner = limiter.clone().check(key, now + Duration::from_nanos(wait));
        let later = limiter.clone().check(key, now + Duration::from_nanos(wait + extra));
        prop_assert!(later.remaining >= sooner.remaining);
        prop_assert!(later.allowed || !sooner.allowed);
    }

    /// Sweeping (when due, and at spurious times) never changes a decision while the table
    /// has room: a dropped bucket was full, and a new one starts full.
    #[test]
    fn the_sweep_changes_no_decision(
        per_minute in 1u32..600,
        burst in 1u32..10,
        steps in steps(3_000_000_000),
        spurious in any::<bool>(),
    ) {
        let lim = Limits { idle_sweep: Duration::from_secs(1), ..limits(per_minute, burst) };
        let mut swept = RateLimiter::new(lim);
        let mut kept = RateLimiter::new(Limits { idle_sweep: Duration::MAX, ..lim });
        let mut now = base();
        for (advance, key) in steps {
            now += Duration::from_nanos(advance);
            if spurious || swept.poll_timeout().is_some_and(|at| at <= now) {
                swept.handle_timeout(now);
            }
            prop_assert_eq!(swept.check(key, now), kept.check(key, now));
        }
    }
}

/// Runs `count` distinct IPv4 clients, one request each, `gap` apart, against a 10 000-key
/// table at 100/min with a burst of 100, sweeping when due. Returns how many were granted to
/// the first 10 000 clients and to the rest, the number of sweeps, and the elapsed time.
fn churn(count: u32, gap: Duration, idle_sweep: Duration) -> (u64, u64, u64, Duration) {
    const MAX_CLIENTS: usize = 10_000;
    let mut limiter = RateLimiter::new(Limits {
        per_minute: 100,
        burst: 100,
        max_clients: MAX_CLIENTS,
        idle_sweep,
    });
    let t0 = base();
    let (mut first, mut rest, mut sweeps) = (0, 0, 0);
    let mut now = t0;
    for i in 0..count {
        now = t0 + gap * i;
        if limiter.poll_timeout().is_some_and(|at| at <= now) {
            limiter.handle_timeout(now);
            sweeps += 1;
        }
        let client = ClientKey::from_ip(IpAddr::from((0x0b00_0000 + i).to_be_bytes()));
        let decision = limiter.check(client, now);
        assert!(
            limiter.len() <= MAX_CLIENTS,
            "{} keys after {i} requests",
            limiter.len()
        );
        if decision.allowed {
            if (i as usize) < MAX_CLIENTS {
                first += 1;
            } else {
                rest += 1;
            }
        }
    }
    (first, rest, sweeps, now - t0)
}

#[test]
fn churn_buys_no_extra_requests() {
    let (first, rest, sweeps, elapsed) = churn(1_000_000, Duration::from_micros(1), Duration::from_secs(60));
    assert_eq!(sweeps, 0);
    assert_eq!(first, 10_000);
    // The 990 000 others share the overflow bucket: 100 at once, plus 100/min for ~1 s.
    let bound = 100 + elapsed.as_nanos() * 100 / WINDOW_NS;
    assert!(
        u128::from(rest) <= bound,
        "{rest} granted to new clients, bound {bound}"
    );
    assert_eq!(rest, 101);
}

#[test]
fn churn_with_sweeps_is_bounded_by_the_table_per_sweep() {
    let (first, rest, sweeps, elapsed) =
        churn(1_000_000, Duration::from_micros(100), Duration::from_secs(10));
    assert_eq!(first, 10_000);
    assert_eq!(sweeps, 9);
    // Each sweep frees at most the whole table; the overflow bucket adds burst + rate.
    let bound = 10_000 * u128::from(sweeps) + 100 + elapsed.as_nanos() * 100 / WINDOW_NS;
    assert!(
        u128::from(rest) <= bound,
        "{rest} granted to new clients, bound {bound}"
    );
}
