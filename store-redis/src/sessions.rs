//! Sessions on Redis: a record per session, and the sorted set of live sessions that caps
//! them across replicas. Every operation is one round trip.

use std::time::Duration;

use rampart_core::store::{SessionWrite, StoreError};
use redis::{Script, ScriptInvocation};

use crate::{RedisStore, failed};

/// The script that opens a session under the cap.
pub(crate) const OPEN: &str = include_str!("sessions/open.lua");

/// The script that loads, saves or touches a session, renewing its lifetime.
pub(crate) const RENEW: &str = include_str!("sessions/renew.lua");

/// The longest time to live a session may have, 2⁴⁴ ms (about 557 years), so that the
/// scripts' doubles hold the server's clock plus it exactly.
const MAX_TTL_MS: u64 = 1 << 44;

impl RedisStore {
    /// Stores `session` unless `max` sessions live already; answers whether it did.
    pub(crate) async fn open_session(
        &mut self,
        session: SessionWrite,
        max: usize,
    ) -> Result<bool, StoreError> {
        let ttl = ttl_ms(session.ttl)?;
        let mut invocation = self.session_script(&self.shared.scripts.open, &session.id);
        invocation.arg(session.record).arg(ttl).arg(max);
        invocation.invoke_async(&mut self.manager).await.map_err(failed)
    }

    /// Reads the record of session `id` and renews its lifetime to `ttl`, if it lives.
    pub(crate) async fn load_session(
        &mut self,
        id: &str,
        ttl: Duration,
    ) -> Result<Option<String>, StoreError> {
        let ttl = ttl_ms(ttl)?;
        let mut invocation = self.session_script(&self.shared.scripts.renew, id);
        invocation.arg(ttl).arg("load");
        invocation.invoke_async(&mut self.manager).await.map_err(failed)
    }

    /// Replaces the record of `session` and renews its lifetime, if it still exists.
    pub(crate) async fn save_session(&mut self, session: SessionWrite) -> Result<(), StoreError> {
        let ttl = ttl_ms(session.ttl)?;
        let mut invocation = self.session_script(&self.shared.scripts.renew, &session.id);
        invocation.arg(ttl).arg("save").arg(session.record);
        invocation.invoke_async(&mut self.manager).await.map_err(failed)
    }

    /// Renews the lifetime of session `id` to `ttl`, if it still exists.
    pub(crate) async fn touch_session(&mut self, id: &str, ttl: Duration) -> Result<(), StoreError> {
        let ttl = ttl_ms(ttl)?;
        let mut invocation = self.session_script(&self.shared.scripts.renew, id);
        invocation.arg(ttl).arg("touch");
        invocation.invoke_async(&mut self.manager).await.map_err(failed)
    }

    /// Deletes session `id`; answers whether it existed.
    pub(crate) async fn close_session(&mut self, id: &str) -> Result<bool, StoreError> {
        let (deleted, _removed): (u64, u64) = redis::pipe()
            .cmd("DEL")
            .arg(self.session_key(id))
            .cmd("ZREM")
            .arg(self.sessions_key())
            .arg(id)
            .query_async(&mut self.manager)
            .await
            .map_err(failed)?;
        Ok(deleted == 1)
    }

    /// Starts a run of `script` on the keys of session `id`, with the id as its first argument.
    fn session_script<'a>(&self, script: &'a Script, id: &str) -> ScriptInvocation<'a> {
        let mut invocation = script.key(self.session_key(id));
        invocation.key(self.sessions_key()).arg(id);
        invocation
    }

    /// Where the record of session `id` is: `{prefix}{s:<id>}`.
    fn session_key(&self, id: &str) -> String {
        format!("{}{{s:{id}}}", self.shared.settings.prefix)
    }

    /// Where the live sessions' ids are: `{prefix}sessions`.
    fn sessions_key(&self) -> String {
        format!("{}sessions", self.shared.settings.prefix)
    }
}

/// Returns `ttl` in whole milliseconds, rounded up and at least 1 (Redis refuses to set a
/// lifetime of 0), or why the store cannot keep a session that long.
pub(crate) fn ttl_ms(ttl: Duration) -> Result<u64, StoreError> {
    let ms = ttl.as_nanos().div_ceil(1_000_000).max(1);
    match u64::try_from(ms) {
        Ok(ms) if ms <= MAX_TTL_MS => Ok(ms),
        _ => Err(StoreError::new(format!(
            "a session may live at most 2^44 ms (about 557 years), not {} s",
            ttl.as_secs()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_round_up_to_whole_milliseconds() {
        assert_eq!(ttl_ms(Duration::ZERO), Ok(1));
        assert_eq!(ttl_ms(Duration::from_micros(1)), Ok(1));
        assert_eq!(ttl_ms(Duration::from_micros(1_001)), Ok(2));
        assert_eq!(ttl_ms(Duration::from_secs(1_800)), Ok(1_800_000));
        assert_eq!(ttl_ms(Duration::from_millis(MAX_TTL_MS)), Ok(MAX_TTL_MS));
        assert!(ttl_ms(Duration::from_millis(MAX_TTL_MS + 1)).is_err());
        assert!(ttl_ms(Duration::MAX).is_err());
    }
}
