//! The `ops` operations of the 2026-07-28 revision: its messages on HTTP connections and
//! pipes, retries of the multi round-trip calls the server asked something, pipes whose first
//! message is of that revision, and bursts of announcements for listen streams.

use super::super::Reader;
use super::super::modern::{self, Message};
use super::super::registry::URIS;
use super::{MAX_CONNECTIONS, Run};
use crate::{ConnectionId, Framing, Notice};

impl Run {
    /// Performs one operation of the revision; `code % 4` picks: 0 a message of the table on
    /// the connection `arg` picks, 1 a retry of a round the peer learned on it, 2 a new pipe
    /// (its client is `arg`) whose first message is one of the table, 3 an announcement of
    /// every kind (a resource update of the URI `arg` picks).
    pub(super) fn modern_step(&mut self, code: u8, input: &mut Reader<'_>) {
        let arg = input.byte().unwrap_or(0);
        let mut byte = || input.byte().unwrap_or(0);
        match code % 4 {
            pick @ (0 | 2) => {
                let (kind, extra, how) = (byte(), byte(), byte());
                let conn = if pick == 0 {
                    self.host.pick(arg)
                } else {
                    self.accept_pipe(arg)
                };
                if let Some(conn) = conn {
                    let message = modern::message(kind, extra, how, &self.host.peer.sessions);
                    self.send_modern(conn, &message);
                }
            }
            1 => {
                let (pick, how, extra) = (byte(), byte(), byte());
                if let Some(conn) = self.host.pick(arg) {
                    let message = modern::retry(&self.host.peer, pick, how, extra);
                    self.send_modern(conn, &message);
                }
            }
            _ => {
                let updated = Notice::ResourceUpdated(URIS[usize::from(arg) % URIS.len()].to_owned());
                for notice in [
                    updated,
                    Notice::ResourcesChanged,
                    Notice::ToolsChanged,
                    Notice::PromptsChanged,
                ] {
                    self.server.notify(notice, self.now);
                    self.host.drain(&mut self.server, self.now);
                }
            }
        }
    }

    /// Opens a pipe for the client `arg` picks, unless as many connections as one input may
    /// open are open.
    fn accept_pipe(&mut self, arg: u8) -> Option<ConnectionId> {
        (self.host.conns.len() < MAX_CONNECTIONS).then(|| self.accept_as(arg, Framing::Ndjson))
    }

    fn send_modern(&mut self, conn: ConnectionId, message: &Message) {
        match self.host.conns[&conn].framing {
            Framing::Http => {
                let request = message.http(&self.host.peer);
                self.send_http(conn, request);
            }
            _ => {
                self.input(conn, message.line());
            }
        }
    }
}
