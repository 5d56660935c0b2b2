//! Bearer credentials: the `Authorization` header, and the configured list of static tokens
//! (`AUTH_TOKENS`, or the contents of `AUTH_TOKENS_FILE`) checked in constant time.
//!
//! An entry is `name:token` or a bare `token`. The name is the principal written in logs (a
//! bare token logs as `token-N`, N counting entries from 1); it is made of ASCII letters,
//! digits and `- . _ @ + /`. The token is a `token68`, the only form a bearer token can take
//! in a header: ASCII letters, digits and `- . _ ~ + /`, then optional `=` padding. In a
//! tokens file each entry has its own line; blank lines and lines whose first non-blank
//! character is `#` are skipped, and spaces around names and tokens are ignored:
//!
//! ```text
//! # CI and the on-call laptop
//! ci:Zm9vYmFyYmF6cXV4cXV1eA
//! oncall: 3b1f0c9e-7a57-4b6e-9d1c-08f2c1a7e5d4
//! bXktdW5uYW1lZC10b2tlbg==
//! ```
//!
//! Static tokens are root credentials: each carries [`ALL_SCOPES`](super::ALL_SCOPES).

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

use super::{ALL_SCOPES, AuthError, Principal, TokenVerifier};

/// The longest name a static token may log as.
const MAX_NAME_LEN: usize = 128;

/// Returns the token of an `Authorization: Bearer <token>` header value.
///
/// The scheme is matched without regard to case, and spaces or tabs around the token are
/// skipped; the token must be a `token68`. An absent or empty header, or credentials of
/// another scheme, give [`AuthError::Missing`]; a `Bearer` header without a well-formed
/// token gives [`AuthError::Invalid`]. A request with more than one `Authorization` header
/// should be refused by the caller before it gets here.
pub fn bearer_token(authorization: Option<&[u8]>) -> Result<&str, AuthError> {
    let Some(value) = authorization else {
        return Err(AuthError::Missing);
    };
    let value = trim_blanks(value);
    if value.is_empty() {
        return Err(AuthError::Missing);
    }
    let scheme_end = value.iter().position(|&b| is_blank(b)).unwrap_or(value.len());
    let (scheme, rest) = value.split_at(scheme_end);
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return Err(AuthError::Missing);
    }
    let token = trim_blanks(rest);
    if !is_token68(token) {
        return Err(AuthError::Invalid);
    }
    std::str::from_utf8(token).map_err(|_| AuthError::Invalid)
}

/// Parses the contents of a tokens file: one entry per line, blank lines and `#` comments skipped.
pub fn parse_tokens_file(contents: &str) -> Result<Vec<StaticToken>, AuthConfigError> {
    let contents = contents.strip_prefix('\u{feff}').unwrap_or(contents);
    let entries = contents
        .lines()
        .enumerate()
        .map(|(i, line)| (TokenPlace::Line(i + 1), line.trim()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'));
    parse_entries(entries)
}

/// Parses `AUTH_TOKENS`: entries separated by commas, empty entries skipped.
pub fn parse_token_list(value: &str) -> Result<Vec<StaticToken>, AuthConfigError> {
    let entries = value
        .split(',')
        .enumerate()
        .map(|(i, entry)| (TokenPlace::Entry(i + 1), entry.trim()))
        .filter(|(_, entry)| !entry.is_empty());
    parse_entries(entries)
}

/// One configured bearer token and the name it logs as.
#[derive(Clone)]
pub struct StaticToken {
    name: Option<String>,
    token: String,
}

impl StaticToken {
    /// Creates a token that logs as `name` (or as `token-N` when `None`), checking both forms.
    pub fn new(name: Option<&str>, token: &str) -> Result<Self, TokenProblem> {
        if let Some(name) = name {
            check_name(name)?;
        }
        if token.is_empty() {
            return Err(TokenProblem::EmptyToken);
        }
        if !is_token68(token.as_bytes()) {
            return Err(TokenProblem::TokenCharset);
        }
        Ok(Self {
            name: name.map(str::to_owned),
            token: token.to_owned(),
        })
    }

    /// Returns the configured name, if any.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}

impl fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticToken")
            .field("name", &self.name)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// The static bearer tokens, kept as SHA-256 digests and compared in constant time.
///
/// [`TokenVerifier::verify`] hashes the presented token and compares its digest with every
/// configured digest, without stopping at a match, so the time taken tells nothing about
/// which token matched, how much of one matched, or how long the configured tokens are. An
/// empty set refuses every token.
#[derive(Clone)]
pub struct StaticTokens {
    entries: Vec<Entry>,
}

/// One configured token: its digest and who it stands for.
#[derive(Clone)]
struct Entry {
    digest: [u8; 32],
    principal: Principal,
}

impl StaticTokens {
    /// Creates the set; the N-th token (from 1) without a name logs as `token-N`.
    pub fn new(tokens: impl IntoIterator<Item = StaticToken>) -> Self {
        let entries = tokens
            .into_iter()
            .enumerate()
            .map(|(i, token)| Entry {
                digest: digest(&token.token),
                principal: Principal {
                    name: token.name.unwrap_or_else(|| format!("token-{}", i + 1)),
                    scopes: vec![ALL_SCOPES.to_owned()],
                },
            })
            .collect();
        Self { entries }
    }

    /// Returns the number of configured tokens.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Returns whether no token is configured (every token is then refused).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl TokenVerifier for StaticTokens {
    fn verify(&self, token: &str, _now_unix: u64) -> Result<Principal, AuthError> {
        let presented = digest(token);
        let mut found = Choice::from(0);
        let mut index = 0u64;
        for (i, entry) in self.entries.iter().enumerate() {
            let equal = entry.digest[..].ct_eq(&presented[..]);
            index = u64::conditional_select(&index, &(i as u64), equal & !found);
            found |= equal;
        }
        if !bool::from(found) {
            return Err(AuthError::Invalid);
        }
        let entry = usize::try_from(index).ok().and_then(|i| self.entries.get(i));
        entry
            .map(|entry| entry.principal.clone())
            .ok_or(AuthError::Invalid)
    }
}

impl fmt::Debug for StaticTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.entries.iter().map(|e| e.principal.name.as_str()).collect();
        f.debug_struct("StaticTokens").field("names", &names).finish()
    }
}

/// A static token configuration that could not be used; it names the place, never the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthConfigError {
    /// An entry is malformed.
    #[error("{at}: {problem}")]
    Token {
        /// Where the entry is.
        at: TokenPlace,
        /// What is wrong with it.
        problem: TokenProblem,
    },
    /// An entry repeats the token of an earlier one.
    #[error("{at}: the same token as {first}")]
    DuplicateToken {
        /// Where the repeated token is.
        at: TokenPlace,
        /// Where it first appears.
        first: TokenPlace,
    },
    /// The configuration holds no token at all.
    #[error("no bearer tokens are configured")]
    NoTokens,
    /// The resource URL of the protected resource metadata is not an absolute http(s) URL.
    #[error("invalid resource URL {url:?}: {problem}")]
    ResourceUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        problem: &'static str,
    },
}

