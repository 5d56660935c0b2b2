//! The limiter: a GCRA token bucket per key in a table of bounded size, one overflow bucket
//! shared by the keys that find the table full, and the sweep that drops idle buckets.
//!
//! GCRA keeps one number per key, the theoretical arrival time (TAT): the moment the bucket
//! would be full again. A request at `t` passes when `TAT - t` is at most
//! `(burst - 1) × interval`, and then moves TAT on by one `interval = 60 s / per_minute`.
//! Time is counted in ticks of `1 / per_minute` nanoseconds since the first `now` the limiter
//! saw, so that the interval is exactly 60 × 10⁹ ticks whatever `per_minute` is: the math is
//! integer, exact and free of rounding drift, and a `u128` holds any `Instant` span times any
//! `u32` rate.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Ticks (of `1 / per_minute` ns) between two tokens: 60 s in nanoseconds.
const INTERVAL: u128 = 60_000_000_000;

/// The shortest sweep interval; a shorter `idle_sweep` is raised to it.
const MIN_SWEEP: Duration = Duration::from_secs(1);

/// Settings of a limiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Tokens added per minute; 0 disables the limiter (every request is allowed).
    pub per_minute: u32,
    /// Tokens a full bucket holds, i.e. requests allowed at once; 0 counts as 1.
    pub burst: u32,
    /// Keys with a bucket of their own; further keys share one overflow bucket.
    pub max_clients: usize,
    /// Time between sweeps of idle buckets, at least one second.
    pub idle_sweep: Duration,
}

