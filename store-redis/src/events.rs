//! The SSE events of sessions' streams, kept for clients that resume a stream on another
//! replica: one list per session, `{prefix}{ev:<id>}`, each entry the event's id and its
//! message as a two-element JSON array, trimmed to the newest `max` and expiring with the
//! session.

use std::time::Duration;

use rampart_core::store::StoreError;

use crate::sessions::ttl_ms;
use crate::{RedisStore, failed};

impl RedisStore {
    /// Appends an event, trims the list to the newest `max` and renews its lifetime: one
    /// round trip (a transaction of three commands).
    pub(crate) async fn append_event(
        &mut self,
        session: &str,
        event: String,
        message: String,
        max: usize,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let key = self.events_key(session);
        let entry =
            serde_json::to_string(&(event, message)).map_err(|err| StoreError::new(err.to_string()))?;
        let keep = isize::try_from(max.max(1)).unwrap_or(isize::MAX);
        redis::pipe()
            .atomic()
            .rpush(&key, entry)
            .ignore()
            .ltrim(&key, -keep, -1)
            .ignore()
            .pexpire(&key, i64::try_from(ttl_ms(ttl)?).unwrap_or(i64::MAX))
            .ignore()
            .query_async::<()>(&mut self.manager)
            .await
            .map_err(failed)
    }

    /// Reads a session's events, oldest first; entries that do not read as events are
    /// skipped.
    pub(crate) async fn read_events(&mut self, session: &str) -> Result<Vec<(String, String)>, StoreError> {
        let entries: Vec<String> = redis::cmd("LRANGE")
            .arg(self.events_key(session))
            .arg(0)
            .arg(-1)
            .query_async(&mut self.manager)
            .await
            .map_err(failed)?;
        Ok(entries
            .iter()
            .filter_map(|entry| serde_json::from_str(entry).ok())
            .collect())
    }

    /// Where session `id`'s events are: `{prefix}{ev:<id>}`.
    fn events_key(&self, id: &str) -> String {
        format!("{}{{ev:{id}}}", self.shared.settings.prefix)
    }
}