/// Where a static token entry is: a line of the tokens file or an entry of `AUTH_TOKENS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenPlace {
    /// The line of the tokens file, from 1.
    Line(usize),
    /// The comma-separated entry of `AUTH_TOKENS`, from 1.
    Entry(usize),
}

impl fmt::Display for TokenPlace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Line(n) => write!(f, "tokens file line {n}"),
            Self::Entry(n) => write!(f, "AUTH_TOKENS entry {n}"),
        }
    }
}

/// What is wrong with a static token entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenProblem {
    /// Nothing follows the name's `:`.
    #[error("no token after the name")]
    EmptyToken,
    /// The token has a character a bearer token cannot carry.
    #[error("the token may hold only ASCII letters, digits, - . _ ~ + / and trailing =")]
    TokenCharset,
    /// Nothing precedes the `:`.
    #[error("empty name before ':'")]
    EmptyName,
    /// The name has a character other than ASCII letters, digits and `- . _ @ + /`.
    #[error("the name may hold only ASCII letters, digits and - . _ @ + /")]
    NameCharset,
    /// The name is longer than its limit.
    #[error("the name is longer than {max} characters")]
    NameTooLong {
        /// The limit.
        max: usize,
    },
}

/// Parses entries, refusing a malformed or repeated one and an empty configuration.
fn parse_entries<'a>(
    entries: impl Iterator<Item = (TokenPlace, &'a str)>,
) -> Result<Vec<StaticToken>, AuthConfigError> {
    let mut tokens: Vec<(TokenPlace, [u8; 32], StaticToken)> = Vec::new();
    for (at, text) in entries {
        let (name, token) = match text.split_once(':') {
            Some((name, token)) => (Some(name.trim()), token.trim()),
            None => (None, text),
        };
        let token =
            StaticToken::new(name, token).map_err(|problem| AuthConfigError::Token { at, problem })?;
        let hash = digest(&token.token);
        if let Some((first, _, _)) = tokens.iter().find(|(_, other, _)| *other == hash) {
            return Err(AuthConfigError::DuplicateToken { at, first: *first });
        }
        tokens.push((at, hash, token));
    }
    if tokens.is_empty() {
        return Err(AuthConfigError::NoTokens);
    }
    Ok(tokens.into_iter().map(|(_, _, token)| token).collect())
}

/// Checks a static token's name.
fn check_name(name: &str) -> Result<(), TokenProblem> {
    if name.is_empty() {
        return Err(TokenProblem::EmptyName);
    }
    if name.len() > MAX_NAME_LEN {
        return Err(TokenProblem::NameTooLong { max: MAX_NAME_LEN });
    }
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b"-._@+/".contains(&b);
    if !name.bytes().all(allowed) {
        return Err(TokenProblem::NameCharset);
    }
    Ok(())
}

/// Returns the SHA-256 digest of a token.
fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Returns whether `token` is a `token68` (RFC 9110): `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_token68(token: &[u8]) -> bool {
    let body_len = token.len() - token.iter().rev().take_while(|&&b| b == b'=').count();
    let body = &token[..body_len];
    !body.is_empty()
        && body
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

/// Returns whether `b` is a space or a tab.
fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Returns `value` without leading and trailing spaces and tabs.
fn trim_blanks(value: &[u8]) -> &[u8] {
    let start = value.iter().position(|&b| !is_blank(b)).unwrap_or(value.len());
    let end = value.iter().rposition(|&b| !is_blank(b)).map_or(start, |i| i + 1);
    &value[start..end]
}
