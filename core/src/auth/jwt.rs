//! OAuth access tokens as JWTs (RFC 7519, RFC 9068), signed with RS256 or ES256 and checked
//! against the authorization server's published keys, at a time the caller passes in.
//!
//! A token is accepted when, in this order: it is three base64url parts; its header is JSON
//! with no `crit`; its `alg` is RS256 or ES256; a configured key fits it (same `kid`, or any
//! key when either side has none) and has that algorithm's key type; the signature verifies
//! with one such key; its `iss` is the issuer; its `aud` (a string, or an array) holds the
//! audience; `exp` (required) is after `now - leeway`; `nbf`, when present, is at most
//! `now + leeway`. Claims are only read once the signature holds, and a claim of the wrong JSON
//! type makes the token invalid rather than being skipped. Header members that point at keys
//! elsewhere (`jku`, `x5u`, `jwk`) are ignored: only configured keys are ever used.
//!
//! The principal is the `sub` claim (or `client_id` when there is no `sub`), which must be a
//! non-empty string; its scopes come from `scope` (space-separated) or else `scp` (an array, or
//! a space-separated string), less any `*`, which only static tokens may carry.
//!
//! Fetching the JWKS and refreshing it when keys rotate is the caller's IO: build a new
//! verifier from the new document and swap it in.

mod keys;
#[cfg(test)]
mod tests;

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use keys::{JwtConfigError, JwtKeyProblem};

use super::{ALL_SCOPES, AuthError, Principal, TokenVerifier};
use keys::{Alg, Key};

/// The longest token looked at; longer ones are invalid without being decoded.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Verifies RS256 and ES256 JWT access tokens issued for this resource.
#[derive(Clone)]
pub struct JwtVerifier {
    issuer: String,
    audience: String,
    leeway_secs: u64,
    keys: Vec<Key>,
}

impl JwtVerifier {
    /// Creates a verifier with no keys yet; `audience` is this resource's URL.
    ///
    /// `leeway_secs` is the clock skew forgiven on `exp` and `nbf`.
    pub fn new(
        issuer: impl Into<String>,
        audience: impl Into<String>,
        leeway_secs: u64,
    ) -> Result<Self, JwtConfigError> {
        let (issuer, audience) = (issuer.into(), audience.into());
        if issuer.is_empty() {
            return Err(JwtConfigError::Empty { setting: "issuer" });
        }
        if audience.is_empty() {
            return Err(JwtConfigError::Empty { setting: "audience" });
        }
        Ok(Self {
            issuer,
            audience,
            leeway_secs,
            keys: Vec::new(),
        })
    }

    /// Creates a verifier with the RS256 and ES256 signature keys of a JWKS document.
    pub fn from_jwks(
        issuer: impl Into<String>,
        audience: impl Into<String>,
        jwks_json: &str,
        leeway_secs: u64,
    ) -> Result<Self, JwtConfigError> {
        Self::new(issuer, audience, leeway_secs)?.with_jwks(jwks_json)
    }

    /// Adds the RS256 and ES256 signature keys of a JWKS document; other keys are skipped.
    pub fn with_jwks(mut self, jwks_json: &str) -> Result<Self, JwtConfigError> {
        self.keys.extend(keys::from_jwks(jwks_json)?);
        Ok(self)
    }

    /// Adds a PEM public key (RSA of 2048 to 4096 bits, or EC P-256), named `kid` if given.
    pub fn with_pem(mut self, kid: Option<&str>, pem: &str) -> Result<Self, JwtConfigError> {
        self.keys.push(keys::from_pem(kid, pem)?);
        Ok(self)
    }

    /// Returns the issuer tokens must come from.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Returns the audience tokens must be meant for.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// Returns the number of keys configured.
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// Checks that one of the keys that fit `kid` and `alg` signed `message`.
    fn check_signature(
        &self,
        kid: Option<&str>,
        alg: Alg,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), AuthError> {
        let fits_kid = |key: &&Key| kid.is_none() || key.kid.is_none() || key.kid.as_deref() == kid;
        let mut candidates = self.keys.iter().filter(fits_kid).peekable();
        if candidates.peek().is_none() {
            return Err(AuthError::UnknownKey);
        }
        let mut fitting = candidates.filter(|key| key.alg == alg).peekable();
        if fitting.peek().is_none() {
            return Err(AuthError::WrongAlgorithm);
        }
        if fitting.any(|key| key.verifies(message, signature)) {
            Ok(())
        } else {
            Err(AuthError::BadSignature)
        }
    }

