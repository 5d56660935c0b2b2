//! URI templates (RFC 6570) for resource templates: parsing at registration, and matching a
//! requested URI to find the template's variables.
//!
//! Level 1 (`{id}`: one path segment, percent-decoded) and reserved expansion (`{+path}`: may
//! span segments) are understood. Each variable ends at the first occurrence of the literal
//! text after it, so matching is linear in the URI's length; two variables side by side are
//! refused at registration, as they could not be told apart.

use std::collections::BTreeMap;

/// A parsed URI template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UriTemplate {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Var { name: String, reserved: bool },
}

impl UriTemplate {
    /// Parses `template`; `Err` says what is wrong with it.
    pub(crate) fn parse(template: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = template;
        while !rest.is_empty() {
            let Some(open) = rest.find('{') else {
                if rest.contains('}') {
                    return Err("unbalanced '}'".into());
                }
                parts.push(Part::Literal(rest.to_owned()));
                break;
            };
            let (literal, tail) = rest.split_at(open);
            if literal.contains('}') {
                return Err("unbalanced '}'".into());
            }
            if !literal.is_empty() {
                parts.push(Part::Literal(literal.to_owned()));
            }
            let Some(close) = tail.find('}') else {
                return Err("unclosed '{'".into());
            };
            let expression = tail.get(1..close).unwrap_or_default();
            let (name, reserved) = match expression.strip_prefix('+') {
                Some(name) => (name, true),
                None => (expression, false),
            };
            let valid = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
            if !valid {
                return Err(format!(
                    "unsupported expression {{{expression}}}: use {{name}} or {{+name}}"
                ));
            }
            if matches!(parts.last(), Some(Part::Var { .. })) {
                return Err("two variables side by side cannot be told apart".into());
            }
            parts.push(Part::Var {
                name: name.to_owned(),
                reserved,
            });
            rest = tail.get(close + 1..).unwrap_or_default();
        }
        Ok(Self { parts })
    }

    /// Returns the names of the template's variables, in order.
    pub(crate) fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|part| match part {
            Part::Var { name, .. } => Some(name.as_str()),
            Part::Literal(_) => None,
        })
    }

    /// Matches `uri` against the template; returns the variables' decoded values.
    pub(crate) fn matches(&self, uri: &str) -> Option<BTreeMap<String, String>> {
        let mut values = BTreeMap::new();
        let mut rest = uri;
        let mut parts = self.parts.iter().peekable();
        while let Some(part) = parts.next() {
            match part {
                Part::Literal(literal) => rest = rest.strip_prefix(literal.as_str())?,
                Part::Var { name, reserved } => {
                    let end = match parts.peek() {
                        Some(Part::Literal(next)) => rest.find(next.as_str())?,
                        _ => rest.len(),
                    };
                    let (raw, tail) = rest.split_at(end);
                    if raw.is_empty() || (!reserved && raw.contains('/')) {
                        return None;
                    }
                    values.insert(name.clone(), percent_decode(raw)?);
                    rest = tail;
                }
            }
        }
        rest.is_empty().then_some(values)
    }
}

/// Decodes `%XX` escapes; `None` when an escape is malformed or the result is not UTF-8.
fn percent_decode(raw: &str) -> Option<String> {
    if !raw.contains('%') {
        return Some(raw.to_owned());
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while let Some(&byte) = bytes.get(at) {
        if byte == b'%' {
            let hex = std::str::from_utf8(bytes.get(at + 1..at + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            at += 3;
        } else {
            out.push(byte);
            at += 1;
        }
    }
    String::from_utf8(out).ok()
}
