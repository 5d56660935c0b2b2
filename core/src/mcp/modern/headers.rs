//! The headers a 2026-07-28 request over HTTP repeats from its body (`Mcp-Method`,
//! `Mcp-Name`, `Mcp-Param-*`), and their check against the body: a proxy may route on the
//! headers, so they must say what the body says.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use crate::error::{ErrorCode, RpcError};

/// The most `Mcp-Param-*` headers kept from one request.
const MAX_PARAMS: usize = 32;

/// The MCP headers of one HTTP request, as sent (values trimmed of spaces and tabs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Headers {
    /// `Mcp-Method`.
    pub(crate) method: Option<Vec<u8>>,
    /// `Mcp-Name`.
    pub(crate) name: Option<Vec<u8>>,
    /// `Mcp-Param-<Name>` headers: the lowercase `<name>` and the value.
    pub(crate) params: Vec<(String, Vec<u8>)>,
}

impl Headers {
    /// Collects the MCP headers from a request's fields; `None` when it has none.
    pub(crate) fn collect<'a>(fields: impl Iterator<Item = (&'a [u8], &'a [u8])>) -> Option<Box<Self>> {
        let mut headers: Option<Box<Self>> = None;
        for (name, value) in fields {
            if name.len() < 8 || !name[..4].eq_ignore_ascii_case(b"mcp-") {
                continue;
            }
            let value = trim(value).to_vec();
            let rest = &name[4..];
            let slot = headers.get_or_insert_with(Box::default);
            if rest.eq_ignore_ascii_case(b"method") {
                slot.method = Some(value);
            } else if rest.eq_ignore_ascii_case(b"name") {
                slot.name = Some(value);
            } else if rest.len() > 6
                && rest[..6].eq_ignore_ascii_case(b"param-")
                && slot.params.len() < MAX_PARAMS
            {
                let param = String::from_utf8_lossy(&rest[6..]).to_ascii_lowercase();
                slot.params.push((param, value));
            }
        }
        headers
    }

    fn param(&self, header: &str) -> Option<&[u8]> {
        self.params
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(header))
            .map(|(_, value)| value.as_slice())
    }
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
    if headers.method.as_deref() != Some(method.as_bytes()) {
        return Err(mismatch("Mcp-Method header does not match the request's method"));
    }
    if let Some(member) = super::subject_member(method) {
        let body = params.and_then(|p| p.get(member)).and_then(Value::as_str);
        if body.is_none() || headers.name.as_deref() != body.map(str::as_bytes) {
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
