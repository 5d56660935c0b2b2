//! Serves a rampart core over Streamable HTTP on smol (the HTTP side lands with the next milestone).
