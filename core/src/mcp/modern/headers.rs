//! The headers a 2026-07-28 request over HTTP repeats from its body (`Mcp-Method`,
//! `Mcp-Name`, `Mcp-Param-*`), and their check against the body: a proxy may route on the
//! headers, so they must say what the body says.

use std::ops::Range;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use crate::error::{ErrorCode, RpcError};

/// The most `Mcp-Param-*` headers kept from one request.
const MAX_PARAMS: usize = 32;

/// Room for the kept headers, enough for a method and a name without growing.
const ROOM: usize = 64;

/// The MCP headers of one HTTP request, as sent (values trimmed of spaces and tabs), in one
/// buffer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Headers {
    /// The names and values kept, back to back; the ranges below point into it.
    bytes: Vec<u8>,
    /// `Mcp-Method`.
    method: Option<Range<usize>>,
    /// `Mcp-Name`.
    name: Option<Range<usize>>,
    /// `Mcp-Param-<Name>` headers: the lowercase `<name>` and the value.
    params: Vec<(Range<usize>, Range<usize>)>,
}

impl Headers {
    /// Collects the MCP headers from a request's fields; `None` when it has none (the
    /// other `Mcp-*` headers, `MCP-Protocol-Version` and `Mcp-Session-Id`, are not kept).
    pub(crate) fn collect<'a>(fields: impl Iterator<Item = (&'a [u8], &'a [u8])>) -> Option<Self> {
        let mut headers: Option<Self> = None;
        for (name, value) in fields {
            if name.len() < 8 || !name[..4].eq_ignore_ascii_case(b"mcp-") {
                continue;
            }
            let rest = &name[4..];
            let kind = if rest.eq_ignore_ascii_case(b"method") {
                Kept::Method
            } else if rest.eq_ignore_ascii_case(b"name") {
                Kept::Name
            } else if rest.len() > 6 && rest[..6].eq_ignore_ascii_case(b"param-") {
                Kept::Param
            } else {
                continue;
            };
            let slot = headers.get_or_insert_with(|| Self {
                bytes: Vec::with_capacity(ROOM),
                ..Self::default()
            });
            match kind {
                Kept::Method => slot.method = Some(slot.keep(trim(value))),
                Kept::Name => slot.name = Some(slot.keep(trim(value))),
                Kept::Param if slot.params.len() < MAX_PARAMS => {
                    let param = slot.keep(&rest[6..]);
                    slot.bytes[param.clone()].make_ascii_lowercase();
                    let value = slot.keep(trim(value));
                    slot.params.push((param, value));
                }
                Kept::Param => {}
            }
        }
        headers
    }

    /// `Mcp-Method`, if sent.
    pub(crate) fn method(&self) -> Option<&[u8]> {
        self.method.clone().and_then(|range| self.bytes.get(range))
    }

    /// `Mcp-Name`, if sent.
    pub(crate) fn name(&self) -> Option<&[u8]> {
        self.name.clone().and_then(|range| self.bytes.get(range))
    }

    /// The `Mcp-Param-*` headers kept: lowercase name and value.
    pub(crate) fn params(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.params
            .iter()
            .filter_map(|(name, value)| Some((self.bytes.get(name.clone())?, self.bytes.get(value.clone())?)))
    }

    fn param(&self, header: &str) -> Option<&[u8]> {
        self.params()
            .find(|(name, _)| name.eq_ignore_ascii_case(header.as_bytes()))
            .map(|(_, value)| value)
    }

    /// Appends `bytes` to the buffer; returns where they are.
    fn keep(&mut self, bytes: &[u8]) -> Range<usize> {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(bytes);
        start..self.bytes.len()
    }
}

/// The `Mcp-*` headers kept.
enum Kept {
    Method,
    Name,
    Param,
}

/// Checks the headers against the body: `Mcp-Method` always, `Mcp-Name` for the methods
/// that name a tool, prompt or resource, and one `Mcp-Param-<H>` for every argument whose
/// schema property carries `x-mcp-header: H`. Any mismatch is -32020.
pub(crate) fn check(
    headers: Option<&Headers>,
    method: &str,
    params: Option<&Value>,
    tool_headers: &[(String, String)],
) -> Result<(), RpcError> {
    let empty = Headers::default();
    let headers = headers.unwrap_or(&empty);
    if headers.method() != Some(method.as_bytes()) {
        return Err(mismatch("Mcp-Method header does not match the request's method"));
    }
    if let Some(member) = super::subject_member(method) {
        let body = params.and_then(|p| p.get(member)).and_then(Value::as_str);
        if body.is_none() || headers.name() != body.map(str::as_bytes) {
            return Err(mismatch(&format!(
                "Mcp-Name header does not match params.{member}"
            )));
        }
    }
    let arguments = params.and_then(|p| p.get("arguments"));
    for (property, header) in tool_headers {
        let Some(argument) = arguments.and_then(|a| a.get(property)).filter(|a| !a.is_null()) else {
            continue;
        };
        let Some(raw) = headers.param(header) else {
            return Err(mismatch(&format!("Mcp-Param-{header} header is required")));
        };
        if !matches(&decode(raw)?, argument) {
            return Err(mismatch(&format!(
                "Mcp-Param-{header} header does not match the argument"
            )));
        }
    }
    Ok(())
}

/// Decodes a header value: `=?base64?...?=` is strict, padded base64; anything else is
/// taken literally.
fn decode(raw: &[u8]) -> Result<Vec<u8>, RpcError> {
    match raw
        .strip_prefix(b"=?base64?")
        .and_then(|rest| rest.strip_suffix(b"?="))
    {
        Some(encoded) => STANDARD
            .decode(encoded)
            .map_err(|_| mismatch("Mcp-Param header has invalid base64")),
        None => Ok(raw.to_vec()),
    }
}

/// Compares a header's value with the argument: strings exactly, numbers as numbers,
/// booleans as `true`/`false`.
fn matches(value: &[u8], argument: &Value) -> bool {
    let Ok(text) = std::str::from_utf8(value) else {
        return false;
    };
    match argument {
        Value::String(s) => s == text,
        Value::Bool(b) => text == if *b { "true" } else { "false" },
        Value::Number(n) => {
            if let (Some(a), Ok(b)) = (n.as_i64(), text.parse::<i64>()) {
                a == b
            } else {
                n.as_f64()
                    .zip(text.parse::<f64>().ok())
                    .is_some_and(|(a, b)| a == b)
            }
        }
        _ => false,
    }
}

fn trim(value: &[u8]) -> &[u8] {
    let start = value
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t'))
        .unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t'))
        .map_or(start, |i| i + 1);
    &value[start..end]
}

/// -32020: the headers disagree with the body.
pub(crate) fn mismatch(message: &str) -> RpcError {
    RpcError::new(ErrorCode::HeaderMismatch, format!("Header mismatch: {message}"))
}
