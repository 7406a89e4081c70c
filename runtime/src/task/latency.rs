//! Latency markers: end-to-end latency from record creation to sink (Flink's
//! `metrics.latency.interval`).
//!
//! Every `metrics.latency.interval`, a source task stamps a [`LatencyMarker`] with the
//! wall-clock creation time of the record its reader emitted last
//! ([`SourceReader::latency_stamp`](crate::source::SourceReader::latency_stamp); by default
//! the time of emission) and sends it on one channel of each output, round-robin. A writer
//! holds a marker behind the partly filled buffer of its channel until that buffer goes, so
//! the marker waits exactly as long as the last record before it (buffer timeout included).
//! Every task forwards the markers it receives the same way, without handing them to user
//! functions; a task whose chain ends in a sink records `now − marked_at` in its
//! [`LatencyHistogram`].
//!
//! What it measures is the path (source queues, buffers, channels, the network, operator
//! work on the records ahead of the marker), not time records spend in windows or state.
//!
//! Invariants: stamps are `CLOCK_REALTIME` nanoseconds, so processes on one machine compare;
//! a marker from the future (clock step) records 0. The histogram is a global handle: the
//! task records, anyone may read a [`LatencySummary`].

use hdrhistogram::Histogram;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

pub use strom_net::LatencyMarker;

/// Highest latency the histogram tracks: one hour, in microseconds (more is clamped).
const MAX_US: u64 = 3_600_000_000;

/// Now, in wall-clock nanoseconds since the Unix epoch.
pub fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// The latency quantiles of a histogram, in microseconds.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LatencySummary {
    /// Markers recorded.
    pub count: u64,
    /// Median.
    pub p50_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// Largest.
    pub max_us: u64,
}

impl LatencySummary {
    /// The quantiles of `h`; `None` if it is empty.
    pub fn of(h: &Histogram<u64>) -> Option<Self> {
        (!h.is_empty()).then(|| LatencySummary {
            count: h.len(),
            p50_us: h.value_at_quantile(0.5),
            p99_us: h.value_at_quantile(0.99),
            p999_us: h.value_at_quantile(0.999),
            max_us: h.max(),
        })
    }
}

/// The latencies a sink task recorded (microseconds, 3 significant digits); allocated at the
/// first marker, so tasks without markers carry nothing.
#[derive(Debug, Default)]
pub struct LatencyHistogram(Mutex<Option<Histogram<u64>>>);

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_US, 3).expect("static bounds are valid")
}

impl LatencyHistogram {
    /// Records the latency of `marker` as of `now_ns`.
    pub fn record(&self, marker: &LatencyMarker, now_ns: i64) {
        let us = (now_ns.saturating_sub(marker.marked_at_ns).max(0) / 1000) as u64;
        let mut h = self.0.lock().unwrap_or_else(|e| e.into_inner());
        h.get_or_insert_with(new_histogram)
            .saturating_record(us.min(MAX_US));
    }

    /// The quantiles so far.
    pub fn summary(&self) -> Option<LatencySummary> {
        let h = self.0.lock().unwrap_or_else(|e| e.into_inner());
        h.as_ref().and_then(LatencySummary::of)
    }

    /// Adds what this histogram recorded to `into` (allocating it at the first one).
    pub fn merge_into(&self, into: &mut Option<Histogram<u64>>) {
        let h = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(h) = h.as_ref() {
            // Same bounds on both sides: adding cannot fail.
            let _ = into.get_or_insert_with(new_histogram).add(h);
        }
    }
}

/// When a source task sends its next marker (per-slot).
#[derive(Debug)]
pub(crate) struct MarkerClock {
    interval_ns: i64,
    next_ns: i64,
    source: u32,
}

impl MarkerClock {
    /// Markers every `interval_ms` (0: never) from source subtask `subtask` of `vertex`.
    pub(crate) fn new(interval_ms: u64, vertex: u32, subtask: u32) -> Option<Self> {
        (interval_ms > 0).then(|| MarkerClock {
            interval_ns: i64::try_from(interval_ms.saturating_mul(1_000_000)).unwrap_or(i64::MAX),
            next_ns: now_ns(),
            source: (vertex << 16) | (subtask & 0xffff),
        })
    }

    /// The marker due now, if one is, stamped `stamp_ns` (or now).
    pub(crate) fn due(&mut self, stamp_ns: Option<i64>) -> Option<LatencyMarker> {
        let now = now_ns();
        if now < self.next_ns {
            return None;
        }
        self.next_ns = now.saturating_add(self.interval_ns);
        Some(LatencyMarker {
            marked_at_ns: stamp_ns.unwrap_or(now).min(now),
            source: self.source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_microseconds_and_clamps() {
        let h = LatencyHistogram::default();
        assert_eq!(h.summary(), None);
        for us in 1..=1000i64 {
            let m = LatencyMarker {
                marked_at_ns: 0,
                source: 0,
            };
            h.record(&m, us * 1000);
        }
        // A marker from the future counts as 0 µs (clamped into the histogram's range).
        h.record(
            &LatencyMarker {
                marked_at_ns: 10_000,
                source: 0,
            },
            0,
        );
        let s = h.summary().expect("recorded");
        assert_eq!(s.count, 1001);
        assert!((499..=501).contains(&s.p50_us), "{s:?}");
        assert!((989..=991).contains(&s.p99_us), "{s:?}");
        assert_eq!(s.max_us, 1000);
        let mut merged = None;
        h.merge_into(&mut merged);
        h.merge_into(&mut merged);
        assert_eq!(merged.map(|m| m.len()), Some(2002));
    }

    #[test]
    fn clock_sends_one_marker_per_interval() {
        assert!(MarkerClock::new(0, 1, 2).is_none());
        let mut c = MarkerClock::new(60_000, 3, 7).expect("on");
        let m = c.due(Some(5)).expect("first is due at once");
        assert_eq!(m.marked_at_ns, 5);
        assert_eq!(m.source, (3 << 16) | 7);
        assert!(c.due(None).is_none(), "next one only after a minute");
        // A stamp later than now is clamped to now.
        let mut c = MarkerClock::new(1, 0, 0).expect("on");
        let m = c.due(Some(i64::MAX)).expect("due");
        assert!(m.marked_at_ns <= now_ns());
    }
}
