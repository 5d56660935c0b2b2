//! Spans as data: one [`SpanRecord`] per finished request, following the OpenTelemetry
//! semantic conventions for MCP, which an adapter exports (over OTLP, see `rampart-otlp`).
//! The core only makes the records; it sends nothing.

mod config;

use std::borrow::Cow;
use std::time::SystemTime;

pub use config::TraceConfig;

/// Where span records go: an exporter's queue. `export` is called while the server's
/// state is locked, so it must never block: a full queue drops the span.
pub trait SpanExporter: Send + Sync {
    /// Queues one span for export; returns false when it was dropped (the queue is full),
    /// which `/metrics` counts as `rampart_spans_dropped_total`.
    fn export(&self, span: SpanRecord) -> bool;
}

/// One finished request as an OpenTelemetry span of kind SERVER.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanRecord {
    /// The trace it belongs to: the caller's, from `traceparent`, or a new one.
    pub trace_id: [u8; 16],
    /// This span's id.
    pub span_id: [u8; 8],
    /// The caller's span, from `traceparent` in `params._meta` or the HTTP header.
    pub parent_span_id: Option<[u8; 8]>,
    /// The caller's W3C `tracestate`, passed on.
    pub trace_state: Option<String>,
    /// The W3C trace flags (bit 0: sampled) of the caller, or sampled for a new trace.
    pub flags: u8,
    /// `{mcp.method.name} {target}`, or the method name alone.
    pub name: String,
    /// When the request arrived.
    pub start: SystemTime,
    /// When its answer was sent.
    pub end: SystemTime,
    /// The attributes, in the order they were set.
    pub attributes: Vec<(&'static str, AttributeValue)>,
    /// Why the request failed, when it did (the span's status is then ERROR).
    pub error: Option<String>,
}

/// The value of one span attribute.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AttributeValue {
    /// A string: a fixed one borrowed, one of the request's owned.
    Str(Cow<'static, str>),
    /// An integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
}

impl SpanRecord {
    /// Returns the value of the attribute `key`, if set.
    pub fn attribute(&self, key: &str) -> Option<&AttributeValue> {
        self.attributes
            .iter()
            .find_map(|(name, value)| (*name == key).then_some(value))
    }
}

/// The caller's position in a trace, read from a W3C `traceparent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Parent {
    pub(crate) trace_id: [u8; 16],
    pub(crate) span_id: [u8; 8],
    pub(crate) flags: u8,
}

impl Parent {
    /// Reads `vv-<32 hex>-<16 hex>-<2 hex>`; `None` for anything else, or all-zero ids.
    pub(crate) fn parse(traceparent: &str) -> Option<Self> {
        let mut parts = traceparent.split('-');
        let (version, trace, span, flags) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if version.len() != 2 || version == "ff" || (version == "00" && parts.next().is_some()) {
            return None;
        }
        let mut trace_id = [0; 16];
        let mut span_id = [0; 8];
        let mut flag = [0; 1];
        hex(trace, &mut trace_id)?;
        hex(span, &mut span_id)?;
        hex(flags, &mut flag)?;
        hex(version, &mut [0; 1])?;
        if trace_id == [0; 16] || span_id == [0; 8] {
            return None;
        }
        Some(Self {
            trace_id,
            span_id,
            flags: flag[0],
        })
    }
}

/// Decodes lowercase hex of exactly `out.len()` bytes.
fn hex(text: &str, out: &mut [u8]) -> Option<()> {
    if text.len() != out.len() * 2 {
        return None;
    }
    for (byte, pair) in out.iter_mut().zip(text.as_bytes().chunks(2)) {
        let digit = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        };
        *byte = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparents_parse_or_are_refused() {
        let parent = Parent::parse("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01").unwrap();
        assert_eq!(parent.trace_id[0], 0x0a);
        assert_eq!(parent.span_id, [0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x31]);
        assert_eq!(parent.flags, 1);
        for bad in [
            "",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
            "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
            "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
            "0-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        ] {
            assert_eq!(Parent::parse(bad), None, "{bad}");
        }
    }
}
