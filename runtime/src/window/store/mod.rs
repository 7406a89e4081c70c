//! The contents of one subtask's windows, per (key, window), in one of two layouts:
//!
//! - [key-major](by_key) for sliding windows and sessions: a key's windows together, so a
//!   record that falls into several windows finds them all with one lookup of its key;
//! - [window-major](by_window) for tumbling windows: a window's keys together, so a batch
//!   finds its (single, shared) window once and each record probes a compact key table.
//!
//! The layout is chosen once, from the assigner, when the operator is built. Both hold
//! exactly the live (key, window) pairs; everything here lives on one slot's core.

pub(crate) mod by_key;
pub(crate) mod by_window;

use super::{TimeWindow, WindowAssigner};
use crate::state::Key;
use by_key::{KeyMajor, Slots};
use by_window::WindowMajor;

/// Window contents per (key, window) of one subtask (per-slot).
pub(crate) enum WindowStore<K, A> {
    /// A key's windows together (sliding, session).
    ByKey(KeyMajor<K, A>),
    /// A window's keys together (tumbling).
    ByWindow(WindowMajor<K, A>),
}

impl<K: Key, A> WindowStore<K, A> {
    /// The layout for `assigner`'s windows (see the module docs).
    pub(crate) fn for_assigner(assigner: &WindowAssigner) -> Self {
        if assigner.is_non_overlapping() {
            WindowStore::ByWindow(WindowMajor::default())
        } else {
            WindowStore::ByKey(KeyMajor::default())
        }
    }

    /// One key's windows, to add a record to each of its windows: key-major, the key is
    /// looked up once here (and gets an entry if it is new: the caller makes a window live
    /// in it before it looks anything else up); window-major, per window.
    pub(crate) fn key_windows<'a>(&'a mut self, key: &'a K) -> KeyWindows<'a, K, A> {
        match self {
            WindowStore::ByKey(s) => KeyWindows::ByKey(s.slots_mut(key)),
            WindowStore::ByWindow(s) => KeyWindows::ByWindow(s, key),
        }
    }

    /// The contents of (key, window), if the window is live.
    pub(crate) fn get_mut(&mut self, key: &K, w: &TimeWindow) -> Option<&mut A> {
        match self {
            WindowStore::ByKey(s) => s.get_mut(key, w),
            WindowStore::ByWindow(s) => s.get_mut(key, w),
        }
    }

    /// The contents of (key, window), if the window is live.
    pub(crate) fn get(&mut self, key: &K, w: &TimeWindow) -> Option<&A> {
        self.get_mut(key, w).map(|a| &*a)
    }

    /// Makes (key, window) live with `acc` (replacing its contents if it was).
    pub(crate) fn insert(&mut self, key: &K, w: TimeWindow, acc: A) {
        match self {
            WindowStore::ByKey(s) => s.insert(key, w, acc),
            WindowStore::ByWindow(s) => s.insert(key, w, acc),
        }
    }

    /// Removes (key, window) and returns its contents.
    pub(crate) fn remove(&mut self, key: &K, w: &TimeWindow) -> Option<A> {
        match self {
            WindowStore::ByKey(s) => s.remove(key, w),
            WindowStore::ByWindow(s) => s.remove(key, w),
        }
    }
}

/// One key's windows in either layout (see [`WindowStore::key_windows`]).
pub(crate) enum KeyWindows<'a, K, A> {
    /// The key's slots, found once.
    ByKey(&'a mut Slots<A>),
    /// The store and the key, looked up per window.
    ByWindow(&'a mut WindowMajor<K, A>, &'a K),
}

impl<K: Key, A> KeyWindows<'_, K, A> {
    /// The key's contents of window `w`, if it is live.
    pub(crate) fn get_mut(&mut self, w: &TimeWindow) -> Option<&mut A> {
        match self {
            KeyWindows::ByKey(slots) => slots.get_mut(w),
            KeyWindows::ByWindow(store, key) => store.get_mut(key, w),
        }
    }

    /// Makes window `w` live for the key with `a`.
    pub(crate) fn insert(&mut self, w: TimeWindow, a: A) {
        match self {
            KeyWindows::ByKey(slots) => slots.insert(w, a),
            KeyWindows::ByWindow(store, key) => store.insert(key, w, a),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::{
        EventTimeSessionWindows, SlidingEventTimeWindows, TumblingProcessingTimeWindows,
    };
    use std::time::Duration;

    #[test]
    fn tumbling_windows_are_stored_by_window_the_others_by_key() {
        let s = Duration::from_secs(1);
        let tumbling = TumblingProcessingTimeWindows::of(s);
        let sliding = SlidingEventTimeWindows::of(s * 2, s);
        let session = EventTimeSessionWindows::with_gap(s);
        let layout = |a: &WindowAssigner| match WindowStore::<u32, u64>::for_assigner(a) {
            WindowStore::ByKey(_) => "key",
            WindowStore::ByWindow(_) => "window",
        };
        assert_eq!(layout(&tumbling), "window");
        assert_eq!(layout(&sliding), "key");
        assert_eq!(layout(&session), "key");
        // A sliding assigner whose slide equals its size is tumbling.
        assert_eq!(layout(&SlidingEventTimeWindows::of(s, s)), "window");
    }

    #[test]
    fn both_layouts_hold_the_same_pairs() {
        let a = TimeWindow::new(0, 10);
        let b = TimeWindow::new(10, 20);
        for mut s in [
            WindowStore::ByKey(KeyMajor::default()),
            WindowStore::<u32, u64>::ByWindow(WindowMajor::default()),
        ] {
            s.insert(&1, a, 1);
            s.insert(&2, a, 2);
            s.insert(&1, b, 3);
            if let Some(x) = s.get_mut(&2, &a) {
                *x += 10;
            }
            assert_eq!(s.get(&2, &a), Some(&12));
            assert_eq!(s.remove(&1, &a), Some(1));
            assert_eq!(s.get(&1, &a), None);
            assert_eq!(s.get(&1, &b), Some(&3));
            assert_eq!(s.remove(&2, &b), None);
        }
    }
}
