//! The routing hash of a keyed edge, with its key selector's type erased.
//!
//! A keyed stream does not carry its key selector's type, so the writer that routes its
//! records calls the selector through a trait object. [`RouteKey::hash_all`] hashes a whole
//! batch in one dynamic call, with the loop compiled where the selector's type is known;
//! per record that saves the call and lets the hash of one key overlap the next.
//!
//! Invariant: `hash_all` appends exactly what `hash` returns for each record, in order.
//! Per-slot: built on the client, cloned into each subtask's writer (`Rc`, no `Send`).

use std::rc::Rc;

/// The routing hash ([`crate::graph::key_groups::key_hash`]) of a record's key.
pub trait RouteKey<T> {
    /// The hash of one record's key.
    fn hash(&self, record: &T) -> u64;
    /// The hash of each record's key, appended to `out` in order.
    fn hash_all(&self, records: &[T], out: &mut Vec<u64>);
}

/// A [`RouteKey`] from a closure that hashes a record's key.
pub struct HashWith<F>(pub F);

impl<T, F: Fn(&T) -> u64> RouteKey<T> for HashWith<F> {
    #[inline]
    fn hash(&self, record: &T) -> u64 {
        (self.0)(record)
    }
    fn hash_all(&self, records: &[T], out: &mut Vec<u64>) {
        out.extend(records.iter().map(&self.0));
    }
}

/// A shared, type-erased routing hash.
pub type SharedRouteKey<T> = Rc<dyn RouteKey<T>>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::key_groups::key_hash;

    #[test]
    fn a_batch_hashes_as_its_records_do() {
        let k: SharedRouteKey<(u32, u64)> = Rc::new(HashWith(|r: &(u32, u64)| key_hash(&r.0)));
        let batch: Vec<(u32, u64)> = (0..100).map(|i| (i * 7, 1)).collect();
        let mut out = vec![42];
        k.hash_all(&batch, &mut out);
        assert_eq!(out.len(), 101, "appends, keeps what was there");
        assert_eq!(out[0], 42);
        for (r, h) in batch.iter().zip(&out[1..]) {
            assert_eq!(*h, k.hash(r));
            assert_eq!(*h, key_hash(&r.0));
        }
    }
}
