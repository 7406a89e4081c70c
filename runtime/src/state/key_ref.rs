//! Borrowed keys: finding a record's keyed state without building an owned key.
//!
//! `key_by(|w: &String| w.clone())` builds a new `String` for every record, twice: once to
//! route it and once to look up its state. `key_by_ref(|w: &String| w.as_str())` borrows
//! the key from the record instead; routing hashes the borrowed key and the keyed rolling
//! operators (reduce, aggregate) find the key's slot by it ([`KeySlots::of_record`]), so an
//! owned key is built only for the first record of each key.
//!
//! The selector's type is erased behind [`KeyLookup`] (a keyed stream does not carry it),
//! so each lookup method is a dynamic call; a batch gets all its hashes in one call
//! ([`KeyLookup::hash_all`]) and then probes with them ([`KeySlots::of_hashed_record`]).
//!
//! Invariant: the hash of a borrowed key equals the hash of its owned form (what
//! [`Borrow`] promises for `Hash` and `Eq`), so a key routes to the same key group and finds
//! the same slot whichever form it is looked up by. Everything here lives on one slot
//! (per-slot: no `Send`).

use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash};
use std::marker::PhantomData;

/// The table hash of a key (or of its borrowed form): FxHash, the same in every process.
#[inline]
pub fn table_hash<Q: Hash + ?Sized>(key: &Q) -> u64 {
    rustc_hash::FxBuildHasher.hash_one(key)
}

/// Looks a record's key up by reference (see the module docs).
pub trait KeyLookup<T, K> {
    /// [`table_hash`] of the record's key.
    fn hash(&self, record: &T) -> u64;
    /// Whether `key` is the record's key.
    fn is_key_of(&self, key: &K, record: &T) -> bool;
    /// The record's key, owned.
    fn key(&self, record: &T) -> K;
    /// [`table_hash`] of each record's key, appended to `out`: one dynamic call for a
    /// batch, the loop compiled where the key's type is known.
    fn hash_all(&self, records: &[T], out: &mut Vec<u64>) {
        out.extend(records.iter().map(|r| self.hash(r)));
    }
}

/// A selector that borrows `&Q` from a record; its owned key is `Q::Owned`.
pub struct BorrowedKey<F, Q: ?Sized> {
    f: F,
    _q: PhantomData<fn(&Q)>,
}

impl<F, Q: ?Sized> BorrowedKey<F, Q> {
    /// Wraps a selector that borrows the key from the record.
    pub fn new<T>(f: F) -> Self
    where
        F: for<'a> Fn(&'a T) -> &'a Q,
    {
        BorrowedKey { f, _q: PhantomData }
    }
}

impl<T, Q, F> KeyLookup<T, Q::Owned> for BorrowedKey<F, Q>
where
    Q: ?Sized + Hash + Eq + ToOwned,
    Q::Owned: Borrow<Q>,
    F: for<'a> Fn(&'a T) -> &'a Q,
{
    #[inline]
    fn hash(&self, record: &T) -> u64 {
        table_hash((self.f)(record))
    }
    #[inline]
    fn is_key_of(&self, key: &Q::Owned, record: &T) -> bool {
        key.borrow() == (self.f)(record)
    }
    #[inline]
    fn key(&self, record: &T) -> Q::Owned {
        (self.f)(record).to_owned()
    }
    fn hash_all(&self, records: &[T], out: &mut Vec<u64>) {
        out.extend(records.iter().map(|r| table_hash((self.f)(r))));
    }
}

/// One value slot per key, found by an owned key or by a record's borrowed key.
///
/// Slots hold `Option`s so a value can be taken out, folded and put back with one lookup.
pub struct KeySlots<K, V> {
    table: hashbrown::HashTable<(K, Option<V>)>,
}

impl<K, V> Default for KeySlots<K, V> {
    fn default() -> Self {
        KeySlots {
            table: hashbrown::HashTable::new(),
        }
    }
}

impl<K: Hash + Eq, V> KeySlots<K, V> {
    /// The slot of `key`, created empty if the key is new.
    #[inline]
    pub fn of_key(&mut self, key: K) -> &mut Option<V> {
        let h = table_hash(&key);
        let e = self
            .table
            .entry(h, |(k, _)| *k == key, |(k, _)| table_hash(k));
        &mut e.or_insert_with(|| (key, None)).into_mut().1
    }

