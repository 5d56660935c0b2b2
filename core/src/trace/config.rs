//! Where spans go and what they carry, from the standard `OTEL_*` variables.

use std::time::Duration;

/// Where spans are exported and how they are batched; tracing is off without an endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TraceConfig {
    /// The OTLP base URL (`OTEL_EXPORTER_OTLP_ENDPOINT`); spans go to `{endpoint}/v1/traces`.
    pub endpoint: Option<String>,
    /// The full traces URL (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`), used as given; it wins
    /// over `endpoint`.
    pub traces_endpoint: Option<String>,
    /// Headers sent with every export (`OTEL_EXPORTER_OTLP_HEADERS`, `key=value` pairs,
    /// percent-encoded values).
    pub headers: Vec<(String, String)>,
    /// The resource's `service.name` (`OTEL_SERVICE_NAME`); the server's name when unset.
    pub service_name: Option<String>,
    /// More resource attributes (`OTEL_RESOURCE_ATTRIBUTES`, `key=value` pairs).
    pub resource_attributes: Vec<(String, String)>,
    /// How long one export may take (`OTEL_EXPORTER_OTLP_TIMEOUT`, milliseconds).
    pub export_timeout: Duration,
    /// Spans held for export at most (`OTEL_BSP_MAX_QUEUE_SIZE`); past it they are dropped
    /// and counted, never waited for.
    pub max_queue: usize,
    /// Spans in one export at most (`OTEL_BSP_MAX_EXPORT_BATCH_SIZE`).
    pub max_batch: usize,
    /// How long a span may wait for its batch to fill (`OTEL_BSP_SCHEDULE_DELAY`, ms).
    pub schedule_delay: Duration,
    /// Whether spans carry tool arguments and results
    /// (`OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`); off by default, as they may
    /// hold personal data.
    pub capture_content: bool,
    /// Whether tracing is switched off whatever the endpoint (`OTEL_SDK_DISABLED`, or
    /// `OTEL_TRACES_EXPORTER=none`).
    pub disabled: bool,
}

impl Default for TraceConfig {
    /// Returns no endpoint, and the batching defaults of the OpenTelemetry specification.
    fn default() -> Self {
        Self {
            endpoint: None,
            traces_endpoint: None,
            headers: Vec::new(),
            service_name: None,
            resource_attributes: Vec::new(),
            export_timeout: Duration::from_secs(10),
            max_queue: 2048,
            max_batch: 512,
            schedule_delay: Duration::from_secs(5),
            capture_content: false,
            disabled: false,
        }
    }
}

impl TraceConfig {
    /// Returns the URL spans are posted to, when tracing is on.
    pub fn traces_url(&self) -> Option<String> {
        if self.disabled {
            return None;
        }
        if let Some(url) = &self.traces_endpoint {
            return Some(url.clone());
        }
        let base = self.endpoint.as_deref()?;
        Some(format!("{}/v1/traces", base.trim_end_matches('/')))
    }

    /// Returns whether the server makes span records.
    pub fn is_enabled(&self) -> bool {
        self.traces_url().is_some()
    }

    /// Applies one environment variable if it is a tracing setting: `None` when `name` is
    /// not one, else whether `value` was understood (the `Err` says what was expected).
    pub(crate) fn apply(&mut self, name: &str, value: &str) -> Option<Result<(), &'static str>> {
        let text = || (!value.is_empty()).then(|| value.to_owned());
        let applied = match name {
            "OTEL_EXPORTER_OTLP_ENDPOINT" => {
                self.endpoint = text();
                check_url(value)
            }
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" => {
                self.traces_endpoint = text();
                check_url(value)
            }
            "OTEL_EXPORTER_OTLP_HEADERS" | "OTEL_EXPORTER_OTLP_TRACES_HEADERS" => {
                pairs(value).map(|pairs| self.headers.extend(pairs))
            }
            "OTEL_SERVICE_NAME" => {
                self.service_name = text();
                Ok(())
            }
            "OTEL_RESOURCE_ATTRIBUTES" => pairs(value).map(|pairs| self.resource_attributes = pairs),
            "OTEL_EXPORTER_OTLP_TIMEOUT" | "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT" => {
                millis(value).map(|d| self.export_timeout = d)
            }
            "OTEL_EXPORTER_OTLP_PROTOCOL" | "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL" => match value {
                "" | "http/protobuf" => Ok(()),
                _ => Err("http/protobuf (the only OTLP protocol supported)"),
            },
            "OTEL_BSP_MAX_QUEUE_SIZE" => count(value).map(|n| self.max_queue = n),
            "OTEL_BSP_MAX_EXPORT_BATCH_SIZE" => count(value).map(|n| self.max_batch = n),
            "OTEL_BSP_SCHEDULE_DELAY" => millis(value).map(|d| self.schedule_delay = d),
            "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT" => {
                flag(value).map(|on| self.capture_content = on)
            }
            "OTEL_SDK_DISABLED" => flag(value).map(|off| self.disabled |= off),
            "OTEL_TRACES_EXPORTER" => match value {
                "" | "otlp" => Ok(()),
                "none" => {
                    self.disabled = true;
                    Ok(())
                }
                _ => Err("otlp or none"),
            },
            _ => return None,
        };
        Some(applied)
    }
}

