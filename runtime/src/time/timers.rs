//! A timer queue per time domain of a keyed operator: at most one timer per (key, time).

use crate::operator::Millis;
use crate::state::Key;
use std::collections::{BTreeMap, HashSet};

/// Timers ordered by time; registering the same (key, time) twice keeps one.
pub struct TimerQueue<K> {
    by_time: BTreeMap<Millis, Vec<K>>,
    present: HashSet<(Millis, K), rustc_hash::FxBuildHasher>,
}

impl<K: Key> Default for TimerQueue<K> {
    fn default() -> Self {
        TimerQueue {
            by_time: BTreeMap::new(),
            present: HashSet::default(),
        }
    }
}

impl<K: Key> TimerQueue<K> {
    /// Registers a timer; returns false if it already existed.
    pub fn register(&mut self, key: K, at: Millis) -> bool {
        if !self.present.insert((at, key.clone())) {
            return false;
        }
        self.by_time.entry(at).or_default().push(key);
        true
    }

    /// Deletes a timer; returns whether it existed.
    pub fn delete(&mut self, key: &K, at: Millis) -> bool {
        if !self.present.remove(&(at, key.clone())) {
            return false;
        }
        if let Some(keys) = self.by_time.get_mut(&at) {
            keys.retain(|k| k != key);
            if keys.is_empty() {
                self.by_time.remove(&at);
            }
        }
        true
    }

    /// Removes and returns the earliest timer due at or before `until`.
    pub fn pop_due(&mut self, until: Millis) -> Option<(Millis, K)> {
        let mut entry = self.by_time.first_entry()?;
        let at = *entry.key();
        if at > until {
            return None;
        }
        let key = entry.get_mut().pop()?;
        if entry.get().is_empty() {
            entry.remove();
        }
        self.present.remove(&(at, key.clone()));
        Some((at, key))
    }

    /// The earliest timer time.
    pub fn next(&self) -> Option<Millis> {
        self.by_time.keys().next().copied()
    }

    /// Number of timers.
    pub fn len(&self) -> usize {
        self.present.len()
    }

    /// Whether there are no timers.
    pub fn is_empty(&self) -> bool {
        self.present.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_in_time_order_once() {
        let mut q = TimerQueue::default();
        assert!(q.register("a", 10));
        assert!(!q.register("a", 10));
        q.register("b", 5);
        q.register("c", 20);
        assert!(q.delete(&"c", 20));
        assert_eq!(q.pop_due(9), Some((5, "b")));
        assert_eq!(q.pop_due(9), None);
        assert_eq!(q.pop_due(100), Some((10, "a")));
        assert!(q.is_empty());
    }
}
