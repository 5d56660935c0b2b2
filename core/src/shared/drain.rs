//! One drain of the shared server: the core's output poured into the connections' slots,
//! the calls to start, and the pending log lines.

use rustc_hash::FxHashMap as HashMap;

use super::{CallSlot, Slot, wake};
use crate::handler::{Call, CallId};
use crate::log::{LogOutput, LogRecord};
use crate::metrics::HostCounter;
use crate::server::{ConnectionId, Event, Server, Transmit};
use crate::store::StoreRequest;
use crate::time::Now;
use crate::trace::SpanExporter;

/// Log bytes held for the log writer at most, over every shard; lines past it are counted
/// and dropped.
const MAX_PENDING_LOGS: usize = 4 * 1024 * 1024;

/// Log bytes one shard holds at least, however many shards share [`MAX_PENDING_LOGS`].
const MIN_PENDING_LOGS: usize = 512 * 1024;

/// Returns the log bytes each of `shards` shards may hold: 4 MiB over them all, and at
/// least 512 KiB each.
pub(super) fn max_pending_logs(shards: usize) -> usize {
    (MAX_PENDING_LOGS / shards.max(1)).max(MIN_PENDING_LOGS)
}

/// Where one drain puts the core's output: into the connections' slots.
pub(super) struct Drain<'a> {
    pub(super) own: Option<ConnectionId>,
    pub(super) slots: &'a mut HashMap<ConnectionId, Slot>,
    pub(super) calls: &'a mut HashMap<CallId, CallSlot>,
    /// Calls to poll once the lock is released, each with whether it was cancelled since.
    pub(super) started: &'a mut Vec<(Call, bool)>,
    /// Store requests to run once the lock is released.
    pub(super) stores: &'a mut Vec<StoreRequest>,
    pub(super) logs: &'a mut Vec<u8>,
    pub(super) dropped_logs: &'a mut u64,
    /// Where spans go, when traces are exported.
    pub(super) spans: Option<&'a dyn SpanExporter>,
    /// Where log records go: JSON lines, `tracing` events, or both.
    pub(super) log_output: LogOutput,
    pub(super) max_output: usize,
    /// Log bytes the shard holds at most.
    pub(super) max_logs: usize,
}

impl Drain<'_> {
    /// Acts on everything the server has to give, until it has nothing more.
    pub(super) fn pour(&mut self, server: &mut Server, now: Now) {
        loop {
            let mut progressed = false;
            while let Some(transmit) = server.poll_transmit() {
                progressed = true;
                let connection = transmit.connection;
                if !self.transmit(transmit) {
                    // The client is cut off: the core forgets it.
                    server.handle_disconnect(connection, now);
                }
            }
            while let Some(event) = server.poll_event() {
                progressed = true;
                match event {
                    Event::Call(call) => self.run(call),
                    Event::Cancel(call) => self.cancel(call),
                    Event::Log(record) => {
                        if !self.log(record) {
                            server.count(HostCounter::LogLinesDropped, 1);
                        }
                    }
                    Event::Resume(connection) => self.resume(connection),
                    Event::Closed(connection) => self.close(connection),
                    Event::Store(request) => self.stores.push(request),
                    Event::Span(span) => {
                        if let Some(exporter) = self.spans
                            && !exporter.export(span)
                        {
                            server.count(HostCounter::SpansDropped, 1);
                        }
                    }
                }
            }
            if !progressed {
                break;
            }
        }
    }

    /// Wakes the connection's task, unless it is the one running this drain.
    fn notify(own: Option<ConnectionId>, connection: ConnectionId, slot: &mut Slot) {
        if own != Some(connection) {
            wake(&mut slot.waker);
        }
    }
}

impl Drain<'_> {
    fn transmit(&mut self, transmit: Transmit) -> bool {
        let Some(slot) = self.slots.get_mut(&transmit.connection) else {
            return true;
        };
        if slot.flags.gone {
            return false;
        }
        // A client that does not read its responses is cut off.
        if slot.out.len() + slot.writing + transmit.data.len() > self.max_output {
            slot.flags.gone = true;
            Self::notify(self.own, transmit.connection, slot);
            return false;
        }
        if slot.out.is_empty() {
            slot.out = transmit.data;
        } else {
            slot.out.extend_from_slice(&transmit.data);
        }
        Self::notify(self.own, transmit.connection, slot);
        true
    }

    fn run(&mut self, call: Call) {
        self.calls.insert(call.id, CallSlot::default());
        self.started.push((call, false));
    }

    fn cancel(&mut self, call: CallId) {
        if let Some((_, cancelled)) = self.started.iter_mut().find(|(started, _)| started.id == call) {
            *cancelled = true;
        }
        if let Some(slot) = self.calls.get_mut(&call) {
            slot.cancelled = true;
            wake(&mut slot.waker);
        }
    }

    /// Hands a record to `tracing` and to the log writer's buffer; returns false when the
    /// buffer is full and the line was dropped.
    fn log(&mut self, record: LogRecord) -> bool {
        #[cfg(feature = "tracing")]
        if self.log_output.tracing() {
            record.emit_tracing();
        }
        if !self.log_output.json() {
            return true;
        }
        let start = self.logs.len();
        record.write_json_line(self.logs);
        if self.logs.len() > self.max_logs {
            self.logs.truncate(start);
            *self.dropped_logs += 1;
            return false;
        }
        true
    }

    fn close(&mut self, connection: ConnectionId) {
        if let Some(slot) = self.slots.get_mut(&connection) {
            slot.flags.close = true;
            Self::notify(self.own, connection, slot);
        }
    }

    fn resume(&mut self, connection: ConnectionId) {
        if let Some(slot) = self.slots.get_mut(&connection) {
            slot.flags.resume = true;
            Self::notify(self.own, connection, slot);
        }
    }
}
