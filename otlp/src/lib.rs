//! Exports rampart's span records over OTLP/HTTP: the [`SpanExporter`] an adapter hands to
//! the core when tracing is on, sending batches of spans as protobuf to an OpenTelemetry
//! collector (or any OTLP/HTTP endpoint: Jaeger, Tempo, a vendor's).
//!
//! [`Exporter::start`] reads the core's [`TraceConfig`], which comes from the standard
//! variables:
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `OTEL_EXPORTER_OTLP_ENDPOINT` | base URL; spans go to `{endpoint}/v1/traces` | none: tracing off |
//! | `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` | the traces URL, used as given | none |
//! | `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_EXPORTER_OTLP_TRACES_HEADERS` | `key=value,..` sent with every export (an API key) | none |
//! | `OTEL_EXPORTER_OTLP_TIMEOUT`, `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT` | ms one export may take, retry included | 10000 |
//! | `OTEL_EXPORTER_OTLP_PROTOCOL` | only `http/protobuf` | `http/protobuf` |
//! | `OTEL_SERVICE_NAME` | the resource's `service.name` | the server's name |
//! | `OTEL_RESOURCE_ATTRIBUTES` | more resource attributes, `key=value,..` | none |
//! | `OTEL_BSP_MAX_QUEUE_SIZE` | spans held for export at most | 2048 |
//! | `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` | spans in one export at most | 512 |
//! | `OTEL_BSP_SCHEDULE_DELAY` | ms a span may wait for its batch to fill | 5000 |
//! | `OTEL_SDK_DISABLED=true`, `OTEL_TRACES_EXPORTER=none` | tracing off | |
//!
//! The resource carries `service.name`, `service.version` (the server's version unless
//! `OTEL_RESOURCE_ATTRIBUTES` names one), `telemetry.sdk.name=rampart`,
//! `telemetry.sdk.language`, `telemetry.sdk.version` and the resource attributes; the
//! instrumentation scope is `rampart`. `https://` endpoints are verified against the
//! Mozilla root certificates (webpki-roots); proxies come from `HTTPS_PROXY`, `HTTP_PROXY`
//! and `NO_PROXY`.
//!
//! # Bounds
//!
//! [`export`](SpanExporter::export) never waits: it pushes the span onto a queue of at most
//! `OTEL_BSP_MAX_QUEUE_SIZE` spans, or drops and counts it ([`Exporter::dropped`]) when the
//! queue is full. A thread of the exporter's own (`rampart-otlp`, std only, so that it serves
//! tokio, smol and stdio alike) takes up to `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` spans once that
//! many are queued or the oldest has waited `OTEL_BSP_SCHEDULE_DELAY`, and posts them, one
//! request at a time. An export takes at most `OTEL_EXPORTER_OTLP_TIMEOUT`, including one
//! retry when the collector answers 429, 502, 503 or 504 (after its `Retry-After`, at most
//! 5 s, or 500 ms); a batch that still fails is dropped and counted
//! ([`Exporter::failed_exports`]), and a warning goes to stderr as a JSON log line at most
//! once a minute. While the collector is slow or away the queue fills and new spans are
//! dropped; the server never waits for it.
//!
//! At shutdown, [`Exporter::flush`] exports what is queued, and returns once that is done or
//! its deadline has passed, whichever comes first.
//!
//! The adapters (`rampart-tokio`, `rampart-smol`, `rampart-stdio`) start an exporter when
//! tracing is on and their `otlp` feature (on by default) is, and give it
//! [`FLUSH_DEADLINE`] at shutdown; an embedder of `rampart_core::shared::serve` does the same:
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use rampart_core::trace::SpanExporter;
//! let config = rampart_core::Config::default();
//! let exporter = rampart_otlp::Exporter::start(&config.trace, &config.server_name, &config.server_version);
//! let spans = exporter.clone().map(|exporter| exporter as Arc<dyn SpanExporter>);
//! // ... serve with `spans` (`rampart_core::shared::serve`), then:
//! if let Some(exporter) = exporter {
//!     exporter.flush(rampart_otlp::FLUSH_DEADLINE);
//! }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod encode;
mod send;
mod worker;

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use rampart_core::trace::{SpanExporter, SpanRecord, TraceConfig};

use crate::encode::Encoder;
use crate::send::Client;
use crate::worker::Worker;

/// How long the adapters' shutdown waits for queued spans to be sent ([`Exporter::flush`]).
pub const FLUSH_DEADLINE: Duration = Duration::from_secs(5);

/// Sends span records to an OTLP/HTTP endpoint in batches, from a thread of its own.
///
/// Made by [`start`](Self::start); hand it to the core as an `Arc<dyn SpanExporter>` and call
/// [`flush`](Self::flush) at shutdown. Dropping the last handle without a flush stops the
/// thread and drops what is queued.
pub struct Exporter {
    queue: Arc<Queue>,
    /// Says when the thread has ended; taken by the first flush.
    ended: Mutex<Option<Receiver<()>>>,
}

