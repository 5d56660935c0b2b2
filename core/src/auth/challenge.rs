//! The `WWW-Authenticate` values (RFC 6750) that ask a client for credentials (401) or for
//! more scope (403), pointing at the protected resource metadata when it is configured.

use super::AuthError;

/// Returns the `WWW-Authenticate` value of a 401 answer to `error`.
///
/// Without credentials it is `Bearer`, with `resource_metadata="<url>"` when configured; when
/// a token was presented but refused it adds `error="invalid_token"` and a short
/// `error_description` that never carries the token.
pub fn www_authenticate(error: &AuthError, resource_metadata: Option<&str>) -> String {
    let mut value = String::from("Bearer");
    let mut params = Params(&mut value);
    if let Some(url) = resource_metadata {
        params.push("resource_metadata", url);
    }
    if error.token_presented() {
        params.push("error", "invalid_token");
        params.push("error_description", &error.to_string());
    }
    value
}

/// Returns the `WWW-Authenticate` value of a 403 answer when the token lacks `scope`.
///
/// It is `Bearer error="insufficient_scope", scope="<scope>"`, with `resource_metadata` when configured.
pub fn insufficient_scope(scope: &str, resource_metadata: Option<&str>) -> String {
    let mut value = String::from("Bearer");
    let mut params = Params(&mut value);
    params.push("error", "insufficient_scope");
    params.push("scope", scope);
    if let Some(url) = resource_metadata {
        params.push("resource_metadata", url);
    }
    value
}

/// Appends `name="value"` auth-params to a challenge.
struct Params<'a>(&'a mut String);

impl Params<'_> {
    /// Appends one parameter as a quoted-string, escaping `"` and `\` and dropping all but printable ASCII.
    fn push(&mut self, name: &str, value: &str) {
        let separator = if self.0.ends_with('"') { ", " } else { " " };
        self.0.push_str(separator);
        self.0.push_str(name);
        self.0.push_str("=\"");
        for c in value.chars().filter(|&c| c == ' ' || c.is_ascii_graphic()) {
            if c == '"' || c == '\\' {
                self.0.push('\\');
            }
            self.0.push(c);
        }
        self.0.push('"');
    }
}
