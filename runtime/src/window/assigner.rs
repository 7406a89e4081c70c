//! Window assigners: which windows a record belongs to.
//!
//! Constructors carry Flink's class names (`TumblingEventTimeWindows::of(size)` and so on)
//! and return a [`WindowAssigner`] value. Sizes are checked when the window is added to a
//! job ([`WindowAssigner::check`]), so a bad size is a build error, not a panic.

use super::TimeWindow;
use crate::operator::Millis;
use std::time::Duration;

/// The shape of the windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowShape {
    /// Fixed, non-overlapping windows of `size`, aligned to the epoch plus `offset`.
    Tumbling {
        /// Window length.
        size: Millis,
        /// Shift of the window starts.
        offset: Millis,
    },
    /// Windows of `size` starting every `slide`: a record is in `size / slide` windows.
    Sliding {
        /// Window length.
        size: Millis,
        /// Distance between window starts.
        slide: Millis,
        /// Shift of the window starts.
        offset: Millis,
    },
    /// A window per burst of activity: closes after `gap` without records of its key.
    Session {
        /// Inactivity gap.
        gap: Millis,
    },
}

/// Assigns windows by event time or processing time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowAssigner {
    /// The window shape.
    pub shape: WindowShape,
    /// Event time (record timestamps, watermarks) or processing time (the wall clock).
    pub event_time: bool,
}

fn millis(d: Duration) -> Millis {
    Millis::try_from(d.as_millis()).unwrap_or(Millis::MAX)
}

/// Flink's `TimeWindow.getWindowStartWithOffset`.
pub fn window_start(timestamp: Millis, offset: Millis, size: Millis) -> Millis {
    let rem = (timestamp - offset + size) % size;
    // Flink's formula gives a start after the timestamp for negative remainders; correct it.
    if rem < 0 {
        timestamp - (rem + size)
    } else {
        timestamp - rem
    }
}

impl WindowAssigner {
    /// Whether windows of this assigner can merge (sessions).
    pub fn is_merging(&self) -> bool {
        matches!(self.shape, WindowShape::Session { .. })
    }

    /// Whether a record falls into at most one window: tumbling windows, and sliding ones no
    /// longer than their slide. (Sessions are one window per record too, but they merge.)
    pub fn is_non_overlapping(&self) -> bool {
        match self.shape {
            WindowShape::Tumbling { .. } => true,
            WindowShape::Sliding { size, slide, .. } => size <= slide,
            WindowShape::Session { .. } => false,
        }
    }

    /// Whether this assigner uses event time.
    pub fn is_event_time(&self) -> bool {
        self.event_time
    }

    /// Sets the offset of tumbling or sliding windows (e.g. for time zones).
    pub fn with_offset(mut self, offset: Duration) -> Self {
        match &mut self.shape {
            WindowShape::Tumbling { offset: o, .. } | WindowShape::Sliding { offset: o, .. } => {
                *o = millis(offset)
            }
            WindowShape::Session { .. } => {}
        }
        self
    }

    /// Checks sizes as Flink does: positive sizes, slide and gap; offset smaller than slide.
    pub fn check(&self) -> Result<(), String> {
        match self.shape {
            WindowShape::Tumbling { size, offset } if size <= 0 || offset.abs() >= size => Err(
                format!("tumbling window: size {size} ms must be > 0 and |offset| {offset} ms smaller than it"),
            ),
            WindowShape::Sliding { size, slide, offset }
                if size <= 0 || slide <= 0 || offset.abs() >= slide =>
            {
                Err(format!("sliding window: size {size} ms and slide {slide} ms must be > 0 and |offset| {offset} ms smaller than the slide"))
            }
            WindowShape::Session { gap } if gap <= 0 => {
                Err(format!("session window: gap {gap} ms must be > 0"))
            }
            _ => Ok(()),
        }
    }

    /// Appends the windows of a record at `timestamp` (latest start first, as Flink).
    pub fn assign(&self, timestamp: Millis, out: &mut Vec<TimeWindow>) {
        match self.shape {
            WindowShape::Tumbling { size, offset } => {
                let start = window_start(timestamp, offset, size);
                out.push(TimeWindow::new(start, start.saturating_add(size)));
            }
            WindowShape::Sliding {
                size,
                slide,
                offset,
            } => {
                let mut start = window_start(timestamp, offset, slide);
                while start > timestamp.saturating_sub(size) {
                    out.push(TimeWindow::new(start, start.saturating_add(size)));
                    start -= slide;
                }
            }
            WindowShape::Session { gap } => {
                out.push(TimeWindow::new(timestamp, timestamp.saturating_add(gap)))
            }
        }
    }
}

