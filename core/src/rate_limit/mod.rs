//! Rate limiting: who the client is, and whether its request may go on.
//!
//! [`client_ip`] finds the client's address behind trusted proxies, [`ClientKey`] turns it into
//! the key a limit is counted under (an IPv4 address or an IPv6 /64), and [`RateLimiter`] keeps
//! one GCRA token bucket per key in a table of bounded size. Nothing here reads a clock: every
//! method that needs time takes `now`, and the sweep of idle buckets is a deadline like any
//! other, given by [`RateLimiter::poll_timeout`] and run by [`RateLimiter::handle_timeout`].
//!
//! ```
//! use std::net::IpAddr;
//! use std::time::Instant;
//! use rampart_core::rate_limit::{Cidr, ClientKey, Limits, RateLimiter, client_ip};
//!
//! let trusted: Vec<Cidr> = vec!["10.0.0.0/8".parse().unwrap()];
//! let mut limiter = RateLimiter::new(Limits::default());
//! let now = Instant::now();
//!
//! let peer: IpAddr = "10.1.2.3".parse().unwrap();
//! let ip = client_ip(peer, &[b"198.51.100.1, 203.0.113.7"], &[], &trusted);
//! assert_eq!(ip, "203.0.113.7".parse::<IpAddr>().unwrap());
//!
//! let decision = limiter.check(ClientKey::from_ip(ip), now);
//! assert!(decision.allowed);
//! assert_eq!(decision.remaining, 99);
//! if let Some(at) = limiter.poll_timeout() {
//!     // arm a timer for `at`; when it fires:
//!     limiter.handle_timeout(at);
//! }
//! ```

mod bucket;
mod client;
mod forwarded;
#[cfg(test)]
mod tests;

pub use bucket::{Decision, Limits, RateLimiter};
pub use client::{Cidr, CidrError, ClientKey, client_ip, forwarded_hosts};
