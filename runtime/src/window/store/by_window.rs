//! The window-major layout: each live window's table of keys, for windows that a whole
//! batch shares.
//!
//! A tumbling window is shared by every key whose records fall into it, and a batch of
//! records with one timestamp falls into one window. Looked up window first, a batch finds
//! its window's table once ([`WindowMajor::table_mut`]) and each record then probes a table
//! whose buckets hold only a key and its contents: for `u32` keys and a count, 16 bytes
//! against 64 in the key-major layout, whose buckets carry room for several windows. With
//! 10,000 keys that is the difference between a table in L2 and one that misses it
//! (DS-W2's window add was half the slot's time, on the key-major bucket's first load).
//!
//! Windows are few (one or two per tumbling assigner, more with allowed lateness), so they
//! are found by a linear scan. A window whose last key is removed leaves the store, but its
//! emptied table is kept (at most [`SPARE_TABLES`]) for the next window: a fresh table
//! grows by rehashing into freshly faulted memory (in a short DS-W2 run, whose first
//! window's table grows so, perf puts 7% in `reserve_rehash` → page faults →
//! `clear_page_erms`), and a long run would pay that at every window boundary.

use crate::state::key_ref::table_hash;
use crate::state::Key;
use crate::window::TimeWindow;

/// The keys of one window and their contents.
pub(crate) struct KeyTable<K, A> {
    table: hashbrown::HashTable<(K, A)>,
}

impl<K: Key, A> KeyTable<K, A> {
    /// The contents of `key`, if it has any in this window.
    #[inline]
    pub(crate) fn get_mut(&mut self, key: &K) -> Option<&mut A> {
        self.table
            .find_mut(table_hash(key), |(k, _)| k == key)
            .map(|(_, a)| a)
    }

    /// Finds `key`'s contents with one lookup and hands them to `f` (`None` if the key has
    /// none in this window); what `f` returns for a new key becomes its contents. Returns
    /// the stored key if one was added.
    #[inline]
    pub(crate) fn upsert<E>(
        &mut self,
        key: K,
        f: impl FnOnce(Option<&mut A>) -> Result<Option<A>, E>,
    ) -> Result<Option<&K>, E> {
        let entry = self
            .table
            .entry(table_hash(&key), |(k, _)| *k == key, |(k, _)| table_hash(k));
        match entry {
            hashbrown::hash_table::Entry::Occupied(mut e) => {
                f(Some(&mut e.get_mut().1))?;
                Ok(None)
            }
            hashbrown::hash_table::Entry::Vacant(e) => match f(None)? {
                Some(a) => Ok(Some(&e.insert((key, a)).into_mut().0)),
                None => Ok(None),
            },
        }
    }

    fn insert(&mut self, key: K, a: A) {
        match self.get_mut(&key) {
            Some(old) => *old = a,
            None => {
                self.table
                    .insert_unique(table_hash(&key), (key, a), |(k, _)| table_hash(k));
            }
        }
    }

    fn remove(&mut self, key: &K) -> Option<A> {
        let entry = self
            .table
            .find_entry(table_hash(key), |(k, _)| k == key)
            .ok()?;
        Some(entry.remove().0 .1)
    }

    fn is_empty(&self) -> bool {
        self.table.is_empty()
    }
}

/// How many emptied key tables a store keeps for the windows to come.
const SPARE_TABLES: usize = 2;

/// Window contents per window, then per key (per-slot).
pub(crate) struct WindowMajor<K, A> {
    windows: Vec<(TimeWindow, KeyTable<K, A>)>,
    /// Emptied tables of windows that left, with their capacity (at most `SPARE_TABLES`).
    spare: Vec<KeyTable<K, A>>,
}

impl<K, A> Default for WindowMajor<K, A> {
    fn default() -> Self {
        WindowMajor {
            windows: Vec::new(),
            spare: Vec::new(),
        }
    }
}

impl<K: Key, A> WindowMajor<K, A> {
    fn position(&self, w: &TimeWindow) -> Option<usize> {
        self.windows.iter().position(|(x, _)| x == w)
    }

