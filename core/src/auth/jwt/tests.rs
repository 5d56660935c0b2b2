use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use p256::ecdsa::signature::Signer as _;
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use p256::pkcs8::EncodePublicKey as _;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore as _, SeedableRng as _};
use rsa::pkcs1::{EncodeRsaPrivateKey as _, EncodeRsaPublicKey as _};
use rsa::traits::PublicKeyParts as _;
use rsa::{RsaPrivateKey, pkcs1v15, pkcs8::LineEnding};
use serde_json::{Value, json};

use super::*;
use crate::auth::{has_scope, www_authenticate};

const ISS: &str = "https://auth.example.com";
const AUD: &str = "https://mcp.example.com/mcp";
const NOW: u64 = 1_700_000_000;
const LEEWAY: u64 = 60;

/// A seeded generator for the keys, so every run signs with the same keys and never asks the OS.
struct TestRng(ChaCha20Rng);

impl rsa::rand_core::RngCore for TestRng {
    fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }
    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill_bytes(dest)
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rsa::rand_core::Error> {
        self.0.fill_bytes(dest);
        Ok(())
    }
}

impl rsa::rand_core::CryptoRng for TestRng {}

/// The key pairs of the tests: the configured ones, and one no verifier knows.
struct Keys {
    rsa: RsaPrivateKey,
    ec: p256::SecretKey,
    ec_other: p256::SecretKey,
}

/// Generates the keys once per test run (seed 4 finds its RSA primes quickly in a debug build).
fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut rng = TestRng(ChaCha20Rng::from_seed([4; 32]));
        Keys {
            rsa: RsaPrivateKey::new(&mut rng, 2048).unwrap(),
            ec: p256::SecretKey::random(&mut rng),
            ec_other: p256::SecretKey::random(&mut rng),
        }
    })
}

