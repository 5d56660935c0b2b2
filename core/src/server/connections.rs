//! One connection's state: its framing's own state, who is on the other end, and where it
//! stands in the read protocol (end of input, a parked chunk, a reader waiting to resume).

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use super::http::HttpConn;
use super::ndjson::NdjsonConn;
use crate::auth::Principal;
use crate::config::Config;
use crate::framing::Framing;
use crate::rate_limit::ClientKey;

/// The framing's own state.
pub(super) enum Kind {
    Ndjson(NdjsonConn),
    Http(Box<HttpConn>),
}

/// One open connection.
pub(super) struct Connection {
    /// The label logs name the client by.
    pub(super) client: std::sync::Arc<str>,
    pub(super) kind: Kind,
    /// The client sent its last byte.
    pub(super) eof: bool,
    /// A chunk that arrived while the connection was paused, fed when it takes input again.
    pub(super) parked: Option<Vec<u8>>,
    /// The reader waits for [`Event::Resume`](super::Event::Resume) before it reads again.
    pub(super) awaiting_resume: bool,
    /// The peer's address, when the client label is one.
    pub(super) peer: Option<IpAddr>,
    /// Whom the last request counted against (behind trusted proxies, the real client).
    pub(super) client_key: ClientKey,
    /// The current request's client, when a trusted proxy forwarded it for another address:
    /// the one its log record names.
    pub(super) forwarded_for: Option<IpAddr>,
    /// Who the current request authenticated as, when authentication is on.
    pub(super) principal: Option<Principal>,
    /// Accepted on the metrics listener: serves only `/metrics` and the probes.
    pub(super) metrics_only: bool,
}

impl Connection {
    pub(super) fn new(client: String, framing: Framing, config: &Config, now: Instant) -> Self {
        let peer = client.parse::<IpAddr>().ok();
        let kind = match framing {
            Framing::Ndjson => Kind::Ndjson(NdjsonConn::new(config.max_line_bytes)),
            Framing::Http => Kind::Http(Box::new(HttpConn::new(config, now))),
        };
        Self {
            client: client.into(),
            kind,
            eof: false,
            parked: None,
            awaiting_resume: false,
            peer,
            client_key: ClientKey::from_ip(peer.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))),
            forwarded_for: None,
            principal: None,
            metrics_only: false,
        }
    }

    pub(super) fn framing(&self) -> Framing {
        match self.kind {
            Kind::Ndjson(_) => Framing::Ndjson,
            Kind::Http(_) => Framing::Http,
        }
    }

    /// Returns the name of who the current request authenticated as.
    pub(super) fn principal_name(&self) -> Option<&str> {
        self.principal.as_ref().map(|principal| principal.name.as_str())
    }

    /// Returns whether the connection takes input now (see `Server::wants_input`).
    pub(super) fn wants_input(&self, config: &Config) -> bool {
        !self.eof && self.parked.is_none() && self.takes_input(config)
    }

    /// Returns whether its framing would take a chunk now: nothing held back, room in the
    /// buffer.
    pub(super) fn takes_input(&self, config: &Config) -> bool {
        match &self.kind {
            Kind::Ndjson(ndjson) => ndjson.takes_input(config),
            Kind::Http(http) => http.wants_input(config),
        }
    }
}
