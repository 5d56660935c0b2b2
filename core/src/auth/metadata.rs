//! OAuth 2.0 Protected Resource Metadata (RFC 9728): the document that tells a client which
//! authorization servers issue tokens for this server, and where that document is served.

use serde_json::{Value, json};

use super::AuthConfigError;

/// The well-known path prefix of the protected resource metadata document.
const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// What a client needs to know to get a token for this server (RFC 9728).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceMetadata {
    /// This server's resource identifier: its absolute URL, the `aud` its tokens must carry.
    pub resource: String,
    /// The issuer URLs of the authorization servers that issue tokens for it.
    pub authorization_servers: Vec<String>,
    /// The scopes it understands.
    pub scopes_supported: Vec<String>,
}

impl ResourceMetadata {
    /// Returns the metadata document; empty lists are left out, and bearer tokens go in the header only.
    pub fn to_json(&self) -> Value {
        let mut doc = json!({
            "resource": self.resource,
            "bearer_methods_supported": ["header"],
        });
        if !self.authorization_servers.is_empty() {
            doc["authorization_servers"] = json!(self.authorization_servers);
        }
        if !self.scopes_supported.is_empty() {
            doc["scopes_supported"] = json!(self.scopes_supported);
        }
        doc
    }

    /// Returns the path the document is served at: the well-known prefix, then the resource's path and query.
    ///
    /// For `https://example.com/mcp` it is `/.well-known/oauth-protected-resource/mcp`; for a
    /// resource without a path it is the bare prefix. Clients that find no `resource_metadata`
    /// in a challenge also try the bare prefix, so a server may serve the document at both.
    pub fn well_known_path(&self) -> Result<String, AuthConfigError> {
        let url = ResourceUrl::parse(&self.resource)?;
        let path = if url.path_and_query.starts_with("/?") {
            &url.path_and_query[1..]
        } else if url.path_and_query == "/" {
            ""
        } else {
            url.path_and_query
        };
        Ok(format!("{WELL_KNOWN}{path}"))
    }

    /// Returns the absolute URL of the document, the value of `resource_metadata` in challenges.
    pub fn metadata_url(&self) -> Result<String, AuthConfigError> {
        let url = ResourceUrl::parse(&self.resource)?;
        Ok(format!("{}{}", url.origin, self.well_known_path()?))
    }
}

/// An absolute http(s) URL split at the end of its authority.
struct ResourceUrl<'a> {
    /// `scheme://authority`.
    origin: &'a str,
    /// The rest: empty, or starting with `/` or `?`.
    path_and_query: &'a str,
}

impl<'a> ResourceUrl<'a> {
    /// Splits `url`, refusing what RFC 9728 does not allow as a resource identifier.
    fn parse(url: &'a str) -> Result<Self, AuthConfigError> {
        let bad = |problem| AuthConfigError::ResourceUrl {
            url: url.to_owned(),
            problem,
        };
        if !url.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(bad("it may hold only printable ASCII without spaces"));
        }
        if url.contains('#') {
            return Err(bad("it must not have a fragment"));
        }
        let Some((scheme, rest)) = url.split_once("://") else {
            return Err(bad("it must be an absolute http:// or https:// URL"));
        };
        if !scheme.eq_ignore_ascii_case("https") && !scheme.eq_ignore_ascii_case("http") {
            return Err(bad("it must be an absolute http:// or https:// URL"));
        }
        let authority_len = rest.find(['/', '?']).unwrap_or(rest.len());
        if authority_len == 0 {
            return Err(bad("it has no host"));
        }
        let origin_len = scheme.len() + 3 + authority_len;
        let (origin, path_and_query) = url.split_at(origin_len);
        Ok(Self {
            origin,
            path_and_query,
        })
    }
}
