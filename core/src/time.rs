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
        self.timestamp().to_string()
    }

    /// Returns the wall-clock time as a log record's timestamp.
    pub fn timestamp(&self) -> Timestamp {
        Timestamp(self.wall)
    }
}

/// A wall-clock moment, written as RFC 3339 in UTC with millisecond precision
/// (`2026-11-30T12:34:56.789Z`); times before 1970 are written as 1970, after 9999 as 9999.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp(SystemTime);

impl Timestamp {
    /// Wraps a wall-clock reading.
    pub fn new(wall: SystemTime) -> Self {
        Self(wall)
    }

    /// Returns the timestamp's 24 ASCII bytes.
    pub fn to_bytes(self) -> [u8; 24] {
        // The last millisecond of 9999-12-31.
        const MAX_MILLIS: u128 = 253_402_300_799_999;
        let millis = self
            .0
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |since| since.as_millis().min(MAX_MILLIS));
        // Below MAX_MILLIS, every quotient fits its type.
        let (secs, millis) = ((millis / 1000) as i64, (millis % 1000) as u32);
        let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
        let of_day = secs.rem_euclid(86_400) as u32;
        let mut out = *b"0000-00-00T00:00:00.000Z";
        let mut put = |at: usize, value: u32, width: usize| {
            let mut value = value;
            for slot in out[at..at + width].iter_mut().rev() {
                *slot = b'0' + (value % 10) as u8;
                value /= 10;
            }
        };
        put(0, year, 4);
        put(5, month, 2);
        put(8, day, 2);
        put(11, of_day / 3600, 2);
        put(14, of_day / 60 % 60, 2);
        put(17, of_day % 60, 2);
        put(20, millis, 3);
        out
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Every byte written is ASCII.
        f.write_str(std::str::from_utf8(&self.to_bytes()).map_err(|_| std::fmt::Error)?)
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl PartialEq<&str> for Timestamp {
    fn eq(&self, other: &&str) -> bool {
        self.to_bytes() == other.as_bytes()
    }
}

/// The proleptic Gregorian date of a day counted from 1970-01-01 (Howard Hinnant's
/// `civil_from_days`), for days from 0 to the end of year 9999.
fn civil_from_days(days: i64) -> (u32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // Within the years 1970 to 9999 each part is small and positive.
    (year as u32, month as u32, day as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_match_rfc3339() {
        // Every day from 1970 to beyond 2400 (leap years, centuries), at varied times of day.
        let mut millis: u64 = 0;
        while millis < 14_000_000_000_000 {
            let wall = SystemTime::UNIX_EPOCH + Duration::from_millis(millis);
            let ours = Timestamp::new(wall).to_string();
            assert_eq!(ours, humantime::format_rfc3339_millis(wall).to_string());
            millis += 86_399_987;
        }
    }

    #[test]
    fn timestamps_out_of_range_are_clamped() {
        let before = SystemTime::UNIX_EPOCH - Duration::from_secs(5);
        assert_eq!(Timestamp::new(before), "1970-01-01T00:00:00.000Z");
        let after = SystemTime::UNIX_EPOCH + Duration::from_secs(400_000_000_000);
        assert_eq!(Timestamp::new(after), "9999-12-31T23:59:59.999Z");
        let leap = SystemTime::UNIX_EPOCH + Duration::from_millis(951_782_400_123);
        assert_eq!(Timestamp::new(leap), "2000-02-29T00:00:00.123Z");
    }
}