impl Default for Limits {
    /// Returns 100 requests per minute with a burst of 100, 10 000 clients, a sweep a minute.
    fn default() -> Self {
        Self {
            per_minute: 100,
            burst: 100,
            max_clients: 10_000,
            idle_sweep: Duration::from_secs(60),
        }
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct Decision {
    /// Whether the request may go on; if not, answer 429.
    pub allowed: bool,
    /// The policy's limit (tokens per minute), for `RateLimit-Policy` / `RateLimit` headers.
    pub limit: u32,
    /// Tokens left after this request.
    pub remaining: u32,
    /// Time until the bucket is full again (for the `RateLimit` header's `t=` / reset).
    pub reset: Duration,
    /// When refused: time until one token is available (never zero while limited).
    pub retry_after: Option<Duration>,
}

impl Decision {
    /// Returns `Retry-After` in whole seconds, rounded up, at least 1 while limited.
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after.map(|wait| ceil_secs(wait).max(1))
    }

    /// Returns the `RateLimit-Policy` and `RateLimit` header fields of
    /// draft-ietf-httpapi-ratelimit-headers, for a limit counted over `window_secs` (60 for a
    /// [`RateLimiter`]).
    ///
    /// For example `RateLimit-Policy: "default";q=100;w=60` and `RateLimit: "default";r=42;t=13`,
    /// where `t` is [`Decision::reset`] rounded up to whole seconds.
    pub fn headers(&self, window_secs: u64) -> [(&'static str, String); 2] {
        let mut fields = [("", String::new()), ("", String::new())];
        let mut slots = fields.iter_mut();
        self.each_field(window_secs, |name, parts| {
            if let Some((slot_name, value)) = slots.next() {
                *slot_name = name;
                for part in parts {
                    value.push_str(part);
                }
            }
        });
        fields
    }

    /// Appends the fields of [`headers`](Self::headers) to a response head, as header lines.
    pub(crate) fn write_header_lines(&self, window_secs: u64, out: &mut Vec<u8>) {
        self.each_field(window_secs, |name, parts| {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            for part in parts {
                out.extend_from_slice(part.as_bytes());
            }
            out.extend_from_slice(b"\r\n");
        });
    }

    /// Hands each header field to `field` as its name and the pieces of its value (digits
    /// and fixed text only: nothing to escape), without the formatting machinery.
    fn each_field(&self, window_secs: u64, mut field: impl FnMut(&'static str, &[&str])) {
        let (mut limit, mut window) = (itoa::Buffer::new(), itoa::Buffer::new());
        field(
            "RateLimit-Policy",
            &[
                "\"default\";q=",
                limit.format(self.limit),
                ";w=",
                window.format(window_secs),
            ],
        );
        let (mut remaining, mut reset) = (itoa::Buffer::new(), itoa::Buffer::new());
        field(
            "RateLimit",
            &[
                "\"default\";r=",
                remaining.format(self.remaining),
                ";t=",
                reset.format(ceil_secs(self.reset)),
            ],
        );
    }
}

/// A token bucket per key, with burst `burst`, refilling `per_minute` tokens per 60 s.
///
/// At most `max_clients` keys have a bucket of their own. A key that is new while the table is
/// full shares one overflow bucket (with the same limits) with every other such key, so that
/// churning through addresses buys no extra requests. Buckets that have refilled completely
/// are dropped by the sweep, which makes room for new keys again; dropping a full bucket
/// changes no decision, since a new bucket starts full.
///
/// Getters: [`RateLimiter::len`], [`RateLimiter::is_empty`], [`RateLimiter::limits`]; input:
/// [`RateLimiter::check`], [`RateLimiter::handle_timeout`]; output:
/// [`RateLimiter::poll_timeout`]. After `check`, ask `poll_timeout` for the next sweep.
#[derive(Debug, Clone)]
pub struct RateLimiter<K: Ord + Copy> {
    limits: Limits,
    /// The first `now` seen: tick 0. Earlier instants count as tick 0.
    epoch: Option<Instant>,
    /// Each tracked key's TAT, in ticks since `epoch`.
    buckets: BTreeMap<K, u128>,
    /// The TAT of the bucket shared by keys that found the table full.
    overflow: u128,
    /// When the next sweep is due; none while no key is tracked.
    sweep_at: Option<Instant>,
}

impl<K: Ord + Copy> RateLimiter<K> {
    /// Creates a limiter with these limits and no key tracked.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            epoch: None,
            buckets: BTreeMap::new(),
            overflow: 0,
            sweep_at: None,
        }
    }

    // ---- getters ----

    /// Returns the limits the limiter was made with.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Returns the number of keys tracked (never above `max_clients`).
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    /// Returns whether no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    // ---- handle_* (input) ----

    /// Takes one token for `key` at `now` and says whether the request may go on.
    ///
    /// A refused request takes no token. An instant earlier than one seen before is not an
    /// error: the bucket simply looks emptier than it will be. While the limiter is disabled
    /// (`per_minute` 0) every request is allowed with `limit` 0: send no rate-limit headers.
    pub fn check(&mut self, key: K, now: Instant) -> Decision {
        let per_minute = self.limits.per_minute;
        if per_minute == 0 {
            return Decision {
                allowed: true,
                limit: 0,
                remaining: 0,
                reset: Duration::ZERO,
                retry_after: None,
            };
        }
        let capacity = INTERVAL * u128::from(self.limits.burst.max(1));
        let t = self.ticks(now);
        let tat = if self.buckets.len() < self.limits.max_clients {
            let (sweep_at, idle_sweep) = (&mut self.sweep_at, self.limits.idle_sweep);
            self.buckets.entry(key).or_insert_with(|| {
                if sweep_at.is_none() {
                    *sweep_at = now.checked_add(idle_sweep.max(MIN_SWEEP));
                }
                0
            })
        } else {
            match self.buckets.get_mut(&key) {
                Some(tat) => tat,
                None => &mut self.overflow,
            }
        };
        let ahead = (*tat).max(t) - t;
        let after = ahead.saturating_add(INTERVAL);
        let allowed = after <= capacity;
        let (ahead, retry_after) = if allowed {
            *tat = t.saturating_add(after);
            (after, None)
        } else {
            (ahead, Some(to_duration(after - capacity, per_minute)))
        };
        Decision {
            allowed,
            limit: per_minute,
            remaining: u32::try_from(capacity.saturating_sub(ahead) / INTERVAL).unwrap_or(u32::MAX),
            reset: to_duration(ahead, per_minute),
            retry_after,
        }
    }

    /// Drops the buckets that have refilled completely, if the sweep is due at `now`.
    ///
    /// Calls before the deadline (spurious wake-ups) change nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        let Some(at) = self.sweep_at else {
            return;
        };
        if now < at {
            return;
        }
        let t = self.ticks(now);
        self.buckets.retain(|_, tat| *tat > t);
        self.sweep_at = if self.buckets.is_empty() {
            None
        } else {
            now.checked_add(self.limits.idle_sweep.max(MIN_SWEEP))
        };
    }

    // ---- poll_* (output) ----

    /// Returns when the next sweep of idle, full buckets is due; none while no key is tracked.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.sweep_at
    }

    /// Returns `now` in ticks since the epoch, setting the epoch on first use.
    fn ticks(&mut self, now: Instant) -> u128 {
        let epoch = *self.epoch.get_or_insert(now);
        now.saturating_duration_since(epoch)
            .as_nanos()
            .saturating_mul(u128::from(self.limits.per_minute))
    }
}

/// Converts ticks of `1 / per_minute` ns to a duration, rounding up to whole nanoseconds.
fn to_duration(ticks: u128, per_minute: u32) -> Duration {
    let nanos = ticks.div_ceil(u128::from(per_minute.max(1)));
    let secs = u64::try_from(nanos / 1_000_000_000).unwrap_or(u64::MAX);
    // The remainder is below 10⁹, so it fits.
    let subsec = u32::try_from(nanos % 1_000_000_000).unwrap_or(0);
    Duration::new(secs, subsec)
}

/// Returns a duration in whole seconds, rounded up.
fn ceil_secs(duration: Duration) -> u64 {
    duration
        .as_secs()
        .saturating_add(u64::from(duration.subsec_nanos() > 0))
}
