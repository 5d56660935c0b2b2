//! A histogram with fixed bucket bounds, as the Prometheus text format writes it.

/// Bounds of `mcp.server.operation.duration`, in seconds, as the OpenTelemetry MCP semantic
/// conventions advise.
pub(crate) const OPERATION_BOUNDS: &[f64] = &[
    0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

/// Bounds of `mcp.server.session.duration`, in seconds: a second to a day.
pub(crate) const SESSION_BOUNDS: &[f64] = &[
    1.0, 5.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 43200.0, 86400.0,
];

/// Counts of observations at or below each bound, their number and their sum.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Histogram {
    bounds: &'static [f64],
    /// Observations in each bucket alone (not cumulative); the last is past every bound.
    buckets: Vec<u64>,
    pub(crate) count: u64,
    pub(crate) sum: f64,
}

impl Histogram {
    pub(crate) fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            buckets: vec![0; bounds.len() + 1],
            count: 0,
            sum: 0.0,
        }
    }

    /// Adds one observation of `seconds`.
    pub(crate) fn observe(&mut self, seconds: f64) {
        let bucket = self.bounds.partition_point(|&bound| bound < seconds);
        if let Some(slot) = self.buckets.get_mut(bucket) {
            *slot += 1;
        }
        self.count += 1;
        self.sum += seconds;
    }

    /// Adds `other`'s observations, made with the same bounds, to these.
    pub(crate) fn merge(&mut self, other: &Self) {
        for (mine, n) in self.buckets.iter_mut().zip(&other.buckets) {
            *mine += n;
        }
        self.count += other.count;
        self.sum += other.sum;
    }

    /// Returns each bound with the observations at or below it, cumulative, as `le` buckets.
    pub(crate) fn cumulative(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        self.bounds
            .iter()
            .zip(&self.buckets)
            .scan(0, |total, (&bound, &n)| {
                *total += n;
                Some((bound, *total))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_fall_in_their_buckets() {
        let mut histogram = Histogram::new(&[0.1, 1.0]);
        for seconds in [0.05, 0.1, 0.5, 3.0] {
            histogram.observe(seconds);
        }
        let buckets: Vec<_> = histogram.cumulative().collect();
        assert_eq!(buckets, [(0.1, 2), (1.0, 3)]);
        assert_eq!(histogram.count, 4);
        assert!((histogram.sum - 3.65).abs() < 1e-9);
    }
}
