//! The end of every input and command: store requests queued during the step are sent, and
//! readers of connections that take input again are resumed, after any chunk parked while
//! they were paused has been fed.

use super::{Event, Server};
use crate::time::Now;

impl Server {
    /// Visits the connections touched by the step that just ran: a parked chunk is fed once
    /// its connection takes input again, and a reader that waits is resumed once nothing of
    /// its is parked. Only touched connections are visited, so the cost follows the work done.
    pub(super) fn settle(&mut self, now: Now) {
        self.flush_store(now);
        while let Some(connection) = self.touched.pop() {
            let Some(conn) = self.connections.get(&connection) else {
                continue;
            };
            if !conn.awaiting_resume {
                continue;
            }
            if conn.parked.is_none() {
                if self.wants_input(connection)
                    && let Some(conn) = self.connections.get_mut(&connection)
                {
                    conn.awaiting_resume = false;
                    self.events.push_back(Event::Resume(connection));
                }
                continue;
            }
            if !conn.takes_input(&self.config) {
                continue;
            }
            let Some(chunk) = self
                .connections
                .get_mut(&connection)
                .and_then(|conn| conn.parked.take())
            else {
                continue;
            };
            // Visited again: the reader may be resumed once the chunk is in.
            self.touched.push(connection);
            self.take_input(connection, &chunk, now);
            if self.connections.get(&connection).is_some_and(|conn| conn.eof) {
                self.input_ended(connection, now);
            }
        }
    }
}