impl Exporter {
    /// Starts exporting to `config`'s traces URL; `None` when tracing is off (no endpoint,
    /// or switched off), or when the OS gives no thread (a warning then goes to stderr).
    ///
    /// `service_name_default` and `service_version` describe the server in the resource
    /// (`Config::server_name` and `Config::server_version`); `OTEL_SERVICE_NAME` wins over
    /// the name.
    pub fn start(
        config: &TraceConfig,
        service_name_default: &str,
        service_version: &str,
    ) -> Option<Arc<Self>> {
        let url = config.traces_url()?;
        let queue = Arc::new(Queue::new(config.max_queue.max(1), config.max_batch.max(1)));
        let worker = Worker {
            queue: Arc::clone(&queue),
            encoder: Encoder::new(config, service_name_default, service_version),
            client: Client::new(url, config.headers.clone()),
            schedule_delay: config.schedule_delay,
            export_timeout: config.export_timeout,
        };
        let (end, ended) = mpsc::channel();
        let spawned = thread::Builder::new().name("rampart-otlp".into()).spawn(move || {
            worker.run();
            let _ = end.send(());
        });
        if let Err(err) = spawned {
            worker::warn(&format!("span export is off: no thread for the exporter: {err}"));
            return None;
        }
        Some(Arc::new(Self {
            queue,
            ended: Mutex::new(Some(ended)),
        }))
    }

    /// Exports what is queued and stops the thread, returning once that is done or `deadline`
    /// has passed. An export under way is given what is left of `deadline`; spans still queued
    /// then, and spans handed over after this call, are dropped and counted. Later calls
    /// return at once.
    pub fn flush(&self, deadline: Duration) {
        let now = Instant::now();
        let far = || now + Duration::from_secs(24 * 3600);
        self.queue.stop(now.checked_add(deadline).unwrap_or_else(far));
        let ended = lock(&self.ended).take();
        if let Some(ended) = ended {
            let _ = ended.recv_timeout(deadline);
        }
    }

    /// Returns how many spans were dropped: the queue was full, the exporter was stopping,
    /// or a flush's deadline passed before they were sent.
    pub fn dropped(&self) -> u64 {
        self.queue.dropped.load(Ordering::Relaxed)
    }

    /// Returns how many exports (batches) failed for good: refused, unanswered, or past
    /// their timeout, after the retry.
    pub fn failed_exports(&self) -> u64 {
        self.queue.failed_exports.load(Ordering::Relaxed)
    }

    /// Returns how many spans the endpoint accepted.
    pub fn exported(&self) -> u64 {
        self.queue.exported.load(Ordering::Relaxed)
    }
}

impl SpanExporter for Exporter {
    /// Queues `span`, or drops and counts it when the queue is full; never waits.
    fn export(&self, span: SpanRecord) -> bool {
        self.queue.push(span)
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        self.queue.stop(Instant::now());
    }
}

impl fmt::Debug for Exporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exporter")
            .field("exported", &self.exported())
            .field("dropped", &self.dropped())
            .field("failed_exports", &self.failed_exports())
            .finish_non_exhaustive()
    }
}

/// The spans waiting for the thread, and the counters both sides update.
struct Queue {
    state: Mutex<State>,
    /// Wakes the thread: a first span, a full batch, a stop.
    wake: Condvar,
    max_queue: usize,
    max_batch: usize,
    dropped: AtomicU64,
    failed_exports: AtomicU64,
    exported: AtomicU64,
}

struct State {
    spans: VecDeque<SpanRecord>,
    /// When the oldest queued span arrived.
    oldest: Option<Instant>,
    /// Set by a flush (or the drop): send what is queued before this, then end.
    stop: Option<Instant>,
}

impl Queue {
    fn new(max_queue: usize, max_batch: usize) -> Self {
        Self {
            state: Mutex::new(State {
                spans: VecDeque::new(),
                oldest: None,
                stop: None,
            }),
            wake: Condvar::new(),
            max_queue,
            max_batch,
            dropped: AtomicU64::new(0),
            failed_exports: AtomicU64::new(0),
            exported: AtomicU64::new(0),
        }
    }

    /// Queues `span` unless the queue is full or stopping; holds the lock for a push only.
    /// Queues `span`; returns false when it was dropped (the queue is full or stopping).
    fn push(&self, span: SpanRecord) -> bool {
        let mut state = lock(&self.state);
        if state.stop.is_some() || state.spans.len() >= self.max_queue {
            drop(state);
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        if state.spans.is_empty() {
            state.oldest = Some(Instant::now());
        }
        state.spans.push_back(span);
        // The thread waits for a first span, then for its delay or a full batch.
        let len = state.spans.len();
        drop(state);
        if len == 1 || len == self.max_batch {
            self.wake.notify_one();
        }
        true
    }

    /// Asks the thread to send what is queued before `at` and then end; an earlier stop stays.
    fn stop(&self, at: Instant) {
        let mut state = lock(&self.state);
        state.stop = Some(state.stop.map_or(at, |stop| stop.min(at)));
        drop(state);
        self.wake.notify_all();
    }
}

/// Locks `mutex`, also after a panic elsewhere: the queue stays consistent at every step.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
