//! An ES256 key pair made in the test, its JWKS document, and tokens signed with it.

#![allow(dead_code)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::{Value, json};

/// A P-256 signing key and the kid it is published under.
pub struct Issuer {
    key: SigningKey,
    kid: String,
}

impl Issuer {
    /// Makes a key from `seed` (any 32 bytes below the curve order).
    pub fn new(seed: u8, kid: &str) -> Self {
        let key = SigningKey::from_slice(&[seed; 32]).expect("a valid P-256 scalar");
        Self {
            key,
            kid: kid.to_owned(),
        }
    }

    /// The JWKS document with the public key.
    pub fn jwks(&self) -> String {
        let point = self.key.verifying_key().to_encoded_point(false);
        let x = URL_SAFE_NO_PAD.encode(point.x().expect("uncompressed point"));
        let y = URL_SAFE_NO_PAD.encode(point.y().expect("uncompressed point"));
        json!({"keys": [{"kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": self.kid, "alg": "ES256", "use": "sig"}]})
            .to_string()
    }

    /// Signs `claims` as an ES256 JWT.
    pub fn token(&self, claims: &Value) -> String {
        let header = json!({"alg": "ES256", "typ": "JWT", "kid": self.kid});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature: Signature = self.key.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }
}