fn check_url(value: &str) -> Result<(), &'static str> {
    if value.is_empty() || value.starts_with("http://") || value.starts_with("https://") {
        Ok(())
    } else {
        Err("an http:// or https:// URL")
    }
}

fn flag(value: &str) -> Result<bool, &'static str> {
    match value.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "" | "false" => Ok(false),
        _ => Err("true or false"),
    }
}

fn count(value: &str) -> Result<usize, &'static str> {
    value.parse().ok().filter(|&n| n > 0).ok_or("a positive number")
}

fn millis(value: &str) -> Result<Duration, &'static str> {
    value
        .parse()
        .ok()
        .filter(|&n| n > 0)
        .map(Duration::from_millis)
        .ok_or("a positive number of milliseconds")
}

/// Parses `key=value,key2=value2`, percent-decoding the values as the OpenTelemetry
/// specification says.
fn pairs(value: &str) -> Result<Vec<(String, String)>, &'static str> {
    value
        .split(',')
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').ok_or("key=value pairs, comma separated")?;
            let value = percent_decode(value.trim()).ok_or("percent-encoded values")?;
            Ok((key.trim().to_owned(), value))
        })
        .collect()
}

fn percent_decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_traces_url_follows_the_specification() {
        let mut config = TraceConfig::default();
        assert_eq!(config.traces_url(), None);
        assert_eq!(
            config.apply("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"),
            Some(Ok(()))
        );
        assert_eq!(
            config.traces_url().as_deref(),
            Some("http://collector:4318/v1/traces")
        );
        assert_eq!(
            config.apply("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://c:4318/t"),
            Some(Ok(()))
        );
        assert_eq!(config.traces_url().as_deref(), Some("http://c:4318/t"));
        assert_eq!(config.apply("OTEL_SDK_DISABLED", "true"), Some(Ok(())));
        assert!(!config.is_enabled());
    }

    #[test]
    fn settings_parse_or_name_what_they_expect() {
        let mut config = TraceConfig::default();
        assert_eq!(
            config.apply("OTEL_EXPORTER_OTLP_HEADERS", "api-key=a%20b, x=1"),
            Some(Ok(()))
        );
        assert_eq!(
            config.headers,
            [("api-key".into(), "a b".into()), ("x".into(), "1".into())]
        );
        assert_eq!(config.apply("OTEL_BSP_MAX_QUEUE_SIZE", "16"), Some(Ok(())));
        assert_eq!(config.max_queue, 16);
        assert_eq!(
            config.apply("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true"),
            Some(Ok(()))
        );
        assert!(config.capture_content);
        assert!(matches!(
            config.apply("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            Some(Err(_))
        ));
        assert!(matches!(
            config.apply("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"),
            Some(Err(_))
        ));
        assert!(matches!(
            config.apply("OTEL_EXPORTER_OTLP_HEADERS", "novalue"),
            Some(Err(_))
        ));
        assert!(matches!(
            config.apply("OTEL_EXPORTER_OTLP_HEADERS", "k=%zz"),
            Some(Err(_))
        ));
        assert_eq!(config.apply("HOST", "x"), None);
    }
}
