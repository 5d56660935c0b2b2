//! The adapter side of the `ops` target: drains the server, records what was written to each
//! connection and which calls run, and checks it all as it arrives.

use std::collections::BTreeMap;

use super::super::peer::Peer;
use super::conn::Conn;
use super::handlers::Handler;
use super::store::StoreHost;
use crate::{CallId, ConnectionId, Event, Framing, LogRecord, Now, Server, Transmit};

/// What was written to each connection, which calls run, what closed.
#[derive(Default)]
pub(super) struct Recorder {
    pub(super) conns: BTreeMap<ConnectionId, Conn>,
    pub(super) pending: Vec<Handler>,
    pub(super) finished: Vec<CallId>,
    pub(super) peer: Peer,
    logs: usize,
    /// The call whose messages the host is passing on now.
    pub(super) asking: Option<CallId>,
    /// The server's requests to clients seen while a call's messages were passed on: which
    /// call asked, and where the request went.
    asked_by: BTreeMap<u64, (CallId, ConnectionId)>,
    /// The connection of the first transmit since `expect_first`.
    first: Option<ConnectionId>,
    /// The shared store, when the input asked for one.
    pub(super) store: Option<StoreHost>,
}

impl Recorder {
    /// Creates a host with no connections, running store requests on `store` if given.
    pub(super) fn new(store: Option<StoreHost>) -> Self {
        Self {
            store,
            ..Self::default()
        }
    }

    /// Picks one of the connections not yet closed.
    pub(super) fn pick(&self, arg: u8) -> Option<ConnectionId> {
        self.pick_where(arg, |_| true)
    }

    /// Picks one of the connections not yet closed that `keep` keeps.
    pub(super) fn pick_where(&self, arg: u8, keep: impl Fn(&Conn) -> bool) -> Option<ConnectionId> {
        let open: Vec<ConnectionId> = self
            .conns
            .iter()
            .filter(|(_, conn)| !conn.closed && keep(conn))
            .map(|(id, _)| *id)
            .collect();
        (!open.is_empty()).then(|| open[usize::from(arg) % open.len()])
    }

    /// Returns whether the call is running, as far as the host knows.
    pub(super) fn is_pending(&self, call: CallId) -> bool {
        self.pending.iter().any(|handler| handler.id == call)
    }

    /// Starts watching for the connection the next transmit goes to.
    pub(super) fn expect_first(&mut self) {
        self.first = None;
    }

    /// A call completed and the server wrote its response first: every request it made to
    /// its client went to the same connection.
    pub(super) fn check_call_connection(&self, call: CallId) {
        let Some(conn) = self.first else {
            return;
        };
        for (id, (asker, went)) in &self.asked_by {
            assert!(
                *asker != call || *went == conn,
                "request {id} of {call} went to {went:?}, its response to {conn:?}"
            );
        }
    }

    /// Drains the server as an adapter would: writes, events, resumes.
    pub(super) fn drain(&mut self, server: &mut Server, now: Now) {
        loop {
            let mut progressed = false;
            while let Some(transmit) = server.poll_transmit() {
                progressed = true;
                let connection = transmit.connection;
                if !self.transmit(transmit) {
                    server.handle_disconnect(connection, now);
                }
            }
            while let Some(event) = server.poll_event() {
                progressed = true;
                match event {
                    Event::Call(call) => self.pending.push(Handler::new(call)),
                    Event::Cancel(call) => self.cancel(call),
                    Event::Log(record) => self.log(record),
                    Event::Span(span) => {
                        assert!(span.end >= span.start, "a span that ends before it starts");
                        assert!(!span.name.is_empty(), "a span without a name");
                    }
                    Event::Resume(connection) => self.resume(connection),
                    Event::Closed(connection) => self.close(connection),
                    Event::Store(request) => {
                        let store = self
                            .store
                            .as_mut()
                            .expect("a store request with no store configured");
                        store.fresh.push(request);
                    }
                }
            }
            if let Some(store) = &mut self.store {
                for (id, answer) in store.answers(now.instant) {
                    progressed = true;
                    server.store_reply(id, answer, now);
                }
            }
            if !progressed {
                return;
            }
        }
    }

    fn transmit(&mut self, transmit: Transmit) -> bool {
        self.first.get_or_insert(transmit.connection);
        let conn = self
            .conns
            .get_mut(&transmit.connection)
            .expect("transmit to a connection never accepted");
        assert!(!conn.closed, "transmit after the connection closed");
        if conn.broken {
            return false;
        }
        match conn.framing {
            Framing::Http => {
                self.peer
                    .http(transmit.connection, &mut conn.http, &transmit.data);
            }
            _ => conn.lines(transmit.connection, &transmit.data, &mut self.peer),
        }
        for (id, went) in self.peer.take_fresh() {
            if let Some(call) = self.asking {
                self.asked_by.entry(id).or_insert((call, went));
            }
        }
        true
    }

    fn cancel(&mut self, call: CallId) {
        let before = self.pending.len();
        self.pending.retain(|pending| pending.id != call);
        assert_eq!(
            self.pending.len() + 1,
            before,
            "cancel of a call not running: {call}"
        );
        self.finished.push(call);
    }

    fn log(&mut self, _record: LogRecord) {
        self.logs += 1;
    }

    fn close(&mut self, connection: ConnectionId) {
        let conn = self
            .conns
            .get_mut(&connection)
            .expect("close of a connection never accepted");
        assert!(!conn.closed, "a connection closed twice");
        conn.closed = true;
    }

    fn resume(&mut self, connection: ConnectionId) {
        let conn = self
            .conns
            .get_mut(&connection)
            .expect("resume of a connection never accepted");
        conn.awaiting_resume = false;
    }
}
