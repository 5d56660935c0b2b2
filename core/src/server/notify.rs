//! Announcements to sessions: a changed resource to its subscribers, a changed list to
//! every initialized session. They travel on a session's own channel: the NDJSON connection,
//! or the HTTP session's standalone stream (kept for replay while none is open); and to the
//! 2026-07-28 subscriptions that asked for them, on their `subscriptions/listen` stream.

use serde_json::{Value, json};

use super::Server;
use super::connections::Kind;
use super::sessions::SessionKey;
use crate::handler::Notice;
use crate::jsonrpc;
use crate::mcp::modern;

impl Server {
    /// Sends `notice` to every session that should hear of it.
    pub(super) fn broadcast(&mut self, notice: &Notice) {
        let (method, params, keys) = match notice {
            Notice::ResourceUpdated(uri) => (
                "notifications/resources/updated",
                Some(json!({ "uri": uri })),
                self.sessions.select(|session| session.mcp.is_subscribed(uri)),
            ),
            Notice::ResourcesChanged => ("notifications/resources/list_changed", None, self.initialized()),
            Notice::ToolsChanged => ("notifications/tools/list_changed", None, self.initialized()),
            Notice::PromptsChanged => ("notifications/prompts/list_changed", None, self.initialized()),
        };
        let bytes = jsonrpc::write_notification(method, params.as_ref());
        for key in keys {
            self.send_session_message(&key, bytes.clone());
        }
        self.notify_listens(notice, method, params.as_ref());
    }

    /// Legacy sessions past `initialize`.
    fn initialized(&self) -> Vec<SessionKey> {
        self.sessions
            .select(|session| session.mcp.version().is_some_and(|v| !v.is_modern()))
    }

    /// Sends a notice to every 2026-07-28 subscription that asked for it, tagged with the
    /// subscription's id.
    fn notify_listens(&mut self, notice: &Notice, method: &str, params: Option<&Value>) {
        let keys = self
            .sessions
            .select(|session| session.listens.iter().any(|listen| listen.filter.wants(notice)));
        for key in keys {
            let SessionKey::Conn(connection) = key else {
                continue;
            };
            let messages: Vec<Vec<u8>> = self
                .sessions
                .get(&key)
                .map(|session| {
                    session
                        .listens
                        .iter()
                        .filter(|listen| listen.filter.wants(notice))
                        .map(|listen| {
                            let params = modern::tagged(params, &listen.id);
                            jsonrpc::write_notification(method, Some(&params))
                        })
                        .collect()
                })
                .unwrap_or_default();
            for bytes in messages {
                match self.connections.get(&connection).map(|conn| &conn.kind) {
                    Some(Kind::Ndjson(_)) => self.send_line(connection, bytes),
                    Some(Kind::Http(_)) => self.listen_message(connection, &bytes),
                    None => {}
                }
            }
        }
    }

    /// Sends a message that belongs to no request to a session.
    fn send_session_message(&mut self, key: &SessionKey, bytes: Vec<u8>) {
        match key {
            SessionKey::Conn(connection) => {
                // A stateless HTTP request's session has no channel of its own.
                if let Some(Kind::Ndjson(_)) = self.connections.get(connection).map(|conn| &conn.kind) {
                    self.send_line(*connection, bytes);
                }
            }
            SessionKey::Http(id) => self.standalone_message(id, &bytes),
        }
    }
}
