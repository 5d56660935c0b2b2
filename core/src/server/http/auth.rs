//! Authentication of requests to the MCP endpoint: bearer tokens checked by the configured
//! verifiers, the 401 challenge, and the protected resource metadata (RFC 9728).

use super::reply::{Reply, error_reply, json_reply, not_allowed};
use super::{Ctx, Server};
use crate::auth::{self, AuthError};
use crate::framing::http1::Head;
use crate::server::ConnectionId;
use crate::time::Now;

/// Where RFC 9728 metadata lives when the resource has no path.
const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

impl Server {
    /// Checks the request's bearer token; returns the 401 to send when it has no valid one.
    /// A session is never a credential: every request must carry a token.
    pub(super) fn authenticate(
        &mut self,
        connection: ConnectionId,
        head: &Head,
        ctx: &mut Ctx,
        now: Now,
    ) -> Option<Reply> {
        let auth = self.config.auth.as_ref()?;
        let now_unix = now
            .wall
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let verdict = auth::bearer_token(head.header("authorization")).and_then(|token| {
            let mut refusal = AuthError::Invalid;
            for verifier in &auth.verifiers {
                match verifier.verify(token, now_unix) {
                    Ok(principal) => return Ok(principal),
                    // The most specific reason wins over a plain "no such token".
                    Err(AuthError::Invalid) => {}
                    Err(error) => refusal = error,
                }
            }
            Err(refusal)
        });
        match verdict {
            Ok(principal) => {
                ctx.principal = Some(principal.name.clone());
                if let Some(conn) = self.connections.get_mut(&connection) {
                    conn.principal = Some(principal);
                }
                None
            }
            Err(error) => {
                let challenge = auth::www_authenticate(&error, self.metadata_url().as_deref());
                let mut reply = error_reply(401, &error.rpc_error(), false);
                reply.headers.push(("WWW-Authenticate", challenge));
                Some(reply)
            }
        }
    }

    /// The `WWW-Authenticate` challenge for a request that lacks the scope `scope`.
    pub(super) fn insufficient_scope(&self, scope: &str) -> String {
        auth::insufficient_scope(scope, self.metadata_url().as_deref())
    }

    fn metadata_url(&self) -> Option<String> {
        let metadata = self.config.auth.as_ref()?.metadata.as_ref()?;
        metadata.metadata_url().ok()
    }

    /// Returns whether `path` is where the protected resource metadata is served.
    pub(super) fn is_metadata_path(&self, path: &str) -> bool {
        let Some(metadata) = self.config.auth.as_ref().and_then(|auth| auth.metadata.as_ref()) else {
            return false;
        };
        path == WELL_KNOWN || metadata.well_known_path().is_ok_and(|known| known == path)
    }

    /// Serves the protected resource metadata document (RFC 9728).
    pub(super) fn metadata_reply(&self, head: &Head) -> Reply {
        if head.method() != "GET" {
            return not_allowed("GET, OPTIONS");
        }
        let document = self
            .config
            .auth
            .as_ref()
            .and_then(|auth| auth.metadata.as_ref())
            .map(|metadata| metadata.to_json().to_string())
            .unwrap_or_default();
        json_reply(200, document.into_bytes())
    }
}