/// Returns a JWK with the kid of the test RSA key but another 2048-bit modulus.
fn impostor_rsa_jwk(kid: &str) -> Value {
    let key = &keys().rsa;
    let mut n = key.n().to_bytes_be();
    if let Some(last) = n.last_mut() {
        *last ^= 0x02;
    }
    json!({"kty": "RSA", "kid": kid, "n": b64(&n), "e": b64(&key.e().to_bytes_be())})
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn rsa_jwk(key: &RsaPrivateKey, kid: &str) -> Value {
    json!({
        "kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
        "n": b64(&key.n().to_bytes_be()), "e": b64(&key.e().to_bytes_be()),
    })
}

fn ec_jwk(key: &p256::SecretKey, kid: &str) -> Value {
    let point = key.public_key().to_encoded_point(false);
    json!({
        "kty": "EC", "kid": kid, "crv": "P-256",
        "x": b64(point.x().unwrap()), "y": b64(point.y().unwrap()),
    })
}

/// The JWKS of the configured keys, with keys of other kinds that must be skipped.
fn jwks() -> String {
    let k = keys();
    json!({"keys": [
        {"kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
        {"kty": "EC", "crv": "P-384", "kid": "p384", "x": "AAAA", "y": "AAAA"},
        {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
        rsa_jwk(&k.rsa, "rsa-1"),
        {"kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB"},
        {"kty": "RSA", "kid": "ps", "alg": "PS256", "n": "AQAB", "e": "AQAB"},
        ec_jwk(&k.ec, "ec-1"),
    ]})
    .to_string()
}

fn verifier() -> JwtVerifier {
    JwtVerifier::from_jwks(ISS, AUD, &jwks(), LEEWAY).unwrap()
}

/// What signs a test token.
enum Sign<'a> {
    Rsa(&'a RsaPrivateKey),
    Ec(&'a p256::SecretKey),
    Hmac(&'a [u8]),
    Nothing,
}

/// Builds a token from raw header and payload JSON texts.
fn raw_token(header: &str, payload: &str, sign: Sign<'_>) -> String {
    let message = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
    let signature = match sign {
        Sign::Rsa(key) => {
            let signer = pkcs1v15::SigningKey::<rsa::sha2::Sha256>::new(key.clone());
            b64(&rsa::signature::SignatureEncoding::to_vec(
                &signer.sign(message.as_bytes()),
            ))
        }
        Sign::Ec(key) => {
            let signer = p256::ecdsa::SigningKey::from(key);
            let signature: p256::ecdsa::Signature = signer.sign(message.as_bytes());
            b64(&signature.to_bytes())
        }
        Sign::Hmac(secret) => jsonwebtoken::crypto::sign(
            message.as_bytes(),
            &EncodingKey::from_secret(secret),
            Algorithm::HS256,
        )
        .unwrap(),
        Sign::Nothing => String::new(),
    };
    format!("{message}.{signature}")
}

fn token(header: Value, claims: Value, sign: Sign<'_>) -> String {
    raw_token(&header.to_string(), &claims.to_string(), sign)
}

fn claims() -> Value {
    json!({"iss": ISS, "aud": AUD, "sub": "alice", "exp": NOW + 600, "iat": NOW, "scope": "tools:read tools:call"})
}

fn with(mut claims: Value, name: &str, value: Value) -> Value {
    claims[name] = value;
    claims
}

fn without(mut claims: Value, name: &str) -> Value {
    claims.as_object_mut().unwrap().remove(name);
    claims
}

fn rs256(claims: Value) -> String {
    token(
        json!({"alg": "RS256", "typ": "JWT", "kid": "rsa-1"}),
        claims,
        Sign::Rsa(&keys().rsa),
    )
}

fn es256(claims: Value) -> String {
    token(
        json!({"alg": "ES256", "typ": "JWT", "kid": "ec-1"}),
        claims,
        Sign::Ec(&keys().ec),
    )
}

#[test]
fn valid_rs256_and_es256_tokens_are_accepted() {
    let v = verifier();
    assert_eq!(v.key_count(), 2);
    for token in [rs256(claims()), es256(claims())] {
        let principal = v.verify(&token, NOW).unwrap();
        assert_eq!(principal.name, "alice");
        assert_eq!(principal.scopes, ["tools:read", "tools:call"]);
        assert!(has_scope(&principal, "tools:call"));
        assert!(!has_scope(&principal, "admin"));
    }
}

#[test]
fn a_token_without_kid_is_tried_on_the_keys_of_its_algorithm() {
    let v = verifier();
    let rs = token(json!({"alg": "RS256"}), claims(), Sign::Rsa(&keys().rsa));
    let es = token(json!({"alg": "ES256"}), claims(), Sign::Ec(&keys().ec));
    assert_eq!(v.verify(&rs, NOW).unwrap().name, "alice");
    assert_eq!(v.verify(&es, NOW).unwrap().name, "alice");
    let other = token(json!({"alg": "ES256"}), claims(), Sign::Ec(&keys().ec_other));
    assert_eq!(v.verify(&other, NOW), Err(AuthError::BadSignature));
}

#[test]
fn time_claims_use_the_callers_clock_and_leeway() {
    let v = verifier();
    let exp = NOW + 600;
    let token = rs256(claims());
    assert!(v.verify(&token, exp).is_ok());
    assert!(v.verify(&token, exp + LEEWAY - 1).is_ok());
    assert_eq!(v.verify(&token, exp + LEEWAY), Err(AuthError::Expired));
    assert_eq!(v.verify(&token, u64::MAX), Err(AuthError::Expired));

    let strict = JwtVerifier::from_jwks(ISS, AUD, &jwks(), 0).unwrap();
    assert!(strict.verify(&token, exp - 1).is_ok());
    assert_eq!(strict.verify(&token, exp), Err(AuthError::Expired));

    let expired = rs256(with(claims(), "exp", json!(NOW - 3600)));
    assert_eq!(v.verify(&expired, NOW), Err(AuthError::Expired));

    let later = es256(with(claims(), "nbf", json!(NOW + 300)));
    assert_eq!(v.verify(&later, NOW), Err(AuthError::NotYetValid));
    assert_eq!(
        v.verify(&later, NOW + 300 - LEEWAY - 1),
        Err(AuthError::NotYetValid)
    );
    assert!(v.verify(&later, NOW + 300 - LEEWAY).is_ok());
    assert_eq!(strict.verify(&later, NOW + 299), Err(AuthError::NotYetValid));
    assert!(strict.verify(&later, NOW + 300).is_ok());

    let fractional = rs256(with(
        with(claims(), "exp", json!(NOW as f64 + 1.5)),
        "nbf",
        json!(NOW as f64 - 0.5),
    ));
    assert_eq!(strict.verify(&fractional, NOW - 1), Err(AuthError::NotYetValid));
    assert!(strict.verify(&fractional, NOW).is_ok());
    assert_eq!(strict.verify(&fractional, NOW + 1), Err(AuthError::Expired));
}

#[test]
fn time_claims_of_the_wrong_type_make_the_token_invalid() {
    let v = verifier();
    let cases = [
        without(claims(), "exp"),
        with(claims(), "exp", json!("99999999999")),
        with(claims(), "exp", json!(-1)),
        with(claims(), "exp", json!(null)),
        with(claims(), "nbf", json!("99999999999")),
        with(claims(), "nbf", json!([1])),
    ];
    for claims in cases {
        assert_eq!(
            v.verify(&rs256(claims.clone()), NOW),
            Err(AuthError::Invalid),
            "{claims}"
        );
    }
}

#[test]
fn issuer_and_audience_must_match() {
    let v = verifier();
    let cases = [
        (
            with(claims(), "iss", json!("https://evil.example.com")),
            AuthError::WrongIssuer,
        ),
        (with(claims(), "iss", json!([ISS])), AuthError::WrongIssuer),
        (without(claims(), "iss"), AuthError::WrongIssuer),
        (
            with(claims(), "aud", json!("https://other.example.com/mcp")),
            AuthError::WrongAudience,
        ),
        (
            with(claims(), "aud", json!(["https://other.example.com/mcp", "api"])),
            AuthError::WrongAudience,
        ),
        (with(claims(), "aud", json!([])), AuthError::WrongAudience),
        (
            with(claims(), "aud", json!(format!("{AUD}/"))),
            AuthError::WrongAudience,
        ),
        (without(claims(), "aud"), AuthError::WrongAudience),
    ];
    for (claims, expected) in cases {
        assert_eq!(v.verify(&es256(claims.clone()), NOW), Err(expected), "{claims}");
    }
    let both = with(claims(), "aud", json!(["https://other.example.com", AUD]));
    assert_eq!(v.verify(&rs256(both), NOW).unwrap().name, "alice");
}

#[test]
fn a_tampered_token_is_refused() {
    let v = verifier();
    for token in [rs256(claims()), es256(claims())] {
        let parts: Vec<&str> = token.split('.').collect();
        let forged = b64(with(claims(), "sub", json!("mallory")).to_string().as_bytes());
        let tampered = format!("{}.{}.{}", parts[0], forged, parts[2]);
        assert_eq!(v.verify(&tampered, NOW), Err(AuthError::BadSignature));
        let mut signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        signature[10] ^= 1;
        let flipped = format!("{}.{}.{}", parts[0], parts[1], b64(&signature));
        assert_eq!(v.verify(&flipped, NOW), Err(AuthError::BadSignature));
        let truncated = format!("{}.{}.{}", parts[0], parts[1], b64(&signature[..20]));
        assert_eq!(v.verify(&truncated, NOW), Err(AuthError::BadSignature));
    }
}

#[test]
fn wrong_keys_and_kids_are_refused() {
    let v = verifier();
    let k = keys();
    let impostor = json!({"keys": [impostor_rsa_jwk("rsa-1"), ec_jwk(&k.ec_other, "ec-1")]}).to_string();
    let other = JwtVerifier::from_jwks(ISS, AUD, &impostor, LEEWAY).unwrap();
    assert_eq!(other.verify(&rs256(claims()), NOW), Err(AuthError::BadSignature));
    assert_eq!(other.verify(&es256(claims()), NOW), Err(AuthError::BadSignature));
    let other_ec = token(
        json!({"alg": "ES256", "kid": "ec-1"}),
        claims(),
        Sign::Ec(&k.ec_other),
    );
    assert_eq!(v.verify(&other_ec, NOW), Err(AuthError::BadSignature));
    let unknown = token(
        json!({"alg": "RS256", "kid": "rsa-2"}),
        claims(),
        Sign::Rsa(&k.rsa),
    );
    assert_eq!(v.verify(&unknown, NOW), Err(AuthError::UnknownKey));
    let skipped = token(json!({"alg": "RS256", "kid": "enc"}), claims(), Sign::Rsa(&k.rsa));
    assert_eq!(v.verify(&skipped, NOW), Err(AuthError::UnknownKey));
    let empty = JwtVerifier::new(ISS, AUD, LEEWAY).unwrap();
    assert_eq!(empty.verify(&rs256(claims()), NOW), Err(AuthError::UnknownKey));
}

#[test]
fn algorithm_confusion_is_refused() {
    let v = verifier();
    let k = keys();
    let wrong = AuthError::WrongAlgorithm;
    let cases = [
        (token(json!({"alg": "none"}), claims(), Sign::Nothing), wrong),
        (
            token(json!({"alg": "none", "kid": "rsa-1"}), claims(), Sign::Nothing),
            wrong,
        ),
        (
            token(
                json!({"alg": "HS256", "kid": "rsa-1"}),
                claims(),
                Sign::Hmac(b"secret"),
            ),
            wrong,
        ),
        (
            token(
                json!({"alg": "HS256", "kid": "ec-1"}),
                claims(),
                Sign::Hmac(b"secret"),
            ),
            wrong,
        ),
        (
            token(
                json!({"alg": "PS256", "kid": "rsa-1"}),
                claims(),
                Sign::Rsa(&k.rsa),
            ),
            wrong,
        ),
        (
            token(json!({"alg": "ES384", "kid": "ec-1"}), claims(), Sign::Ec(&k.ec)),
            wrong,
        ),
        (
            token(
                json!({"alg": "rs256", "kid": "rsa-1"}),
                claims(),
                Sign::Rsa(&k.rsa),
            ),
            wrong,
        ),
        (
            token(json!({"alg": "RS256", "kid": "ec-1"}), claims(), Sign::Ec(&k.ec)),
            wrong,
        ),
        (
            token(
                json!({"alg": "ES256", "kid": "rsa-1"}),
                claims(),
                Sign::Rsa(&k.rsa),
            ),
            wrong,
        ),
        (
            token(json!({"alg": "RS256", "kid": "rsa-1"}), claims(), Sign::Nothing),
            AuthError::BadSignature,
        ),
        (
            token(json!({"alg": "ES256", "kid": "ec-1"}), claims(), Sign::Nothing),
            AuthError::BadSignature,
        ),
    ];
    for (token, expected) in &cases {
        assert_eq!(v.verify(token, NOW), Err(*expected), "{token}");
    }
}

#[test]
fn hs256_signed_with_the_public_key_is_refused() {
    let k = keys();
    let pem = k.rsa.to_public_key().to_pkcs1_pem(LineEnding::LF).unwrap();
    let spki =
        rsa::pkcs8::EncodePublicKey::to_public_key_pem(&k.rsa.to_public_key(), LineEnding::LF).unwrap();
    let ec_pem = k.ec.public_key().to_public_key_pem(LineEnding::LF).unwrap();
    let v = verifier().with_pem(Some("pem-rsa"), &pem).unwrap();
    let der = k.rsa.to_public_key().to_pkcs1_der().unwrap();
    let secrets: [&[u8]; 5] = [
        pem.as_bytes(),
        spki.as_bytes(),
        ec_pem.as_bytes(),
        der.as_bytes(),
        &k.rsa.n().to_bytes_be(),
    ];
    for secret in secrets {
        for kid in [json!("rsa-1"), json!("pem-rsa"), json!("ec-1"), Value::Null] {
            let mut header = json!({"alg": "HS256", "typ": "JWT"});
            if !kid.is_null() {
                header["kid"] = kid;
            }
            let forged = token(header, claims(), Sign::Hmac(secret));
            assert_eq!(v.verify(&forged, NOW), Err(AuthError::WrongAlgorithm));
        }
    }
}

#[test]
fn malformed_tokens_are_invalid() {
    let v = verifier();
    let good = rs256(claims());
    let parts: Vec<&str> = good.split('.').collect();
    let cases = [
        String::new(),
        "abc".into(),
        "a.b".into(),
        format!("{good}.x"),
        format!("{}.{}", parts[0], parts[1]),
        format!("{}.{}.{}=", parts[0], parts[1], parts[2]),
        format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
        format!("!!.{}.{}", parts[1], parts[2]),
        format!("{}.{}.{}", b64(b"not json"), parts[1], parts[2]),
        format!("{}.{}.{}", b64(b"[\"RS256\"]"), parts[1], parts[2]),
        format!("{}.{}.{}", b64(br#"{"alg":null}"#), parts[1], parts[2]),
        format!(
            "{}.{}.{}",
            b64(br#"{"alg":"RS256","alg":"none"}"#),
            parts[1],
            parts[2]
        ),
        token(
            json!({"alg": "RS256", "kid": "rsa-1", "crit": ["exp"]}),
            claims(),
            Sign::Rsa(&keys().rsa),
        ),
        token(
            json!({"alg": "RS256", "kid": 7}),
            claims(),
            Sign::Rsa(&keys().rsa),
        ),
        raw_token(r#"{"alg":"RS256"}"#, "not json", Sign::Rsa(&keys().rsa)),
        raw_token(r#"{"alg":"RS256"}"#, "[1,2]", Sign::Rsa(&keys().rsa)),
        format!("{}.{}.{}", parts[0], parts[1], "a".repeat(MAX_TOKEN_BYTES)),
    ];
    for token in &cases {
        assert_eq!(v.verify(token, NOW), Err(AuthError::Invalid), "{token}");
    }
}

#[test]
fn duplicate_claims_make_the_token_invalid() {
    let v = verifier();
    let payload = format!(
        r#"{{"iss":"{ISS}","aud":"{AUD}","sub":"alice","exp":1,"exp":{}}}"#,
        NOW + 600
    );
    let token = raw_token(
        r#"{"alg":"RS256","kid":"rsa-1"}"#,
        &payload,
        Sign::Rsa(&keys().rsa),
    );
    assert_eq!(v.verify(&token, NOW), Err(AuthError::Invalid));
}

#[test]
fn principal_name_and_scopes() {
    let v = verifier();
    let name_and_scopes = |claims: Value| v.verify(&es256(claims), NOW).map(|p| (p.name, p.scopes));
    let scopes = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let base = without(claims(), "scope");
    assert_eq!(name_and_scopes(base.clone()), Ok(("alice".into(), vec![])));
    assert_eq!(
        name_and_scopes(with(base.clone(), "scp", json!(["a", "b", "*", ""]))),
        Ok(("alice".into(), scopes(&["a", "b"])))
    );
    assert_eq!(
        name_and_scopes(with(base.clone(), "scp", json!("a b"))),
        Ok(("alice".into(), scopes(&["a", "b"])))
    );
    assert_eq!(
        name_and_scopes(with(
            with(base.clone(), "scope", json!("x  * y")),
            "scp",
            json!(["a"])
        )),
        Ok(("alice".into(), scopes(&["x", "y"])))
    );
    let by_client = with(without(base.clone(), "sub"), "client_id", json!("svc-1"));
    assert_eq!(name_and_scopes(by_client), Ok(("svc-1".into(), vec![])));
    for bad in [
        without(base.clone(), "sub"),
        with(base.clone(), "sub", json!(42)),
        with(base.clone(), "sub", json!("")),
        with(base.clone(), "scope", json!(["a"])),
        with(base.clone(), "scp", json!(["a", 1])),
        with(base.clone(), "scp", json!({"a": 1})),
    ] {
        assert_eq!(name_and_scopes(bad.clone()), Err(AuthError::Invalid), "{bad}");
    }
}

#[test]
fn pem_keys_verify_tokens() {
    let k = keys();
    let rsa_pkcs1 = k.rsa.to_public_key().to_pkcs1_pem(LineEnding::LF).unwrap();
    let rsa_spki =
        rsa::pkcs8::EncodePublicKey::to_public_key_pem(&k.rsa.to_public_key(), LineEnding::LF).unwrap();
    let ec_spki = k.ec.public_key().to_public_key_pem(LineEnding::LF).unwrap();
    for rsa_pem in [&rsa_pkcs1, &rsa_spki] {
        let v = JwtVerifier::new(ISS, AUD, 0)
            .unwrap()
            .with_pem(None, rsa_pem)
            .unwrap()
            .with_pem(None, &ec_spki)
            .unwrap();
        assert_eq!(v.key_count(), 2);
        assert_eq!(v.verify(&rs256(claims()), NOW).unwrap().name, "alice");
        assert_eq!(v.verify(&es256(claims()), NOW).unwrap().name, "alice");
    }
    let named = JwtVerifier::new(ISS, AUD, 0)
        .unwrap()
        .with_pem(Some("k1"), &ec_spki)
        .unwrap();
    let wrong_kid = token(json!({"alg": "ES256", "kid": "k2"}), claims(), Sign::Ec(&k.ec));
    assert_eq!(named.verify(&wrong_kid, NOW), Err(AuthError::UnknownKey));
    let right_kid = token(json!({"alg": "ES256", "kid": "k1"}), claims(), Sign::Ec(&k.ec));
    assert!(named.verify(&right_kid, NOW).is_ok());
}

#[test]
fn pem_errors() {
    let k = keys();
    let private = k.rsa.to_pkcs1_pem(LineEnding::LF).unwrap();
    let pkcs8 = rsa::pkcs8::EncodePrivateKey::to_pkcs8_pem(&k.rsa, LineEnding::LF).unwrap();
    let pem = |text: &str| {
        JwtVerifier::new(ISS, AUD, 0)
            .unwrap()
            .with_pem(None, text)
            .map(|_| ())
            .unwrap_err()
    };
    let not_public = JwtConfigError::Pem {
        problem: JwtKeyProblem::NotPublicKey,
    };
    assert_eq!(pem(&private), not_public);
    assert_eq!(pem(&pkcs8), not_public);
    assert_eq!(pem("hello"), not_public);
    let garbage = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
    assert_eq!(
        pem(garbage),
        JwtConfigError::Pem {
            problem: JwtKeyProblem::UnsupportedKey
        }
    );
    let text = format!("{} {:?}", pem(&private), pem(&private));
    assert!(!text.contains("MII"), "{text}");
}

#[test]
fn jwks_errors_name_the_key() {
    let jwks_err = |doc: Value| JwtVerifier::from_jwks(ISS, AUD, &doc.to_string(), 0).unwrap_err();
    assert!(matches!(
        JwtVerifier::from_jwks(ISS, AUD, "{not json", 0),
        Err(JwtConfigError::Jwks { .. })
    ));
    assert!(matches!(
        jwks_err(json!({"keys": {}})),
        JwtConfigError::Jwks { .. }
    ));
    assert!(matches!(jwks_err(json!([])), JwtConfigError::Jwks { .. }));
    assert_eq!(jwks_err(json!({"keys": []})), JwtConfigError::NoKeys);
    assert_eq!(
        jwks_err(json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]})),
        JwtConfigError::NoKeys
    );
    let small_n = b64(&[0xff; 128]);
    assert_eq!(
        jwks_err(json!({"keys": [{"kty": "RSA", "kid": "small", "n": small_n, "e": "AQAB"}]})),
        JwtConfigError::JwksKey {
            index: 0,
            kid: Some("small".into()),
            problem: JwtKeyProblem::RsaModulus { bits: 1024 }
        }
    );
    let n = b64(&keys().rsa.n().to_bytes_be());
    for (e, problem) in [
        (json!("AQ"), JwtKeyProblem::RsaExponent),
        (json!("Ag"), JwtKeyProblem::RsaExponent),
        (json!("AQAA"), JwtKeyProblem::RsaExponent),
        (json!(b64(&[1; 9])), JwtKeyProblem::RsaExponent),
        (json!("*"), JwtKeyProblem::Base64("e")),
        (json!(65537), JwtKeyProblem::Member("e")),
    ] {
        let doc = json!({"keys": [rsa_jwk(&keys().rsa, "ok"), {"kty": "RSA", "n": n, "e": e}]});
        assert_eq!(
            jwks_err(doc),
            JwtConfigError::JwksKey {
                index: 1,
                kid: None,
                problem
            }
        );
    }
    let off_curve = json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "bad", "x": b64(&[1; 32]), "y": b64(&[2; 32])}]});
    assert!(matches!(
        jwks_err(off_curve),
        JwtConfigError::JwksKey {
            problem: JwtKeyProblem::EcPoint,
            ..
        }
    ));
    let short = json!({"keys": [{"kty": "EC", "crv": "P-256", "x": b64(&[1; 31]), "y": b64(&[2; 32])}]});
    assert!(matches!(
        jwks_err(short),
        JwtConfigError::JwksKey {
            problem: JwtKeyProblem::EcPoint,
            ..
        }
    ));
    assert!(matches!(
        jwks_err(json!({"keys": ["RSA"]})),
        JwtConfigError::JwksKey {
            problem: JwtKeyProblem::NotObject,
            ..
        }
    ));
    assert_eq!(
        JwtVerifier::new("", AUD, 0).unwrap_err(),
        JwtConfigError::Empty { setting: "issuer" }
    );
    assert_eq!(
        JwtVerifier::new(ISS, "", 0).unwrap_err(),
        JwtConfigError::Empty { setting: "audience" }
    );
}

#[test]
fn jwks_padding_and_key_ops_are_understood() {
    let k = keys();
    let mut jwk = rsa_jwk(&k.rsa, "rsa-1");
    jwk["n"] = json!(format!("{}=", jwk["n"].as_str().unwrap()));
    jwk["key_ops"] = json!(["verify"]);
    let mut disabled = ec_jwk(&k.ec, "ec-1");
    disabled["key_ops"] = json!(["encrypt"]);
    let v = JwtVerifier::from_jwks(ISS, AUD, &json!({"keys": [jwk, disabled]}).to_string(), 0).unwrap();
    assert_eq!(v.key_count(), 1);
    assert!(v.verify(&rs256(claims()), NOW).is_ok());
    assert_eq!(v.verify(&es256(claims()), NOW), Err(AuthError::UnknownKey));
}

#[test]
fn no_token_reaches_debug_output_or_errors() {
    let v = verifier();
    let good = rs256(claims());
    let refused = [
        rs256(with(claims(), "exp", json!(1))),
        es256(with(claims(), "aud", json!("x"))),
        token(json!({"alg": "none"}), claims(), Sign::Nothing),
        format!("{good}x"),
    ];
    let signature = good.rsplit('.').next().unwrap();
    let debug = format!("{v:?} {v:#?}");
    assert!(!debug.contains(signature), "{debug}");
    assert!(debug.contains("rsa-1") && debug.contains(ISS), "{debug}");
    assert!(
        !debug.contains(&b64(&keys().rsa.n().to_bytes_be())[..40]),
        "{debug}"
    );
    for token in &refused {
        let err = v.verify(token, NOW).unwrap_err();
        let text = format!(
            "{err} {err:?} {} {:?}",
            www_authenticate(&err, None),
            err.rpc_error()
        );
        for part in token.split('.').filter(|part| part.len() > 8) {
            assert!(!text.contains(part), "{text}");
        }
    }
}

#[test]
fn a_verifier_is_shareable() {
    fn shared<T: TokenVerifier + Clone + 'static>(_: &T) {}
    shared(&verifier());
    let boxed: Box<dyn TokenVerifier> = Box::new(verifier());
    assert!(boxed.verify(&es256(claims()), NOW).is_ok());
}

proptest::proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
        let v = verifier();
        proptest::prop_assert!(v.verify(&text, NOW).is_err());
    }

    #[test]
    fn arbitrary_parts_never_panic(header in proptest::collection::vec(proptest::num::u8::ANY, 0..80),
                                   payload in proptest::collection::vec(proptest::num::u8::ANY, 0..80),
                                   signature in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
        let v = verifier();
        let token = format!("{}.{}.{}", b64(&header), b64(&payload), b64(&signature));
        proptest::prop_assert!(v.verify(&token, NOW).is_err());
        let kid_token = format!("{}.{}.{}", b64(br#"{"alg":"ES256","kid":"ec-1"}"#), b64(&payload), b64(&signature));
        proptest::prop_assert!(v.verify(&kid_token, NOW).is_err());
    }
}
