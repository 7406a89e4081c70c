//! The key-major layout: each key's live windows, found with one lookup of the key.
//!
//! Keyed by the record's key alone (one hash of the key per record, looked up by reference,
//! no key clone), each key holds its live windows: the first inline, further ones in a
//! vector. A record that falls into several windows (sliding) finds them all with one lookup
//! ([`KeyMajor::slots_mut`]). A key whose last window is removed leaves the table, so memory
//! follows the live windows.

use crate::state::key_ref::table_hash;
use crate::state::Key;
use crate::window::TimeWindow;

/// The live windows of one key.
pub(crate) struct Slots<A> {
    first: Option<(TimeWindow, A)>,
    rest: Vec<(TimeWindow, A)>,
}

impl<A> Slots<A> {
    /// No windows.
    fn empty() -> Self {
        Slots {
            first: None,
            rest: Vec::new(),
        }
    }

    /// The contents of window `w`, if it is live.
    pub(crate) fn get_mut(&mut self, w: &TimeWindow) -> Option<&mut A> {
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

    /// Makes window `w` live with `a` (replacing its contents if it was).
    pub(crate) fn insert(&mut self, w: TimeWindow, a: A) {
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

/// Window contents per key, then per window (per-slot).
pub(crate) struct KeyMajor<K, A> {
    by_key: hashbrown::HashTable<(K, Slots<A>)>,
}

impl<K, A> Default for KeyMajor<K, A> {
    fn default() -> Self {
        KeyMajor {
            by_key: hashbrown::HashTable::new(),
        }
    }
}

impl<K: Key, A> KeyMajor<K, A> {
    /// The contents of (key, window), if the window is live.
    pub(crate) fn get_mut(&mut self, key: &K, w: &TimeWindow) -> Option<&mut A> {
        let (_, slots) = self.by_key.find_mut(table_hash(key), |(k, _)| k == key)?;
        slots.get_mut(w)
    }

    /// The live windows of `key`, with no window yet if the key is new. The caller makes a
    /// window live in them before it looks anything else up (a key without windows must
    /// not stay in the table).
    pub(crate) fn slots_mut(&mut self, key: &K) -> &mut Slots<A> {
        let entry = self
            .by_key
            .entry(table_hash(key), |(k, _)| k == key, |(k, _)| table_hash(k));
        &mut entry
            .or_insert_with(|| (key.clone(), Slots::empty()))
            .into_mut()
            .1
    }

    /// Makes (key, window) live with `acc` (replacing its contents if it was).
    pub(crate) fn insert(&mut self, key: &K, w: TimeWindow, acc: A) {
        self.slots_mut(key).insert(w, acc);
    }

    /// Removes (key, window) and returns its contents.
    pub(crate) fn remove(&mut self, key: &K, w: &TimeWindow) -> Option<A> {
        let Ok(mut entry) = self.by_key.find_entry(table_hash(key), |(k, _)| k == key) else {
            return None;
        };
        let a = entry.get_mut().1.remove(w);
        if entry.get().1.is_empty() {
            entry.remove();
        }
        a
    }

    /// Number of keys with live windows.
    #[cfg(test)]
    fn keys(&self) -> usize {
        self.by_key.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_of_a_key_come_and_go() {
        let mut s: KeyMajor<u64, u32> = KeyMajor::default();
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
        assert_eq!(s.get_mut(&1, &b).copied(), Some(12));
        assert_eq!(s.get_mut(&1, &a).copied(), None);
        assert_eq!(s.remove(&1, &c), Some(3));
        assert_eq!(s.remove(&1, &b), Some(12));
        assert_eq!(s.keys(), 1, "an empty key leaves the table");
        assert_eq!(s.get_mut(&2, &a).copied(), Some(9));
        let slots = s.slots_mut(&3);
        assert!(slots.get_mut(&a).is_none());
        slots.insert(a, 4);
        slots.insert(b, 5);
        assert_eq!(s.get_mut(&3, &a).copied(), Some(4));
        assert_eq!(s.get_mut(&3, &b).copied(), Some(5));
        assert_eq!(s.keys(), 2);
    }
}
