//! The time the embedding code passes in: a monotonic instant for deadlines, a wall-clock
//! reading for timestamps. The core never reads a clock itself.

use std::time::{Duration, Instant, SystemTime};

/// A moment as the adapter saw it: `instant` drives deadlines, `wall` stamps log records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    /// The monotonic time, used for every deadline.
    pub instant: Instant,
    /// The wall-clock time, used only for RFC 3339 timestamps.
    pub wall: SystemTime,
}

impl Now {
    /// Pairs a monotonic instant with the wall-clock reading taken at the same moment.
    pub fn new(instant: Instant, wall: SystemTime) -> Self {
        Self { instant, wall }
    }

    /// Returns this moment moved forward by `by` on both clocks (for virtual clocks in tests).
    pub fn advanced(self, by: Duration) -> Self {
        Self {
            instant: self.instant + by,
            wall: self.wall + by,
        }
    }

    /// Returns the wall-clock time as RFC 3339 in UTC with millisecond precision.
    pub fn rfc3339(&self) -> String {
        humantime::format_rfc3339_millis(self.wall).to_string()
    }
}
