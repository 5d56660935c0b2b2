//! The span exporter the adapters start when `OTEL_EXPORTER_OTLP_ENDPOINT` is set
//! (rampart-otlp, feature `otlp`), and the guard that flushes it at shutdown; shared by the
//! stdio loop and the HTTP adapters.

use std::io;
use std::sync::Arc;

use rampart_core::Config;
use rampart_core::trace::SpanExporter;

/// Sends the span exporter's queued spans, once: by [`flush`](Self::flush), or when dropped.
/// Either blocks for at most `rampart_otlp::FLUSH_DEADLINE` (run it off an async runtime).
pub struct FlushSpans(Option<Box<dyn FnOnce() + Send>>);

impl FlushSpans {
    /// Sends what is queued, waiting at most the exporter's flush deadline.
    pub fn flush(mut self) {
        if let Some(flush) = self.0.take() {
            flush();
        }
    }
}

impl Drop for FlushSpans {
    fn drop(&mut self) {
        if let Some(flush) = self.0.take() {
            flush();
        }
    }
}

/// The span exporter `config` asks for (`OTEL_EXPORTER_OTLP_ENDPOINT`), if any, with its
/// flush; an error when an endpoint is set but the `otlp` feature is off.
pub fn span_exporter(config: &Config) -> io::Result<Option<(Arc<dyn SpanExporter>, FlushSpans)>> {
    #[cfg(feature = "otlp")]
    {
        let exporter =
            rampart_otlp::Exporter::start(&config.trace, &config.server_name, &config.server_version);
        Ok(exporter.map(|exporter| {
            let spans: Arc<dyn SpanExporter> = exporter.clone();
            let flush = FlushSpans(Some(Box::new(move || {
                exporter.flush(rampart_otlp::FLUSH_DEADLINE)
            })));
            (spans, flush)
        }))
    }
    #[cfg(not(feature = "otlp"))]
    if config.trace.is_enabled() {
        Err(io::Error::other(
            "OTEL_EXPORTER_OTLP_ENDPOINT is set, but rampart was built without its `otlp` feature",
        ))
    } else {
        Ok(None)
    }
}
