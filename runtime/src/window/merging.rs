//! Session windows of one key, merged as they come to overlap (Flink's MergingWindowSet).
//!
//! Invariant: the windows of a set are pairwise disjoint and not touching (windows that
//! touch merge, as Flink's `TimeWindow.intersects`), kept sorted by start. Adding a window
//! therefore merges with exactly the windows it intersects, in one pass.

use super::TimeWindow;

/// The live session windows of one key.
#[derive(Debug, Default, Clone)]
pub(crate) struct SessionSet {
    windows: Vec<TimeWindow>,
}

impl SessionSet {
    /// Whether `w` would merge with a live window.
    pub(crate) fn intersects_any(&self, w: &TimeWindow) -> bool {
        self.windows.iter().any(|x| x.intersects(w))
    }

    /// Adds `w`, merging it with every live window it intersects. Returns the resulting
    /// window (now live) and the windows it absorbed (no longer live).
    pub(crate) fn add(&mut self, w: TimeWindow) -> (TimeWindow, Vec<TimeWindow>) {
        let mut merged = w;
        let mut absorbed = Vec::new();
        self.windows.retain(|x| {
            if x.intersects(&w) {
                merged = merged.cover(x);
                absorbed.push(*x);
                false
            } else {
                true
            }
        });
        let at = self.windows.partition_point(|x| x.start < merged.start);
        self.windows.insert(at, merged);
        (merged, absorbed)
    }

    /// Removes a live window; returns whether it was live.
    pub(crate) fn remove(&mut self, w: &TimeWindow) -> bool {
        match self.windows.iter().position(|x| x == w) {
            Some(i) => {
                self.windows.remove(i);
                true
            }
            None => false,
        }
    }

    /// Whether no window is live.
    pub(crate) fn is_empty(&self) -> bool {
        self.windows.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: i64, e: i64) -> TimeWindow {
        TimeWindow::new(s, e)
    }

    #[test]
    fn merges_overlapping_and_touching_windows() {
        let mut s = SessionSet::default();
        assert_eq!(s.add(w(0, 10)), (w(0, 10), vec![]));
        assert_eq!(s.add(w(30, 40)), (w(30, 40), vec![]));
        // Touches [0,10) and overlaps nothing else.
        assert_eq!(s.add(w(10, 20)), (w(0, 20), vec![w(0, 10)]));
        // Bridges the two sessions.
        let (m, mut a) = s.add(w(15, 30));
        a.sort();
        assert_eq!((m, a), (w(0, 40), vec![w(0, 20), w(30, 40)]));
        assert!(s.remove(&w(0, 40)));
        assert!(s.is_empty());
    }

    #[test]
    fn disjoint_windows_stay_sorted() {
        let mut s = SessionSet::default();
        s.add(w(50, 60));
        s.add(w(0, 10));
        s.add(w(20, 30));
        assert_eq!(s.windows, vec![w(0, 10), w(20, 30), w(50, 60)]);
        assert!(s.intersects_any(&w(5, 6)));
        assert!(!s.intersects_any(&w(35, 45)));
    }
}
