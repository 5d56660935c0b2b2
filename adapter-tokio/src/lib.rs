//! Serves a rampart core over Streamable HTTP on tokio (the HTTP side lands with the next milestone).