    /// The slot of `record`'s key, created empty (with the key made owned) if it is new.
    #[inline]
    pub fn of_record<T>(&mut self, lookup: &dyn KeyLookup<T, K>, record: &T) -> &mut Option<V> {
        let h = lookup.hash(record);
        let e = self.table.entry(
            h,
            |(k, _)| lookup.is_key_of(k, record),
            |(k, _)| table_hash(k),
        );
        &mut e.or_insert_with(|| (lookup.key(record), None)).into_mut().1
    }

    /// [`Self::of_record`] with the key's hash already known (from [`KeyLookup::hash_all`]).
    #[inline]
    pub fn of_hashed_record<T>(
        &mut self,
        lookup: &dyn KeyLookup<T, K>,
        record: &T,
        hash: u64,
    ) -> &mut Option<V> {
        let e = self.table.entry(
            hash,
            |(k, _)| lookup.is_key_of(k, record),
            |(k, _)| table_hash(k),
        );
        &mut e.or_insert_with(|| (lookup.key(record), None)).into_mut().1
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether no key has a slot.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_borrowed_key_finds_the_slot_of_its_owned_form() {
        let lookup = BorrowedKey::new(|r: &(String, u32)| r.0.as_str());
        let mut slots: KeySlots<String, u32> = KeySlots::default();
        *slots.of_key("a".to_owned()) = Some(1);
        let rec = ("a".to_owned(), 7);
        assert_eq!(*slots.of_record(&lookup, &rec), Some(1));
        let new = ("b".to_owned(), 8);
        assert_eq!(
            *slots.of_record(&lookup, &new),
            None,
            "a new key gets an empty slot"
        );
        *slots.of_record(&lookup, &new) = Some(2);
        assert_eq!(*slots.of_key("b".to_owned()), Some(2));
        assert_eq!(slots.len(), 2);
        assert_eq!(table_hash("a"), table_hash(&"a".to_owned()));
    }

    /// A lookup that keeps the trait's default `hash_all`.
    struct ByFirst;
    impl KeyLookup<(String, u32), String> for ByFirst {
        fn hash(&self, r: &(String, u32)) -> u64 {
            table_hash(r.0.as_str())
        }
        fn is_key_of(&self, key: &String, r: &(String, u32)) -> bool {
            *key == r.0
        }
        fn key(&self, r: &(String, u32)) -> String {
            r.0.clone()
        }
    }

    #[test]
    fn hashes_of_a_batch_find_the_slots_one_record_finds() {
        let borrowed = BorrowedKey::new(|r: &(String, u32)| r.0.as_str());
        let batch: Vec<(String, u32)> = (0..100).map(|i| (format!("k{}", i % 7), i)).collect();
        for lookup in [&borrowed as &dyn KeyLookup<_, String>, &ByFirst] {
            let mut hashes = vec![42];
            lookup.hash_all(&batch, &mut hashes);
            assert_eq!(hashes[0], 42, "appended");
            let want: Vec<u64> = batch.iter().map(|r| lookup.hash(r)).collect();
            assert_eq!(hashes[1..], want[..]);
            let mut slots: KeySlots<String, u32> = KeySlots::default();
            for (r, &h) in batch.iter().zip(&hashes[1..]) {
                let s = slots.of_hashed_record(lookup, r, h);
                *s = Some(s.unwrap_or(0) + 1);
            }
            assert_eq!(slots.len(), 7);
            let r = ("k3".to_owned(), 0);
            assert_eq!(
                *slots.of_record(lookup, &r),
                Some(14),
                "k3 is every 7th of 100"
            );
        }
    }

    #[test]
    fn many_keys_keep_their_own_slots() {
        let lookup = BorrowedKey::new(|r: &String| r.as_str());
        let mut slots: KeySlots<String, u64> = KeySlots::default();
        for round in 0..3u64 {
            for i in 0..10_000u64 {
                let r = format!("k{i}");
                let s = slots.of_record(&lookup, &r);
                *s = Some(s.unwrap_or(0) + i + round);
            }
        }
        assert_eq!(slots.len(), 10_000);
        for i in [0u64, 1, 4_999, 9_999] {
            assert_eq!(*slots.of_key(format!("k{i}")), Some(3 * i + 3));
        }
    }
}
