//! Verification keys for JWTs: read from a JWKS document or a PEM public key, checked once
//! when loaded, and used through the RustCrypto provider of `jsonwebtoken` (never through its
//! process-wide default, which may be unset).

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};

/// The fewest bits an RSA modulus may have.
const MIN_RSA_BITS: usize = 2048;
/// The most bits an RSA modulus may have (the RustCrypto verifier's own limit).
const MAX_RSA_BITS: usize = 4096;
/// The largest RSA public exponent the RustCrypto verifier accepts.
const MAX_RSA_EXPONENT: u64 = (1 << 33) - 1;

/// A JWT verification key configuration that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwtConfigError {
    /// A setting that must not be empty is empty.
    #[error("the JWT {setting} must not be empty")]
    Empty {
        /// `issuer` or `audience`.
        setting: &'static str,
    },
    /// The JWKS text is not a JSON object with a `keys` array.
    #[error("the JWKS is not a JSON object with a \"keys\" array: {reason}")]
    Jwks {
        /// What the parser found.
        reason: String,
    },
    /// A key of the JWKS could not be used.
    #[error("JWKS key {index} (kid {kid:?}): {problem}")]
    JwksKey {
        /// The key's position in `keys`, from 0.
        index: usize,
        /// The key's `kid`, if it has one.
        kid: Option<String>,
        /// What is wrong with it.
        problem: JwtKeyProblem,
    },
    /// The PEM text could not be used.
    #[error("PEM key: {problem}")]
    Pem {
        /// What is wrong with it.
        problem: JwtKeyProblem,
    },
    /// The JWKS has no RS256 or ES256 signature key.
    #[error("the JWKS has no RS256 or ES256 signature key")]
    NoKeys,
}

/// What is wrong with one verification key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwtKeyProblem {
    /// The key is not a JSON object.
    #[error("not a JSON object")]
    NotObject,
    /// A member the key needs is absent or not a string.
    #[error("no string member {0:?}")]
    Member(&'static str),
    /// A member is not base64url.
    #[error("member {0:?} is not base64url")]
    Base64(&'static str),
    /// The RSA modulus is too short or too long.
    #[error("the RSA modulus has {bits} bits; 2048 to 4096 are accepted")]
    RsaModulus {
        /// Its size.
        bits: usize,
    },
    /// The RSA public exponent is even, below 3 or too large.
    #[error("the RSA public exponent is not an odd number from 3 to 2^33-1")]
    RsaExponent,
    /// The coordinates are not a point on P-256.
    #[error("the coordinates are not a point on P-256")]
    EcPoint,
    /// The PEM text is not a public key block.
    #[error("not a PEM public key (-----BEGIN PUBLIC KEY----- or -----BEGIN RSA PUBLIC KEY-----)")]
    NotPublicKey,
    /// The PEM key is neither RSA nor EC P-256, or its encoding is broken.
    #[error("neither a well-formed RSA key nor an EC P-256 key")]
    UnsupportedKey,
}

/// The signature algorithms accepted: one per key type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256, for RSA keys.
    Rs256,
    /// ECDSA on P-256 with SHA-256, for EC keys.
    Es256,
}

impl Alg {
    /// Returns the algorithm a JOSE `alg` names, if it is accepted.
    pub(super) fn from_name(name: &str) -> Option<Self> {
        match name {
            "RS256" => Some(Self::Rs256),
            "ES256" => Some(Self::Es256),
            _ => None,
        }
    }

    /// Returns the JOSE name.
    fn name(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
        }
    }

    /// Returns the `jsonwebtoken` algorithm.
    fn jsonwebtoken(self) -> Algorithm {
        match self {
            Self::Rs256 => Algorithm::RS256,
            Self::Es256 => Algorithm::ES256,
        }
    }
}

/// One verification key, with the only algorithm it verifies.
#[derive(Clone)]
pub(super) struct Key {
    /// The key id tokens name it by, if it has one.
    pub(super) kid: Option<String>,
    /// The algorithm it verifies.
    pub(super) alg: Alg,
    /// The public key.
    key: DecodingKey,
}

impl Key {
    /// Returns whether `signature` signs `message` under this key.
    pub(super) fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(verifier) = (DEFAULT_PROVIDER.verifier_factory)(&self.alg.jsonwebtoken(), &self.key) else {
            return false;
        };
        verifier.verify(message, &signature.to_vec()).is_ok()
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} key {:?}", self.alg.name(), self.kid)
    }
}

/// Reads the RS256 and ES256 signature keys of a JWKS document.
///
/// Keys of other types, curves or algorithms, and keys marked for another `use` or without
/// `verify` among their `key_ops`, are skipped; a key of an accepted kind that is malformed is
/// an error.
pub(super) fn from_jwks(jwks_json: &str) -> Result<Vec<Key>, JwtConfigError> {
    let doc: Value = serde_json::from_str(jwks_json).map_err(|e| JwtConfigError::Jwks {
        reason: e.to_string(),
    })?;
    let Some(keys) = doc.get("keys").and_then(Value::as_array) else {
        return Err(JwtConfigError::Jwks {
            reason: "no \"keys\" array".into(),
        });
    };
    let mut out = Vec::new();
    for (index, jwk) in keys.iter().enumerate() {
        let failed = |kid: Option<&str>, problem| JwtConfigError::JwksKey {
            index,
            kid: kid.map(str::to_owned),
            problem,
        };
        let Some(jwk) = jwk.as_object() else {
            return Err(failed(None, JwtKeyProblem::NotObject));
        };
        let kid = match jwk.get("kid") {
            None => None,
            Some(Value::String(kid)) => Some(kid.as_str()),
            Some(_) => return Err(failed(None, JwtKeyProblem::Member("kid"))),
        };
        let Some(alg) = signature_alg(jwk) else {
            continue;
        };
        let key = match alg {
            Alg::Rs256 => rsa_from_jwk(jwk),
            Alg::Es256 => ec_from_jwk(jwk),
        };
        let key = key.map_err(|problem| failed(kid, problem))?;
        out.push(Key {
            kid: kid.map(str::to_owned),
            alg,
            key,
        });
    }
    if out.is_empty() {
        return Err(JwtConfigError::NoKeys);
    }
    Ok(out)
}

