//! A timer queue per time domain of a keyed operator: at most one timer per (key, time).
//!
//! Timers are kept by time, each time with its keys in registration order. Keeping one timer
//! per (key, time) takes a set of the pending pairs, and with many keys that set is the cost
//! of a timer (a cache miss to register and another to fire). An owner that never registers
//! a pair that is already pending (the window operator with tumbling or sliding windows:
//! a window's timers are registered once, when the window is created) uses
//! [`TimerQueue::unique`], which keeps no set.
//!
//! Invariant: `len` is the number of timers in `by_time`; with a set, the set holds exactly
//! the pending pairs.

use crate::operator::Millis;
use crate::state::Key;
use std::collections::{BTreeMap, HashSet};

/// Timers ordered by time; registering the same (key, time) twice keeps one.
pub struct TimerQueue<K> {
    by_time: BTreeMap<Millis, Vec<K>>,
    /// The pending (time, key) pairs; `None` for a [`TimerQueue::unique`] queue.
    present: Option<HashSet<(Millis, K), rustc_hash::FxBuildHasher>>,
    len: usize,
}

impl<K: Key> Default for TimerQueue<K> {
    fn default() -> Self {
        TimerQueue {
            by_time: BTreeMap::new(),
            present: Some(HashSet::default()),
            len: 0,
        }
    }
}

impl<K: Key> TimerQueue<K> {
    /// A queue whose owner never registers a (key, time) that is already pending: it keeps
    /// no set of pending pairs, so registering and firing touch only the time's list. A pair
    /// registered twice would fire twice.
    pub fn unique() -> Self {
        TimerQueue {
            by_time: BTreeMap::new(),
            present: None,
            len: 0,
        }
    }

    /// Registers a timer; returns false if it already existed (always true for a
    /// [`TimerQueue::unique`] queue, which does not look).
    pub fn register(&mut self, key: K, at: Millis) -> bool {
        if let Some(present) = &mut self.present {
            if !present.insert((at, key.clone())) {
                return false;
            }
        }
        self.by_time.entry(at).or_default().push(key);
        self.len += 1;
        true
    }

    /// Deletes a timer; returns whether it existed.
    pub fn delete(&mut self, key: &K, at: Millis) -> bool {
        if let Some(present) = &mut self.present {
            if !present.remove(&(at, key.clone())) {
                return false;
            }
        }
        let Some(keys) = self.by_time.get_mut(&at) else {
            return false;
        };
        let before = keys.len();
        keys.retain(|k| k != key);
        let removed = before - keys.len();
        if keys.is_empty() {
            self.by_time.remove(&at);
        }
        self.len -= removed;
        removed > 0
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
        if let Some(present) = &mut self.present {
            present.remove(&(at, key.clone()));
        }
        self.len -= 1;
        Some((at, key))
    }

    /// The earliest timer time.
    pub fn next(&self) -> Option<Millis> {
        self.by_time.keys().next().copied()
    }

    /// Number of timers.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no timers.
    pub fn is_empty(&self) -> bool {
        self.len == 0
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

    #[test]
    fn a_unique_queue_fires_what_a_deduplicating_one_fires_when_nothing_repeats() {
        let (mut unique, mut dedup) = (TimerQueue::unique(), TimerQueue::default());
        for i in 0..1000u64 {
            let at = (i * 7 % 13) as Millis;
            assert!(unique.register(i, at));
            assert!(dedup.register(i, at));
        }
        for i in (0..1000u64).step_by(3) {
            let at = (i * 7 % 13) as Millis;
            assert!(unique.delete(&i, at));
            assert!(dedup.delete(&i, at));
            assert!(!unique.delete(&i, at), "deleted twice");
        }
        assert!(!unique.delete(&1, 99), "no such time");
        assert_eq!(unique.len(), dedup.len());
        assert_eq!(unique.next(), dedup.next());
        let mut fired = Vec::new();
        while let Some(t) = unique.pop_due(6) {
            assert_eq!(Some(t), dedup.pop_due(6));
            fired.push(t);
        }
        assert_eq!(dedup.pop_due(6), None);
        assert!(fired.windows(2).all(|w| w[0].0 <= w[1].0), "in time order");
        assert!(fired.iter().all(|&(at, _)| at <= 6));
        assert_eq!(unique.len(), dedup.len());
        assert_eq!(unique.len() + fired.len(), 1000 - 334);
        // A timer registered again after it fired fires again, in both.
        let (at, key) = fired[0];
        assert!(unique.register(key, at) && dedup.register(key, at));
        assert_eq!(unique.pop_due(at), Some((at, key)));
        assert_eq!(dedup.pop_due(at), Some((at, key)));
    }
}
