//! Announcements to sessions: a changed resource to its subscribers, a changed list to
//! every initialized session. They travel on a session's own channel: the NDJSON connection,
//! or the HTTP session's standalone stream (kept for replay while none is open).

use serde_json::json;

use super::Server;
use super::connections::Kind;
use super::sessions::SessionKey;
use crate::handler::Notice;
use crate::jsonrpc;

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
    }

    fn initialized(&self) -> Vec<SessionKey> {
        self.sessions.select(|session| session.mcp.version().is_some())
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
