//! Who a request comes from: bearer tokens, their verifiers, and the answers that ask a
//! client for credentials.
//!
//! This module owns the decisions and none of the IO. The caller reads the tokens file, fetches
//! the JWKS and passes the wall-clock time in; the module parses the `Authorization` header
//! ([`bearer_token`]), checks the token ([`TokenVerifier`]: [`StaticTokens`] for a configured
//! list, `JwtVerifier` for OAuth access tokens with the `jwt` feature), and builds what the
//! caller sends back: the `WWW-Authenticate` values of a 401 ([`www_authenticate`]) and of a
//! 403 ([`insufficient_scope`]), the JSON-RPC -32005 error ([`AuthError::rpc_error`]), and the
//! OAuth 2.0 Protected Resource Metadata document ([`ResourceMetadata`], RFC 9728).
//!
//! A token never leaves the module: no error, `Debug` output or log field carries one, and
//! [`StaticTokens`] keeps only the SHA-256 digests of the tokens it was given.
//!
//! ```
//! use rampart_core::auth::{self, AuthError, StaticTokens, TokenVerifier};
//!
//! let tokens = StaticTokens::new(auth::parse_tokens_file("ci:s3cr3t-t0ken\n").unwrap());
//! let header: Option<&[u8]> = Some(b"Bearer s3cr3t-t0ken");
//! let principal = auth::bearer_token(header).and_then(|token| tokens.verify(token, 1_700_000_000));
//! assert_eq!(principal.unwrap().name, "ci");
//!
//! let refused = auth::bearer_token(None).and_then(|token| tokens.verify(token, 1_700_000_000));
//! assert_eq!(refused, Err(AuthError::Missing));
//! assert_eq!(auth::www_authenticate(&AuthError::Missing, None), "Bearer");
//! ```

mod bearer;
mod challenge;
#[cfg(feature = "jwt")]
mod jwt;
mod metadata;
#[cfg(test)]
mod tests;

pub use bearer::{
    AuthConfigError, StaticToken, StaticTokens, TokenPlace, TokenProblem, bearer_token, parse_token_list,
    parse_tokens_file,
};
pub use challenge::{insufficient_scope, www_authenticate};
#[cfg(feature = "jwt")]
pub use jwt::{JwtConfigError, JwtKeyProblem, JwtVerifier};
pub use metadata::ResourceMetadata;

use crate::error::{ErrorCode, RpcError};

/// The scope that stands for every scope; only static tokens carry it.
///
/// A JWT's own `*` scope is dropped, so that no authorization server can grant it by accident.
pub const ALL_SCOPES: &str = "*";

/// Checks a bearer token and says who it belongs to.
pub trait TokenVerifier: Send + Sync {
    /// Verifies `token` at wall-clock time `now_unix` (seconds since the epoch, passed in by the caller).
    fn verify(&self, token: &str, now_unix: u64) -> Result<Principal, AuthError>;
}

/// Who a request authenticated as: a name for logs and the scopes it was granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The name written in logs: a static token's configured name, or a JWT's `sub`.
    pub name: String,
    /// The scopes granted; [`ALL_SCOPES`] grants every scope.
    pub scopes: Vec<String>,
}

/// Why a request's credentials were refused; no message ever carries the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The request has no `Authorization: Bearer` credentials.
    #[error("no bearer token")]
    Missing,
    /// The token is malformed, or no configured token matches it.
    #[error("invalid token")]
    Invalid,
    /// The token's `exp` has passed.
    #[error("the token has expired")]
    Expired,
    /// The token's `nbf` is still to come.
    #[error("the token is not valid yet")]
    NotYetValid,
    /// The token's `iss` is not the configured issuer.
    #[error("the token comes from another issuer")]
    WrongIssuer,
    /// The token's `aud` does not name this resource.
    #[error("the token is meant for another audience")]
    WrongAudience,
    /// The token's signature does not verify with the key it names.
    #[error("the token's signature does not verify")]
    BadSignature,
    /// The token's `alg` is not RS256 or ES256, or does not fit the type of its key.
    #[error("the token's algorithm is not accepted")]
    WrongAlgorithm,
    /// No configured key has the token's `kid`, or none fits its algorithm.
    #[error("the token names an unknown key")]
    UnknownKey,
}

impl AuthError {
    /// Returns whether a token was presented, so the challenge carries `error="invalid_token"`.
    pub const fn token_presented(&self) -> bool {
        !matches!(self, Self::Missing)
    }

    /// Returns the JSON-RPC -32005 error for the body of the 401; the reason goes to `error.data`.
    pub fn rpc_error(&self) -> RpcError {
        let message = match self {
            Self::Missing => "Missing bearer token",
            _ => "Invalid bearer token",
        };
        RpcError::new(ErrorCode::Auth, message).with_debug(self.to_string())
    }
}

/// Returns whether `principal` was granted `required` (or every scope).
pub fn has_scope(principal: &Principal, required: &str) -> bool {
    principal
        .scopes
        .iter()
        .any(|scope| scope == required || scope == ALL_SCOPES)
}
