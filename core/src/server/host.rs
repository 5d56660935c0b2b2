//! The one drain step every adapter runs after each input: it hands the core's output to
//! the adapter's side effects through the [`Host`] trait, feeds input parked while a
//! connection was paused, and says when to read again.

use crate::log::LogRecord;
use crate::time::Now;
use crate::tools::{CallId, ToolCall};

use super::{ConnectionId, Event, Server, Transmit};

/// The side effects an adapter performs for the core; called only from [`Server::drain_into`].
pub trait Host {
    /// Queues bytes for writing; returns false to cut the client off (its unwritten output
    /// is over [`Config::max_output_bytes`](crate::Config::max_output_bytes), or it is gone).
    fn transmit(&mut self, transmit: Transmit) -> bool;
    /// Runs a tool call on the runtime; its outcome comes back through [`Server::complete`].
    fn run(&mut self, call: ToolCall);
    /// Drops a call's future.
    fn cancel(&mut self, call: CallId);
    /// Writes a log record.
    fn log(&mut self, record: LogRecord);
    /// Closes a connection once what was transmitted for it is written.
    fn close(&mut self, connection: ConnectionId);
    /// Lets the connection's reader read its next chunk.
    fn resume(&mut self, connection: ConnectionId);
}

impl Server {
    /// Drains every output into `host`, feeds parked input, and resumes readers whose
    /// connections take input again; call it after every input, command or timeout.
    ///
    /// The read protocol: after handing a chunk to [`handle_input`](Self::handle_input), a
    /// reader waits for [`Host::resume`] before it reads again. This keeps at most one chunk
    /// per connection in flight, whatever the core is waiting on.
    pub fn drain_into(&mut self, host: &mut impl Host, now: Now) {
        loop {
            let mut progressed = false;
            while let Some(transmit) = self.poll_transmit() {
                progressed = true;
                let connection = transmit.connection;
                if !host.transmit(transmit) {
                    self.handle_disconnect(connection, now);
                }
            }
            while let Some(event) = self.poll_event() {
                progressed = true;
                match event {
                    Event::CallTool(call) => host.run(call),
                    Event::CancelCall(call) => host.cancel(call),
                    Event::Log(record) => host.log(record),
                    Event::Closed(connection) => host.close(connection),
                }
            }
            // Each waiting reader is visited once per pass; feeding a parked chunk keeps it
            // waiting, at the end of the list, so the same pass resumes it when it can.
            let mut next = 0;
            while let Some(&connection) = self.awaiting_resume.get(next) {
                let Some(conn) = self.connections.get_mut(&connection) else {
                    self.awaiting_resume.remove(next);
                    continue;
                };
                if !conn.awaiting_resume {
                    self.awaiting_resume.remove(next);
                    continue;
                }
                if !self.wants_input(connection) {
                    next += 1;
                    continue;
                }
                self.awaiting_resume.remove(next);
                progressed = true;
                let parked = self
                    .connections
                    .get_mut(&connection)
                    .and_then(|conn| conn.parked.take());
                if let Some(chunk) = parked {
                    self.awaiting_resume.push(connection);
                    self.take_input(connection, &chunk, now);
                } else if let Some(conn) = self.connections.get_mut(&connection) {
                    conn.awaiting_resume = false;
                    host.resume(connection);
                }
            }
            if !progressed {
                return;
            }
        }
    }
}
