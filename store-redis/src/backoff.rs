//! The waits between attempts to reconnect: from a shortest, doubling up to a longest.

use std::time::Duration;

/// The shortest wait there is, whatever the settings say, so that no loop that waits spins.
pub(crate) const MIN_WAIT: Duration = Duration::from_millis(10);

/// The waits between attempts to reconnect, one after another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Backoff {
    shortest: Duration,
    longest: Duration,
    next: Duration,
}

impl Backoff {
    /// Returns waits from `shortest` (at least [`MIN_WAIT`]) doubling up to `longest` (at
    /// least `shortest`).
    pub(crate) fn new(shortest: Duration, longest: Duration) -> Self {
        let shortest = shortest.max(MIN_WAIT);
        Self {
            shortest,
            longest: longest.max(shortest),
            next: shortest,
        }
    }

    /// Returns the wait before the next attempt, and doubles the one after.
    pub(crate) fn next_wait(&mut self) -> Duration {
        let wait = self.next;
        self.next = wait.saturating_mul(2).min(self.longest);
        wait
    }

    /// Starts again from the shortest wait, after an attempt that succeeded.
    pub(crate) fn reset(&mut self) {
        self.next = self.shortest;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waits(backoff: &mut Backoff, count: usize) -> Vec<u64> {
        (0..count)
            .map(|_| backoff.next_wait().as_millis() as u64)
            .collect()
    }

    #[test]
    fn waits_double_up_to_the_longest_and_start_again_after_a_success() {
        let mut backoff = Backoff::new(Duration::from_millis(50), Duration::from_secs(2));
        assert_eq!(
            waits(&mut backoff, 8),
            [50, 100, 200, 400, 800, 1_600, 2_000, 2_000]
        );
        backoff.reset();
        assert_eq!(waits(&mut backoff, 2), [50, 100]);
    }

    #[test]
    fn no_setting_makes_a_wait_vanish_or_overflow() {
        let mut zero = Backoff::new(Duration::ZERO, Duration::ZERO);
        assert_eq!(waits(&mut zero, 3), [10, 10, 10]);
        let mut inverted = Backoff::new(Duration::from_secs(1), Duration::from_millis(1));
        assert_eq!(waits(&mut inverted, 2), [1_000, 1_000]);
        let mut huge = Backoff::new(Duration::MAX / 2, Duration::MAX);
        huge.next_wait();
        assert_eq!(huge.next_wait(), Duration::MAX - Duration::from_nanos(1));
        assert_eq!(huge.next_wait(), Duration::MAX);
    }
}
