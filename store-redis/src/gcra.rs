//! The rate-limit bucket on Redis: the GCRA script, the take that runs it, its arguments and
//! the decision read from its answer.

use std::time::Duration;

use rampart_core::rate_limit::Decision;
use rampart_core::store::{StoreError, Take};

use crate::{RedisStore, failed};

/// The script: one round trip per take (`EVALSHA`, loaded again if Redis lost it).
pub(crate) const SOURCE: &str = include_str!("gcra.lua");

/// Microseconds in a minute: the interval between tokens is this over `per_minute`.
const MINUTE_US: u64 = 60_000_000;

/// The longest a bucket may take to refill, 2⁵² µs (about 142 years), so that Lua's doubles
/// hold the server's clock plus it exactly.
const MAX_SPAN_US: u64 = 1 << 52;

impl RedisStore {
    /// Takes one token from the bucket `take.key`, in one run of the GCRA script.
    pub(crate) async fn take(&mut self, take: Take) -> Result<Decision, StoreError> {
        let args = Args::new(&take)?;
        let key = format!("{}{{{}}}", self.shared.settings.prefix, take.key);
        let reply: Reply = self
            .shared
            .scripts
            .take
            .key(key)
            .arg(args.interval_us)
            .arg(args.burst)
            .invoke_async(&mut self.manager)
            .await
            .map_err(failed)?;
        decision(take.per_minute, reply)
    }
}

/// What the script answers: allowed (1 or 0), tokens remaining, µs until the bucket is full,
/// µs until a token is available (0 when allowed).
pub(crate) type Reply = (u64, u64, u64, u64);

/// The script's arguments for one take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Args {
    /// Microseconds between two tokens, rounded up (so never more than `per_minute` a minute).
    pub(crate) interval_us: u64,
    /// Tokens a full bucket holds, at least 1.
    pub(crate) burst: u64,
}

impl Args {
    /// Returns the arguments for `take`, or why the store cannot count it.
    pub(crate) fn new(take: &Take) -> Result<Self, StoreError> {
        if take.per_minute == 0 {
            return Err(StoreError::new("a take needs per_minute of at least 1"));
        }
        let interval_us = MINUTE_US.div_ceil(u64::from(take.per_minute));
        let burst = u64::from(take.burst.max(1));
        if interval_us * burst > MAX_SPAN_US {
            return Err(StoreError::new(format!(
                "a bucket of {burst} tokens at {} a minute refills too slowly for the store \
                 (at most 2^52 microseconds)",
                take.per_minute
            )));
        }
        Ok(Self { interval_us, burst })
    }
}

/// Reads the script's `reply` to a take of `per_minute` as a decision.
pub(crate) fn decision(per_minute: u32, reply: Reply) -> Result<Decision, StoreError> {
    let (allowed, remaining, reset_us, wait_us) = reply;
    let (Ok(remaining), true) = (u32::try_from(remaining), allowed <= 1) else {
        return Err(StoreError::new(format!(
            "Redis answered a take with nonsense: {reply:?}"
        )));
    };
    let allowed = allowed == 1;
    Ok(Decision {
        allowed,
        limit: per_minute,
        remaining,
        reset: Duration::from_micros(reset_us),
        retry_after: (!allowed).then(|| Duration::from_micros(wait_us.max(1))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(per_minute: u32, burst: u32) -> Take {
        Take {
            key: "rl:c:203.0.113.7".into(),
            per_minute,
            burst,
        }
    }

    #[test]
    fn intervals_round_up_to_whole_microseconds() {
        let args = |per_minute, burst| Args::new(&take(per_minute, burst)).map(|a| (a.interval_us, a.burst));
        assert_eq!(args(100, 100), Ok((600_000, 100)));
        assert_eq!(args(7, 0), Ok((8_571_429, 1)));
        assert_eq!(args(u32::MAX, u32::MAX), Ok((1, u64::from(u32::MAX))));
        assert!(args(0, 1).is_err());
        assert!(args(1, u32::MAX).is_err());
    }

    #[test]
    fn refusals_always_say_how_long_to_wait() {
        let refused = decision(100, (0, 0, 59_000_000, 0)).unwrap();
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after, Some(Duration::from_micros(1)));
        let allowed = decision(100, (1, 99, 600_000, 0)).unwrap();
        assert_eq!((allowed.remaining, allowed.retry_after), (99, None));
        assert!(decision(100, (2, 0, 0, 0)).is_err());
        assert!(decision(100, (1, u64::MAX, 0, 0)).is_err());
    }
}