/// Tumbling windows by record timestamp.
pub struct TumblingEventTimeWindows;
/// Tumbling windows by the wall clock.
pub struct TumblingProcessingTimeWindows;
/// Sliding windows by record timestamp.
pub struct SlidingEventTimeWindows;
/// Sliding windows by the wall clock.
pub struct SlidingProcessingTimeWindows;
/// Session windows by record timestamp.
pub struct EventTimeSessionWindows;
/// Session windows by the wall clock.
pub struct ProcessingTimeSessionWindows;

impl std::fmt::Display for WindowAssigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let time = if self.event_time {
            "EventTime"
        } else {
            "ProcessingTime"
        };
        match self.shape {
            WindowShape::Tumbling { size, .. } => write!(f, "Tumbling{time}Windows({size})"),
            WindowShape::Sliding { size, slide, .. } => {
                write!(f, "Sliding{time}Windows({size}, {slide})")
            }
            WindowShape::Session { gap } => write!(f, "{time}SessionWindows({gap})"),
        }
    }
}

fn tumbling(size: Duration, event_time: bool) -> WindowAssigner {
    WindowAssigner {
        shape: WindowShape::Tumbling {
            size: millis(size),
            offset: 0,
        },
        event_time,
    }
}

fn sliding(size: Duration, slide: Duration, event_time: bool) -> WindowAssigner {
    WindowAssigner {
        shape: WindowShape::Sliding {
            size: millis(size),
            slide: millis(slide),
            offset: 0,
        },
        event_time,
    }
}

fn session(gap: Duration, event_time: bool) -> WindowAssigner {
    WindowAssigner {
        shape: WindowShape::Session { gap: millis(gap) },
        event_time,
    }
}

impl TumblingEventTimeWindows {
    /// Windows of `size`.
    pub fn of(size: Duration) -> WindowAssigner {
        tumbling(size, true)
    }
}
impl TumblingProcessingTimeWindows {
    /// Windows of `size`.
    pub fn of(size: Duration) -> WindowAssigner {
        tumbling(size, false)
    }
}
impl SlidingEventTimeWindows {
    /// Windows of `size` every `slide`.
    pub fn of(size: Duration, slide: Duration) -> WindowAssigner {
        sliding(size, slide, true)
    }
}
impl SlidingProcessingTimeWindows {
    /// Windows of `size` every `slide`.
    pub fn of(size: Duration, slide: Duration) -> WindowAssigner {
        sliding(size, slide, false)
    }
}
impl EventTimeSessionWindows {
    /// Sessions closed by `gap` of inactivity.
    pub fn with_gap(gap: Duration) -> WindowAssigner {
        session(gap, true)
    }
}
impl ProcessingTimeSessionWindows {
    /// Sessions closed by `gap` of inactivity.
    pub fn with_gap(gap: Duration) -> WindowAssigner {
        session(gap, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn windows(a: WindowAssigner, ts: Millis) -> Vec<TimeWindow> {
        let mut v = Vec::new();
        a.assign(ts, &mut v);
        v
    }

    #[test]
    fn tumbling_aligns_to_epoch_and_offset() {
        let a = TumblingEventTimeWindows::of(Duration::from_secs(10));
        assert_eq!(windows(a, 0), vec![TimeWindow::new(0, 10_000)]);
        assert_eq!(windows(a, 9_999), vec![TimeWindow::new(0, 10_000)]);
        assert_eq!(windows(a, 10_000), vec![TimeWindow::new(10_000, 20_000)]);
        assert_eq!(windows(a, -1), vec![TimeWindow::new(-10_000, 0)]);
        let o = a.with_offset(Duration::from_secs(3));
        assert_eq!(windows(o, 2_999), vec![TimeWindow::new(-7_000, 3_000)]);
        assert_eq!(windows(o, 3_000), vec![TimeWindow::new(3_000, 13_000)]);
    }

    #[test]
    fn sliding_gives_size_over_slide_windows() {
        let a = SlidingEventTimeWindows::of(Duration::from_secs(10), Duration::from_secs(2));
        let w = windows(a, 11_000);
        assert_eq!(w.len(), 5);
        assert_eq!(w[0], TimeWindow::new(10_000, 20_000));
        assert_eq!(w[4], TimeWindow::new(2_000, 12_000));
        assert!(w.iter().all(|w| w.start <= 11_000 && 11_000 < w.end));
    }

    #[test]
    fn bad_sizes_are_errors() {
        assert!(TumblingEventTimeWindows::of(Duration::ZERO)
            .check()
            .is_err());
        assert!(
            SlidingEventTimeWindows::of(Duration::from_secs(1), Duration::ZERO)
                .check()
                .is_err()
        );
        assert!(EventTimeSessionWindows::with_gap(Duration::ZERO)
            .check()
            .is_err());
        assert!(TumblingEventTimeWindows::of(Duration::from_secs(1))
            .with_offset(Duration::from_secs(1))
            .check()
            .is_err());
        assert!(TumblingEventTimeWindows::of(Duration::from_secs(1))
            .check()
            .is_ok());
    }
}
