//! Span records as an OTLP `ExportTraceServiceRequest`: one resource, one scope, spans of
//! kind SERVER.

use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, SpanFlags, Status};
use prost::Message;
use rampart_core::trace::{AttributeValue, SpanRecord, TraceConfig};

/// The instrumentation scope's name, and the resource's `telemetry.sdk.name`.
pub(crate) const SCOPE: &str = "rampart";

/// This crate's version, sent as the scope's version and `telemetry.sdk.version`.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Encodes batches of spans for one resource and scope, fixed at start.
#[derive(Debug, Clone)]
pub(crate) struct Encoder {
    resource: Resource,
    scope: InstrumentationScope,
}

impl Encoder {
    /// Describes the resource: `service.name` (`OTEL_SERVICE_NAME`, else a `service.name` in
    /// `OTEL_RESOURCE_ATTRIBUTES`, else `service_name_default`), `service.version` (from
    /// `OTEL_RESOURCE_ATTRIBUTES`, else `service_version`), `telemetry.sdk.*`, then the other
    /// resource attributes in the order given.
    pub(crate) fn new(config: &TraceConfig, service_name_default: &str, service_version: &str) -> Self {
        let given = |key: &str| {
            config
                .resource_attributes
                .iter()
                .rev()
                .find_map(|(name, value)| (name == key).then_some(value.as_str()))
        };
        let name = config
            .service_name
            .as_deref()
            .or_else(|| given("service.name"))
            .unwrap_or(service_name_default);
        let version = given("service.version").unwrap_or(service_version);
        let mut attributes = vec![
            text("service.name", name),
            text("service.version", version),
            text("telemetry.sdk.name", SCOPE),
            text("telemetry.sdk.language", "rust"),
            text("telemetry.sdk.version", VERSION),
        ];
        for (key, value) in &config.resource_attributes {
            if !attributes.iter().any(|attribute| attribute.key == *key) {
                attributes.push(text(key, value));
            }
        }
        Self {
            resource: Resource {
                attributes,
                ..Resource::default()
            },
            scope: InstrumentationScope {
                name: SCOPE.to_owned(),
                version: VERSION.to_owned(),
                ..InstrumentationScope::default()
            },
        }
    }

    /// Returns the protobuf bytes of one export request carrying `spans`.
    pub(crate) fn encode(&self, spans: Vec<SpanRecord>) -> Vec<u8> {
        let request = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(self.resource.clone()),
                scope_spans: vec![ScopeSpans {
                    scope: Some(self.scope.clone()),
                    spans: spans.into_iter().map(span).collect(),
                    ..ScopeSpans::default()
                }],
                ..ResourceSpans::default()
            }],
        };
        request.encode_to_vec()
    }
}

/// Converts one record; a parent from a `traceparent` is a remote one, which the span's
/// flags say (bits 8 and 9, as OTLP defines them).
fn span(record: SpanRecord) -> Span {
    let mut flags = u32::from(record.flags) | SpanFlags::ContextHasIsRemoteMask as u32;
    if record.parent_span_id.is_some() {
        flags |= SpanFlags::ContextIsRemoteMask as u32;
    }
    let status = record.error.map(|message| Status {
        message,
        code: StatusCode::Error as i32,
    });
    Span {
        trace_id: record.trace_id.to_vec(),
        span_id: record.span_id.to_vec(),
        trace_state: record.trace_state.unwrap_or_default(),
        parent_span_id: record.parent_span_id.map(|id| id.to_vec()).unwrap_or_default(),
        flags,
        name: record.name,
        kind: SpanKind::Server as i32,
        start_time_unix_nano: nanos(record.start),
        end_time_unix_nano: nanos(record.end),
        attributes: record
            .attributes
            .into_iter()
            .map(|(key, value)| attribute(key, value))
            .collect(),
        status,
        ..Span::default()
    }
}

fn attribute(key: &str, value: AttributeValue) -> KeyValue {
    let value = match value {
        AttributeValue::Str(text) => any_value::Value::StringValue(text.into_owned()),
        AttributeValue::Int(number) => any_value::Value::IntValue(number),
        AttributeValue::Bool(flag) => any_value::Value::BoolValue(flag),
        // A kind added to the core later is sent as its debug text rather than lost.
        other => any_value::Value::StringValue(format!("{other:?}")),
    };
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..KeyValue::default()
    }
}

fn text(key: &str, value: &str) -> KeyValue {
    attribute(key, AttributeValue::Str(value.to_owned().into()))
}

/// Nanoseconds since the Unix epoch; 0 (unknown, to OTLP) before it.
fn nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |since| u64::try_from(since.as_nanos()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn record() -> SpanRecord {
        SpanRecord {
            trace_id: [1; 16],
            span_id: [2; 8],
            parent_span_id: None,
            trace_state: None,
            flags: 1,
            name: "tools/call echo".into(),
            start: UNIX_EPOCH + Duration::from_nanos(1_000),
            end: UNIX_EPOCH + Duration::from_nanos(3_000),
            attributes: vec![("mcp.method.name", AttributeValue::Str("tools/call".into()))],
            error: None,
        }
    }

    #[test]
    fn the_resource_names_the_service_as_the_specification_orders() {
        let mut config = TraceConfig::default();
        let named = |config: &TraceConfig| {
            let encoder = Encoder::new(config, "demo", "1.0.0");
            let find = |key: &str| {
                encoder
                    .resource
                    .attributes
                    .iter()
                    .find(|kv| kv.key == key)
                    .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                        any_value::Value::StringValue(text) => Some(text.clone()),
                        _ => None,
                    })
            };
            (
                find("service.name"),
                find("service.version"),
                find("deployment.environment"),
            )
        };
        assert_eq!(named(&config), (Some("demo".into()), Some("1.0.0".into()), None));
        config.resource_attributes = vec![
            ("service.name".into(), "from-attributes".into()),
            ("deployment.environment".into(), "prod".into()),
        ];
        assert_eq!(named(&config).0.as_deref(), Some("from-attributes"));
        assert_eq!(named(&config).2.as_deref(), Some("prod"));
        config.service_name = Some("billing".into());
        assert_eq!(named(&config).0.as_deref(), Some("billing"));
    }

    #[test]
    fn a_span_keeps_its_ids_flags_and_status() {
        let plain = span(record());
        assert_eq!(plain.parent_span_id, Vec::<u8>::new());
        assert_eq!(plain.flags, 0x101);
        assert_eq!(plain.status, None);
        assert_eq!(
            (plain.start_time_unix_nano, plain.end_time_unix_nano),
            (1_000, 3_000)
        );
        let failed = span(SpanRecord {
            parent_span_id: Some([3; 8]),
            trace_state: Some("vendor=1".into()),
            error: Some("-32001".into()),
            ..record()
        });
        assert_eq!(failed.parent_span_id, vec![3; 8]);
        assert_eq!(failed.flags, 0x301);
        assert_eq!(failed.trace_state, "vendor=1");
        assert_eq!(
            failed.status.map(|status| status.code),
            Some(StatusCode::Error as i32)
        );
    }
}