/// Reads a PEM public key (SPKI `PUBLIC KEY`, or PKCS#1 `RSA PUBLIC KEY`), RSA or EC P-256.
pub(super) fn from_pem(kid: Option<&str>, pem: &str) -> Result<Key, JwtConfigError> {
    let failed = |problem| JwtConfigError::Pem { problem };
    let label = pem
        .lines()
        .map(str::trim)
        .find_map(|line| line.strip_prefix("-----BEGIN "))
        .and_then(|rest| rest.strip_suffix("-----"));
    if !matches!(label, Some("PUBLIC KEY" | "RSA PUBLIC KEY")) {
        return Err(failed(JwtKeyProblem::NotPublicKey));
    }
    let (alg, key) = if let Ok(rsa) = DecodingKey::from_rsa_pem(pem.as_bytes()) {
        let der = rsa
            .try_get_as_bytes()
            .map_err(|_| failed(JwtKeyProblem::UnsupportedKey))?;
        let (n, e) = (DEFAULT_PROVIDER.key_utils.rsa_pub_components_from_public_key)(der)
            .map_err(|_| failed(JwtKeyProblem::UnsupportedKey))?;
        (Alg::Rs256, rsa_key(&n, &e).map_err(failed)?)
    } else if let Ok(ec) = DecodingKey::from_ec_pem(pem.as_bytes()) {
        check_ec(&ec).map_err(|_| failed(JwtKeyProblem::UnsupportedKey))?;
        (Alg::Es256, ec)
    } else {
        return Err(failed(JwtKeyProblem::UnsupportedKey));
    };
    Ok(Key {
        kid: kid.map(str::to_owned),
        alg,
        key,
    })
}

/// Returns the algorithm a JWK verifies, or `None` when it is not an accepted signature key.
fn signature_alg(jwk: &Map<String, Value>) -> Option<Alg> {
    let text = |name| jwk.get(name).and_then(Value::as_str);
    let alg = match (text("kty"), text("crv")) {
        (Some("RSA"), _) => Alg::Rs256,
        (Some("EC"), Some("P-256")) => Alg::Es256,
        _ => return None,
    };
    if jwk
        .get("alg")
        .is_some_and(|declared| declared.as_str() != Some(alg.name()))
    {
        return None;
    }
    if jwk.get("use").is_some_and(|usage| usage.as_str() != Some("sig")) {
        return None;
    }
    if let Some(ops) = jwk.get("key_ops") {
        let ops = ops.as_array().map(Vec::as_slice).unwrap_or_default();
        if !ops.iter().any(|op| op.as_str() == Some("verify")) {
            return None;
        }
    }
    Some(alg)
}

/// Builds an RSA key from a JWK's `n` and `e`.
fn rsa_from_jwk(jwk: &Map<String, Value>) -> Result<DecodingKey, JwtKeyProblem> {
    let n = member_bytes(jwk, "n")?;
    let e = member_bytes(jwk, "e")?;
    rsa_key(&n, &e)
}

/// Builds an EC P-256 key from a JWK's `x` and `y`.
fn ec_from_jwk(jwk: &Map<String, Value>) -> Result<DecodingKey, JwtKeyProblem> {
    let x = member_bytes(jwk, "x")?;
    let y = member_bytes(jwk, "y")?;
    if x.len() != 32 || y.len() != 32 {
        return Err(JwtKeyProblem::EcPoint);
    }
    let point = [&[0x04][..], &x, &y].concat();
    let key = DecodingKey::from_ec_der(&point);
    check_ec(&key)?;
    Ok(key)
}

/// Checks that an EC key is a point on P-256.
fn check_ec(key: &DecodingKey) -> Result<(), JwtKeyProblem> {
    (DEFAULT_PROVIDER.verifier_factory)(&Algorithm::ES256, key)
        .map(drop)
        .map_err(|_| JwtKeyProblem::EcPoint)
}

/// Builds an RSA key from its big-endian modulus and exponent, checking their sizes.
fn rsa_key(n: &[u8], e: &[u8]) -> Result<DecodingKey, JwtKeyProblem> {
    let n = strip_leading_zeros(n);
    let bits = n
        .first()
        .map_or(0, |&top| (n.len() - 1) * 8 + (8 - top.leading_zeros() as usize));
    if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
        return Err(JwtKeyProblem::RsaModulus { bits });
    }
    let e = strip_leading_zeros(e);
    if e.len() > 8 {
        return Err(JwtKeyProblem::RsaExponent);
    }
    let exponent = e.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    if !(3..=MAX_RSA_EXPONENT).contains(&exponent) || exponent & 1 == 0 {
        return Err(JwtKeyProblem::RsaExponent);
    }
    Ok(DecodingKey::from_rsa_raw_components(n, e))
}

/// Returns the bytes of a base64url string member, with or without padding.
fn member_bytes(jwk: &Map<String, Value>, name: &'static str) -> Result<Vec<u8>, JwtKeyProblem> {
    let text = jwk
        .get(name)
        .and_then(Value::as_str)
        .ok_or(JwtKeyProblem::Member(name))?;
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|_| JwtKeyProblem::Base64(name))
}

/// Returns `bytes` without its leading zero bytes.
fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}
