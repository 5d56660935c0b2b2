//! Unit tests of the parts of `server`, each on its own part.

mod calls;
mod outgoing;
mod replay;
mod sessions;
mod timers;