    /// Checks the claims of a token whose signature holds, and returns its principal.
    fn check_claims(&self, claims: Claims, now_unix: u64) -> Result<Principal, AuthError> {
        if claims.iss.as_ref().and_then(Value::as_str) != Some(self.issuer.as_str()) {
            return Err(AuthError::WrongIssuer);
        }
        let audience_ok = match &claims.aud {
            Some(Value::String(aud)) => *aud == self.audience,
            Some(Value::Array(auds)) => auds
                .iter()
                .any(|aud| aud.as_str() == Some(self.audience.as_str())),
            _ => false,
        };
        if !audience_ok {
            return Err(AuthError::WrongAudience);
        }
        let exp = claims
            .exp
            .as_ref()
            .map(numeric_date)
            .ok_or(AuthError::Invalid)??;
        if now_unix >= exp.floor.saturating_add(self.leeway_secs) {
            return Err(AuthError::Expired);
        }
        if let Some(nbf) = claims.nbf.as_ref().map(numeric_date).transpose()?
            && now_unix.saturating_add(self.leeway_secs) < nbf.ceil
        {
            return Err(AuthError::NotYetValid);
        }
        let name = match (&claims.sub, &claims.client_id) {
            (Some(Value::String(sub)), _) if !sub.is_empty() => sub.clone(),
            (None, Some(Value::String(client_id))) if !client_id.is_empty() => client_id.clone(),
            _ => return Err(AuthError::Invalid),
        };
        let scopes = match (&claims.scope, &claims.scp) {
            (Some(Value::String(scope)), _) => split_scopes(scope),
            (Some(_), _) => return Err(AuthError::Invalid),
            (None, Some(Value::String(scp))) => split_scopes(scp),
            (None, Some(Value::Array(scp))) => {
                let mut scopes = Vec::with_capacity(scp.len());
                for scope in scp {
                    let scope = scope.as_str().ok_or(AuthError::Invalid)?;
                    if !scope.is_empty() && scope != ALL_SCOPES {
                        scopes.push(scope.to_owned());
                    }
                }
                scopes
            }
            (None, Some(_)) => return Err(AuthError::Invalid),
            (None, None) => Vec::new(),
        };
        Ok(Principal { name, scopes })
    }
}

impl TokenVerifier for JwtVerifier {
    fn verify(&self, token: &str, now_unix: u64) -> Result<Principal, AuthError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::Invalid);
        }
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(AuthError::Invalid);
        };
        let head: Header = decode_part(header)?;
        if head.crit.is_some() {
            return Err(AuthError::Invalid);
        }
        let alg = Alg::from_name(&head.alg).ok_or(AuthError::WrongAlgorithm)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| AuthError::Invalid)?;
        let message = &token.as_bytes()[..header.len() + 1 + payload.len()];
        self.check_signature(head.kid.as_deref(), alg, message, &signature)?;
        let claims: Claims = decode_part(payload)?;
        self.check_claims(claims, now_unix)
    }
}

impl fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("leeway_secs", &self.leeway_secs)
            .field("keys", &self.keys)
            .finish()
    }
}

/// The JOSE header members looked at.
#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    crit: Option<Value>,
}

/// The claims looked at, each kept as JSON so that a wrong type is caught, not skipped.
#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    iss: Option<Value>,
    #[serde(default)]
    aud: Option<Value>,
    #[serde(default)]
    exp: Option<Value>,
    #[serde(default)]
    nbf: Option<Value>,
    #[serde(default)]
    sub: Option<Value>,
    #[serde(default)]
    client_id: Option<Value>,
    #[serde(default)]
    scope: Option<Value>,
    #[serde(default)]
    scp: Option<Value>,
}

/// A NumericDate rounded both ways, so each check can take the stricter one.
struct Date {
    floor: u64,
    ceil: u64,
}

/// Reads a NumericDate: a non-negative JSON number of seconds.
fn numeric_date(value: &Value) -> Result<Date, AuthError> {
    let Value::Number(number) = value else {
        return Err(AuthError::Invalid);
    };
    if let Some(secs) = number.as_u64() {
        return Ok(Date {
            floor: secs,
            ceil: secs,
        });
    }
    match number.as_f64() {
        Some(secs) if secs.is_finite() && secs >= 0.0 => Ok(Date {
            floor: secs.floor() as u64,
            ceil: secs.ceil() as u64,
        }),
        _ => Err(AuthError::Invalid),
    }
}

/// Splits a space-separated scope string, less empty entries and `*`.
fn split_scopes(scopes: &str) -> Vec<String> {
    scopes
        .split(' ')
        .filter(|scope| !scope.is_empty() && *scope != ALL_SCOPES)
        .map(str::to_owned)
        .collect()
}

/// Decodes a base64url part of a token and parses it as a JSON object without repeated members.
fn decode_part<T: DeserializeOwned>(part: &str) -> Result<T, AuthError> {
    let bytes = URL_SAFE_NO_PAD.decode(part).map_err(|_| AuthError::Invalid)?;
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(AuthError::Invalid);
    }
    serde_json::from_slice(&bytes).map_err(|_| AuthError::Invalid)
}
