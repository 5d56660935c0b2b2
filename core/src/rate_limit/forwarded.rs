//! Reading forwarding headers from the right: the hops of `X-Forwarded-For` and of RFC 7239
//! `Forwarded`, lazily, so that an entry is parsed only if the walk reaches it.
//!
//! Each hop is `Some(address)`, or `None` when it names no address: `unknown`, an obfuscated
//! `_identifier`, a `Forwarded` element without `for=`, or anything malformed. Empty list
//! elements are skipped, as RFC 9110 asks of list recipients. A `Forwarded` field is split into
//! elements by scanning backwards with the quote state known from the right, so a quoted
//! comma in a trusted element is not a boundary, and an unbalanced quote a client wrote
//! further left is never reached.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Returns the hops of `X-Forwarded-For` field values, right-most first.
pub(super) fn x_forwarded_for<'a>(values: &'a [&'a [u8]]) -> impl Iterator<Item = Option<IpAddr>> + 'a {
    values
        .iter()
        .rev()
        .flat_map(|value| value.rsplit(|&b| b == b','))
        .map(trim)
        .filter(|element| !element.is_empty())
        .map(node)
}

/// Returns the `for=` hops of `Forwarded` field values, right-most first.
pub(super) fn forwarded<'a>(values: &'a [&'a [u8]]) -> impl Iterator<Item = Option<IpAddr>> + 'a {
    values
        .iter()
        .rev()
        .flat_map(|value| ElementsRev { rest: Some(value) })
        .map(trim)
        .filter(|element| !element.is_empty())
        .map(for_param)
}

/// The comma-separated elements of one field value, right-most first, quote-aware.
struct ElementsRev<'a> {
    rest: Option<&'a [u8]>,
}

impl<'a> Iterator for ElementsRev<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.rest?;
        let mut quoted = false;
        for (i, &b) in rest.iter().enumerate().rev() {
            match b {
                b'"' if !escaped(&rest[..i]) => quoted = !quoted,
                b',' if !quoted => {
                    self.rest = Some(&rest[..i]);
                    return Some(&rest[i + 1..]);
                }
                _ => {}
            }
        }
        self.rest = None;
        Some(rest)
    }
}

/// Returns whether the byte after `before` is escaped: preceded by an odd run of backslashes.
fn escaped(before: &[u8]) -> bool {
    before.iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 1
}

/// Returns the right-most `X-Forwarded-Host` entry: the `Host` the nearest proxy received.
pub(super) fn x_forwarded_host<'a>(values: &[&'a [u8]]) -> Option<&'a [u8]> {
    values
        .iter()
        .rev()
        .flat_map(|value| value.rsplit(|&b| b == b','))
        .map(trim)
        .find(|element| !element.is_empty())
}

/// Returns the `host=` of the right-most `Forwarded` element, when it has one: the `Host`
/// the nearest proxy received. `Some(None)` is an element whose `host` is malformed.
pub(super) fn forwarded_host(values: &[&[u8]]) -> Option<Option<Vec<u8>>> {
    let element = values
        .iter()
        .rev()
        .flat_map(|value| ElementsRev { rest: Some(value) })
        .map(trim)
        .find(|element| !element.is_empty())?;
    match param(element, b"host") {
        Param::Absent => None,
        Param::Malformed => Some(None),
        Param::Value(host) => Some(Some(host.into_owned())),
    }
}

/// Returns the address in the `for` parameter of one `Forwarded` element.
fn for_param(element: &[u8]) -> Option<IpAddr> {
    match param(element, b"for") {
        Param::Value(value) => node(&value),
        Param::Absent | Param::Malformed => None,
    }
}

/// One parameter of a `Forwarded` element.
enum Param<'a> {
    Absent,
    /// The element is malformed, or names the parameter twice.
    Malformed,
    Value(Cow<'a, [u8]>),
}

/// Returns the parameter `wanted` (case-insensitive) of one `Forwarded` element.
fn param<'a>(element: &'a [u8], wanted: &[u8]) -> Param<'a> {
    let mut found = None;
    for pair in split_unquoted(element, b';') {
        let pair = trim(pair);
        if pair.is_empty() {
            continue;
        }
        let Some(eq) = pair.iter().position(|&b| b == b'=') else {
            return Param::Malformed;
        };
        let name = trim(&pair[..eq]);
        if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
            return Param::Malformed;
        }
        let Some(value) = unquote(trim(&pair[eq + 1..])) else {
            return Param::Malformed;
        };
        if name.eq_ignore_ascii_case(wanted) {
            if found.is_some() {
                return Param::Malformed;
            }
            found = Some(value);
        }
    }
    found.map_or(Param::Absent, Param::Value)
}

/// Splits at `separator` outside quoted strings, left to right.
fn split_unquoted(bytes: &[u8], separator: u8) -> impl Iterator<Item = &[u8]> {
    let mut quoted = false;
    let mut escape = false;
    bytes.split(move |&b| {
        if escape {
            escape = false;
        } else if quoted && b == b'\\' {
            escape = true;
        } else if b == b'"' {
            quoted = !quoted;
        } else if b == separator && !quoted {
            return true;
        }
        false
    })
}

/// Returns a parameter value: a quoted string without its quotes and escapes, or a token.
fn unquote(value: &[u8]) -> Option<Cow<'_, [u8]>> {
    let Some(inner) = value.strip_prefix(b"\"") else {
        let plain = !value.is_empty() && value.iter().all(|&b| b.is_ascii_graphic() && b != b'"');
        return plain.then_some(Cow::Borrowed(value));
    };
    let inner = inner.strip_suffix(b"\"")?;
    if escaped(inner) {
        return None;
    }
    if !inner.contains(&b'\\') {
        return (!inner.contains(&b'"')).then_some(Cow::Borrowed(inner));
    }
    let mut out = Vec::with_capacity(inner.len());
    let mut bytes = inner.iter();
    while let Some(&b) = bytes.next() {
        match b {
            b'\\' => out.push(*bytes.next()?),
            b'"' => return None,
            _ => out.push(b),
        }
    }
    Some(Cow::Owned(out))
}

/// Parses a node: `IPv4[:port]`, `[IPv6][:port]` or a bare IPv6 address; `None` for
/// `unknown`, an obfuscated `_identifier`, or anything else.
fn node(bytes: &[u8]) -> Option<IpAddr> {
    let text = std::str::from_utf8(bytes).ok()?;
    if let Some(rest) = text.strip_prefix('[') {
        let (address, after) = rest.split_once(']')?;
        if !after.is_empty() && !is_port(after.strip_prefix(':')?) {
            return None;
        }
        return address.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    match text.split_once(':') {
        Some((address, port)) if !port.contains(':') => {
            let ip = address.parse::<Ipv4Addr>().ok()?;
            is_port(port).then_some(IpAddr::V4(ip))
        }
        Some(_) => text.parse::<Ipv6Addr>().ok().map(IpAddr::V6),
        None => text.parse::<Ipv4Addr>().ok().map(IpAddr::V4),
    }
}

/// Returns whether `text` is a port: up to five digits at most 65535, or an obfuscated `_port`.
fn is_port(text: &str) -> bool {
    if let Some(obfuscated) = text.strip_prefix('_') {
        return !obfuscated.is_empty()
            && obfuscated
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    }
    (1..=5).contains(&text.len())
        && text.bytes().all(|b| b.is_ascii_digit())
        && text.parse::<u32>().is_ok_and(|port| port <= 65535)
}

/// Returns whether `b` may appear in an RFC 9110 token.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Strips spaces and tabs from both ends.
fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}
