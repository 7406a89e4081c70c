//! The contents of one subtask's windows, by key and then by window.
//!
//! Keyed by the record's key alone (one hash of the key per record, looked up by reference,
//! no key clone), each key holds its live windows: the first inline (a tumbling window has
//! one live window per key most of the time), further ones in a vector. A key whose last
//! window is removed leaves the map, so memory follows the live windows.

use super::TimeWindow;
use crate::state::Key;
use rustc_hash::FxHashMap;

/// The live windows of one key.
struct Slots<A> {
    first: Option<(TimeWindow, A)>,
    rest: Vec<(TimeWindow, A)>,
}

impl<A> Slots<A> {
    fn get_mut(&mut self, w: &TimeWindow) -> Option<&mut A> {
        match &mut self.first {
            Some((fw, a)) if fw == w => return Some(a),
            _ => {}
        }
        self.rest.iter_mut().find(|(x, _)| x == w).map(|(_, a)| a)
    }

    fn remove(&mut self, w: &TimeWindow) -> Option<A> {
        if matches!(&self.first, Some((fw, _)) if fw == w) {
            let (_, a) = self.first.take()?;
            self.first = self.rest.pop();
            return Some(a);
        }
        let i = self.rest.iter().position(|(x, _)| x == w)?;
        Some(self.rest.swap_remove(i).1)
    }

    fn insert(&mut self, w: TimeWindow, a: A) {
        if let Some(old) = self.get_mut(&w) {
            *old = a;
        } else if self.first.is_none() {
            self.first = Some((w, a));
        } else {
            self.rest.push((w, a));
        }
    }

    fn is_empty(&self) -> bool {
        self.first.is_none()
    }
}

/// Window contents per (key, window) of one subtask (per-slot).
pub(crate) struct WindowStore<K, A> {
    by_key: FxHashMap<K, Slots<A>>,
}

impl<K, A> Default for WindowStore<K, A> {
    fn default() -> Self {
        WindowStore {
            by_key: FxHashMap::default(),
        }
    }
}

impl<K: Key, A> WindowStore<K, A> {
    /// The contents of (key, window), if the window is live.
    pub(crate) fn get_mut(&mut self, key: &K, w: &TimeWindow) -> Option<&mut A> {
        self.by_key.get_mut(key)?.get_mut(w)
    }

    /// The contents of (key, window), if the window is live.
    pub(crate) fn get(&mut self, key: &K, w: &TimeWindow) -> Option<&A> {
        self.get_mut(key, w).map(|a| &*a)
    }

    /// Makes (key, window) live with `acc` (replacing its contents if it was).
    pub(crate) fn insert(&mut self, key: &K, w: TimeWindow, acc: A) {
        match self.by_key.get_mut(key) {
            Some(slots) => slots.insert(w, acc),
            None => {
                self.by_key.insert(
                    key.clone(),
                    Slots {
                        first: Some((w, acc)),
                        rest: Vec::new(),
                    },
                );
            }
        }
    }

    /// Removes (key, window) and returns its contents.
    pub(crate) fn remove(&mut self, key: &K, w: &TimeWindow) -> Option<A> {
        let slots = self.by_key.get_mut(key)?;
        let a = slots.remove(w);
        if slots.is_empty() {
            self.by_key.remove(key);
        }
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_of_a_key_come_and_go() {
        let mut s: WindowStore<u64, u32> = WindowStore::default();
        let (a, b, c) = (
            TimeWindow::new(0, 10),
            TimeWindow::new(10, 20),
            TimeWindow::new(20, 30),
        );
        s.insert(&1, a, 1);
        s.insert(&1, b, 2);
        s.insert(&1, c, 3);
        s.insert(&2, a, 9);
        *s.get_mut(&1, &b).unwrap() += 10;
        assert_eq!(s.remove(&1, &a), Some(1));
        assert_eq!(s.get(&1, &b), Some(&12));
        assert_eq!(s.get(&1, &a), None);
        assert_eq!(s.remove(&1, &c), Some(3));
        assert_eq!(s.remove(&1, &b), Some(12));
        assert!(!s.by_key.contains_key(&1), "an empty key leaves the map");
        assert_eq!(s.get(&2, &a), Some(&9));
    }
}
