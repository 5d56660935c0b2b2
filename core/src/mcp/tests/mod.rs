//! Unit tests of the parts of `mcp`, each on its own part.

mod pagination;
mod session;
