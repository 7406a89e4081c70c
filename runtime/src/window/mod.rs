//! Windows: group a keyed stream's records by time and emit one result per key and window.
//!
//! The pieces, as in Flink:
//! - an [`assigner`] maps a record's timestamp (event time) or the wall clock
//!   (processing time) to [`TimeWindow`]s: tumbling, sliding or session;
//! - a [window function](function) keeps each window's contents (incrementally with reduce or
//!   aggregate, or every record for a process function) and turns them into results;
//! - the window operator (`operator.rs`, on `core.rs`) fires a window when time passes its
//!   end, keeps it for the allowed lateness (re-firing for each late record), then clears it;
//!   records too late for every window they belong to go to the late side output, or are
//!   counted as dropped;
//! - session merging (`merging.rs`) joins a key's session windows that come to overlap;
//! - the window join (`join.rs`) pairs the records of two keyed streams that share a key and a
//!   window.
//!
//! Invariants: a window's contents exist from its first record until its cleanup time
//! (event time: end − 1 + allowed lateness; processing time: end − 1), and exactly one
//! cleanup timer exists per live (key, window). Everything lives on one slot's core.

pub mod assigner;
pub(crate) mod core;
pub mod function;
pub(crate) mod join;
pub(crate) mod merging;
pub(crate) mod operator;
pub(crate) mod store;

pub use assigner::{
    EventTimeSessionWindows, ProcessingTimeSessionWindows, SlidingEventTimeWindows,
    SlidingProcessingTimeWindows, TumblingEventTimeWindows, TumblingProcessingTimeWindows,
    WindowAssigner,
};
pub use function::{ProcessWindowFunction, WindowContext};

use crate::operator::Millis;

/// A half-open time interval `[start, end)` (Flink's TimeWindow).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
)]
pub struct TimeWindow {
    /// First millisecond in the window.
    pub start: Millis,
    /// First millisecond after the window.
    pub end: Millis,
}

impl TimeWindow {
    /// `[start, end)`.
    pub fn new(start: Millis, end: Millis) -> Self {
        TimeWindow { start, end }
    }

    /// The largest timestamp in the window: `end - 1`. Results carry it as their timestamp.
    pub fn max_timestamp(&self) -> Millis {
        self.end.saturating_sub(1)
    }

    /// Whether the windows overlap or touch (Flink merges touching session windows).
    pub fn intersects(&self, other: &TimeWindow) -> bool {
        self.start <= other.end && self.end >= other.start
    }

    /// The smallest window that covers both.
    pub fn cover(&self, other: &TimeWindow) -> TimeWindow {
        TimeWindow::new(self.start.min(other.start), self.end.max(other.end))
    }
}

impl std::fmt::Display for TimeWindow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}, {})", self.start, self.end)
    }
}
