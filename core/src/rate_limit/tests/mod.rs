//! The rate-limit module through its public API: the limiter on a virtual clock (`limiter`),
//! and client identity, networks and forwarding headers (`client`).

mod client;
mod limiter;