    /// The table of window `w`, created empty if the window is not live. The caller adds a
    /// key to it before it removes anything (an empty window must not stay in the store).
    pub(crate) fn table_mut(&mut self, w: TimeWindow) -> &mut KeyTable<K, A> {
        let i = match self.position(&w) {
            Some(i) => i,
            None => {
                let table = self.spare.pop().unwrap_or_else(|| KeyTable {
                    table: hashbrown::HashTable::new(),
                });
                self.windows.push((w, table));
                self.windows.len() - 1
            }
        };
        &mut self.windows[i].1
    }

    /// The contents of (key, window), if the window is live for the key.
    pub(crate) fn get_mut(&mut self, key: &K, w: &TimeWindow) -> Option<&mut A> {
        let i = self.position(w)?;
        self.windows[i].1.get_mut(key)
    }

    /// Makes (key, window) live with `acc` (replacing its contents if it was).
    pub(crate) fn insert(&mut self, key: &K, w: TimeWindow, acc: A) {
        self.table_mut(w).insert(key.clone(), acc);
    }

    /// Removes (key, window) and returns its contents.
    pub(crate) fn remove(&mut self, key: &K, w: &TimeWindow) -> Option<A> {
        let i = self.position(w)?;
        let a = self.windows[i].1.remove(key);
        if self.windows[i].1.is_empty() {
            let (_, table) = self.windows.swap_remove(i);
            if self.spare.len() < SPARE_TABLES {
                self.spare.push(table);
            }
        }
        a
    }

    /// Number of live windows.
    #[cfg(test)]
    fn windows(&self) -> usize {
        self.windows.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_a_window_come_and_go_and_an_empty_window_leaves() {
        let mut s: WindowMajor<u32, u64> = WindowMajor::default();
        let (a, b) = (TimeWindow::new(0, 10), TimeWindow::new(10, 20));
        let t = s.table_mut(a);
        let add = |x: Option<&mut u64>, new: u64| -> Result<Option<u64>, ()> {
            match x {
                Some(x) => {
                    *x += 1;
                    Ok(None)
                }
                None => Ok(Some(new)),
            }
        };
        assert_eq!(t.upsert(1, |x| add(x, 10)), Ok(Some(&1)), "created");
        assert_eq!(t.upsert(1, |x| add(x, 10)), Ok(None), "added to");
        assert_eq!(t.upsert(2, |x| add(x, 20)), Ok(Some(&2)));
        assert_eq!(t.upsert(3, |_| Err(())), Err(()), "a failed create");
        assert_eq!(
            t.upsert(4, |_| Ok::<_, ()>(None)),
            Ok(None),
            "nothing to store"
        );
        s.insert(&1, b, 5);
        assert_eq!(s.windows(), 2);
        assert_eq!(s.get_mut(&1, &a).copied(), Some(11));
        assert_eq!(
            s.get_mut(&3, &a).copied(),
            None,
            "nothing stored when create fails"
        );
        assert_eq!(s.get_mut(&4, &a).copied(), None);
        assert_eq!(s.remove(&1, &a), Some(11));
        assert_eq!(s.remove(&1, &a), None);
        assert_eq!(s.remove(&2, &a), Some(20));
        assert_eq!(s.windows(), 1, "window a left with its last key");
        assert_eq!(s.get_mut(&2, &a), None);
        s.insert(&1, b, 6);
        assert_eq!(s.remove(&1, &b), Some(6), "insert replaces");
        assert_eq!(s.windows(), 0);
    }

    #[test]
    fn a_new_window_takes_an_emptied_table_with_its_capacity() {
        let mut s: WindowMajor<u32, u64> = WindowMajor::default();
        let (a, b) = (TimeWindow::new(0, 10), TimeWindow::new(10, 20));
        for k in 0..1000 {
            s.insert(&k, a, 1);
        }
        for k in 0..1000 {
            assert_eq!(s.remove(&k, &a), Some(1));
        }
        assert_eq!((s.windows(), s.spare.len()), (0, 1));
        let t = s.table_mut(b);
        assert!(t.table.is_empty(), "nothing of window a is left");
        assert!(t.table.capacity() >= 1000, "the capacity is kept");
        assert!(s.spare.is_empty());
        assert_eq!(s.get_mut(&1, &a), None);
    }
}
