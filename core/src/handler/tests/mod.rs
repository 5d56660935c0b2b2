//! Unit tests of the parts of `handler`, each on its own part.

mod client;
mod results;
mod tool_output;
