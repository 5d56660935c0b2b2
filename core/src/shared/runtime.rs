//! What [`serve`](super::serve) asks of an async runtime: tasks, timers, the clock and TCP.
//! An adapter implements these three traits with its runtime's calls and nothing more.

use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::time::Instant;

use crate::time::Now;

/// An async runtime's tasks, timers and clock.
pub trait Runtime: Clone + Send + Sync + 'static {
    /// Runs `task` to its end in the background; nothing waits for it.
    fn spawn(&self, task: impl Future<Output = ()> + Send + 'static);

    /// Returns a future that resolves at `at`, when polled in a task of this runtime.
    fn sleep_until(at: Instant) -> impl Future<Output = ()> + Send;

    /// Returns a future that lets the runtime's other tasks run first: the log writer yields
    /// after each write, so that lines of the requests served meanwhile go out in one batch
    /// (tokio's own yield waits until the runtime has polled for IO, which makes the batches
    /// larger than a plain reschedule would).
    fn yield_now() -> impl Future<Output = ()> + Send;

    /// Reads the monotonic clock and the wall clock.
    fn now() -> Now;

    /// Returns how many worker threads run the runtime's tasks: the number of shards
    /// [`serve`](super::serve) splits the server into when `SHARDS` is 0. One unless the
    /// adapter says otherwise.
    fn workers(&self) -> usize {
        1
    }
}

/// A listening TCP socket.
pub trait Listener {
    /// The connections it accepts.
    type Stream: Stream;

    /// Waits for the next connection and returns it, with TCP_NODELAY set, and its peer's
    /// address.
    fn accept(&self) -> impl Future<Output = io::Result<(Self::Stream, IpAddr)>> + Send;
}

/// An accepted TCP connection.
pub trait Stream: Send + 'static {
    /// Reads what has arrived into `buf` (at least one byte, or 0 at the end of input).
    fn read<'a>(&'a mut self, buf: &'a mut [u8]) -> impl Future<Output = io::Result<usize>> + Send + 'a;

    /// Writes all of `data`.
    fn write_all<'a>(&'a mut self, data: &'a [u8]) -> impl Future<Output = io::Result<()>> + Send + 'a;

    /// Shuts the writing side down, so the client reads the end of the response.
    fn close(&mut self) -> impl Future<Output = io::Result<()>> + Send;
}
