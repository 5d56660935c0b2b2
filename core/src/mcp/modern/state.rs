//! Sealed `requestState`: what a multi round-trip request learned in earlier rounds (the
//! client's answers), carried by the client between rounds and trusted only when its
//! HMAC-SHA256 tag checks out. The seal binds the answers to the principal, to the request
//! (method, name and arguments) and to an expiry, so a state cannot be replayed by someone
//! else, on another request, or late. Any replica holding the same key can open it.

use std::fmt;
use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// Length of the tag in the token: 32 bytes as unpadded base64url.
const TAG_CHARS: usize = 43;
/// The token format's version, bumped if the payload changes.
const FORMAT: u64 = 1;

/// The secret that seals request state; every replica that continues another's exchanges
/// needs the same one.
#[derive(Clone)]
pub struct StateKey(Hmac<Sha256>);

impl StateKey {
    /// The fewest bytes a key may have.
    pub const MIN_LEN: usize = 32;

    /// Creates a key from secret bytes; `None` when shorter than [`MIN_LEN`](Self::MIN_LEN).
    pub fn new(secret: &[u8]) -> Option<Self> {
        if secret.len() < Self::MIN_LEN {
            return None;
        }
        <Hmac<Sha256> as KeyInit>::new_from_slice(secret).ok().map(Self)
    }

    /// Creates a key from 32 random bytes (the server's own, when none is configured).
    pub(crate) fn from_random(bytes: [u8; 32]) -> Self {
        // HMAC pads a short key with zeros to its block: the same key, fixed-size.
        let mut block = [0u8; 64];
        block[..32].copy_from_slice(&bytes);
        Self(<Hmac<Sha256> as KeyInit>::new(&block.into()))
    }

    fn mac(&self) -> Hmac<Sha256> {
        self.0.clone()
    }
}

impl fmt::Debug for StateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StateKey(..)")
    }
}

/// What a state is bound to: who asked, and which request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Binding<'a> {
    /// The authenticated principal, if any.
    pub(crate) principal: Option<&'a str>,
    /// The digest of the request (see [`request_digest`]).
    pub(crate) request: &'a [u8; 32],
}

/// Why a state was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Not a token this server wrote, or changed since.
    Tampered,
    /// Its expiry has passed.
    Expired,
    /// Sealed for another principal.
    OtherPrincipal,
    /// Sealed for another request.
    OtherRequest,
}

impl Refusal {
    /// Says what was wrong, for `DEBUG` detail and logs.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Self::Tampered => "requestState failed verification",
            Self::Expired => "requestState has expired",
            Self::OtherPrincipal => "requestState belongs to another principal",
            Self::OtherRequest => "requestState belongs to another request",
        }
    }
}

/// The digest a state is bound to: the method, the tool or prompt name (or resource URI)
/// and the arguments (hashed as they serialize, without a copy).
pub(crate) fn request_digest(method: &str, name: &str, arguments: Option<&Value>) -> [u8; 32] {
    struct Hashing(Sha256);
    impl std::io::Write for Hashing {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.update(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut hash = Hashing(Sha256::new());
    for part in [method, name] {
        hash.0.update((part.len() as u64).to_be_bytes());
        hash.0.update(part.as_bytes());
    }
    // Writing into a hash cannot fail.
    let _ = serde_json::to_writer(&mut hash, &arguments);
    hash.0.finalize().into()
}

/// Seals `answers` for `binding` until `expires`; returns the token.
pub(crate) fn seal(
    key: &StateKey,
    binding: Binding<'_>,
    answers: &Map<String, Value>,
    expires: SystemTime,
) -> String {
    let payload = json!({
        "v": FORMAT,
        "exp": unix_seconds(expires),
        "p": principal_tag(binding.principal),
        "r": hex(binding.request),
        "a": answers,
    });
    let payload = serde_json::to_vec(&payload).unwrap_or_default();
    let mut mac = key.mac();
    mac.update(&payload);
    let tag = mac.finalize().into_bytes();
    let mut token = URL_SAFE_NO_PAD.encode(&payload);
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(tag));
    token
}

/// Opens a token: checks its form and tag strictly, then its expiry and binding; returns
/// the answers it carries.
pub(crate) fn open(
    key: &StateKey,
    token: &str,
    binding: Binding<'_>,
    now: SystemTime,
) -> Result<Map<String, Value>, Refusal> {
    let (payload, tag) = token.split_once('.').ok_or(Refusal::Tampered)?;
    if tag.len() != TAG_CHARS || payload.is_empty() {
        return Err(Refusal::Tampered);
    }
    let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| Refusal::Tampered)?;
    let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| Refusal::Tampered)?;
    let mut mac = key.mac();
    mac.update(&payload);
    mac.verify_slice(&tag).map_err(|_| Refusal::Tampered)?;
    let Ok(Value::Object(mut payload)) = serde_json::from_slice::<Value>(&payload) else {
        return Err(Refusal::Tampered);
    };
    if payload.get("v").and_then(Value::as_u64) != Some(FORMAT) {
        return Err(Refusal::Tampered);
    }
    let expires = payload
        .get("exp")
        .and_then(Value::as_u64)
        .ok_or(Refusal::Tampered)?;
    if unix_seconds(now) > expires {
        return Err(Refusal::Expired);
    }
    if payload.get("p").and_then(Value::as_str) != Some(principal_tag(binding.principal).as_str()) {
        return Err(Refusal::OtherPrincipal);
    }
    if payload.get("r").and_then(Value::as_str) != Some(hex(binding.request).as_str()) {
        return Err(Refusal::OtherRequest);
    }
    match payload.remove("a") {
        Some(Value::Object(answers)) => Ok(answers),
        _ => Err(Refusal::Tampered),
    }
}

/// Returns when a state sealed at `now` expires.
pub(crate) fn expiry(now: SystemTime, ttl: Duration) -> SystemTime {
    now.checked_add(ttl).unwrap_or(now)
}

/// A short digest of the principal, so that the token does not carry its name.
fn principal_tag(principal: Option<&str>) -> String {
    match principal {
        None => String::new(),
        Some(name) => hex(&Sha256::digest(name.as_bytes())[..16]),
    }
}

fn unix_seconds(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}
