//! Rolling keyed aggregations: `reduce` and `aggregate` on a keyed stream emit the updated
//! value for the record's key after every record (Flink's StreamGroupedReduceOperator).
//!
//! Each record costs one hash lookup: the map holds `Option`s so the current value can be
//! taken out of its slot, folded and put back without a remove and a re-insert. A stream
//! keyed with `key_by_ref` finds the slot by the record's borrowed key
//! ([`KeySlots::of_record`]): no owned key is built for a key already seen.
//!
//! A batch ([`Output::emit_batch`]) is folded under one panic guard and its results go
//! downstream as one batch, in input order.
//!
//! [`KeyedCount`] (`KeyedStream::rolling_count`) keeps only a count per key and hands each
//! record on with it: where an aggregate's accumulator would need its own copy of the key to
//! produce `(key, count)`, the record supplies it, so a key's slot is the key and a number.

use super::basic::forward_lifecycle;
use super::context::guarded;
use super::{Millis, Output};
use crate::error::TaskResult;
use crate::state::key_ref::{KeyLookup, KeySlots};
use crate::state::{AggregateFunction, Key};
use std::num::NonZeroU64;
use std::rc::Rc;

/// A borrowed-key lookup, when the stream was keyed with `key_by_ref`.
pub(crate) type Lookup<T, K> = Option<Rc<dyn KeyLookup<T, K>>>;

/// The slot of `value`'s key: by the borrowed key if there is a lookup, else by the owned key
/// from `key`.
#[inline]
fn slot_of<'s, K: Key, T, V>(
    lookup: &Lookup<T, K>,
    key: &impl Fn(&T) -> K,
    slots: &'s mut KeySlots<K, V>,
    value: &T,
) -> &'s mut Option<V> {
    match lookup {
        Some(l) => slots.of_record(&**l, value),
        None => slots.of_key(key(value)),
    }
}

/// `KeyedStream::reduce`.
pub struct KeyedReduce<K, T, KF, RF> {
    pub(crate) name: Rc<str>,
    pub(crate) key: KF,
    pub(crate) lookup: Lookup<T, K>,
    pub(crate) reduce: RF,
    pub(crate) values: KeySlots<K, T>,
    pub(crate) out: Box<dyn Output<T>>,
    /// The results of a batch (reused).
    pub(crate) results: Vec<T>,
}

impl<K, T, KF, RF> Output<T> for KeyedReduce<K, T, KF, RF>
where
    K: Key,
    T: Clone + 'static,
    KF: Fn(&T) -> K + 'static,
    RF: FnMut(T, T) -> T + 'static,
{
    #[inline]
    fn emit(&mut self, value: T, timestamp: Option<Millis>) -> TaskResult {
        let (key, lookup, values) = (&self.key, &self.lookup, &mut self.values);
        let slot = guarded(&self.name, || slot_of(lookup, key, values, &value))?;
        let next = match slot.take() {
            Some(old) => guarded(&self.name, || (self.reduce)(old, value))?,
            None => value,
        };
        *slot = Some(next.clone());
        self.out.emit(next, timestamp)
    }
    fn emit_batch(&mut self, batch: &mut Vec<T>, timestamp: Option<Millis>) -> TaskResult {
        let (key, lookup, reduce, values, results) = (
            &self.key,
            &self.lookup,
            &mut self.reduce,
            &mut self.values,
            &mut self.results,
        );
        guarded(&self.name, || {
            for value in batch.drain(..) {
                let slot = slot_of(lookup, key, values, &value);
                let next = match slot.take() {
                    Some(old) => reduce(old, value),
                    None => value,
                };
                *slot = Some(next.clone());
                results.push(next);
            }
        })?;
        let r = self.out.emit_batch(&mut self.results, timestamp);
        self.results.clear();
        r
    }
    forward_lifecycle!();
}

/// `KeyedStream::aggregate`: an accumulator per key, emitting the current result.
pub struct KeyedAggregate<K, I, A, O, KF, F> {
    pub(crate) name: Rc<str>,
    pub(crate) key: KF,
    pub(crate) lookup: Lookup<I, K>,
    pub(crate) f: F,
    pub(crate) accs: KeySlots<K, A>,
    pub(crate) out: Box<dyn Output<O>>,
    /// The results of a batch (reused).
    pub(crate) results: Vec<O>,
    pub(crate) _i: std::marker::PhantomData<fn(I)>,
}

impl<K, I, A, O, KF, F> Output<I> for KeyedAggregate<K, I, A, O, KF, F>
where
    K: Key,
    I: 'static,
    A: 'static,
    O: 'static,
    KF: Fn(&I) -> K + 'static,
    F: AggregateFunction<I, A, O>,
{
    #[inline]
    fn emit(&mut self, value: I, timestamp: Option<Millis>) -> TaskResult {
        let (key, lookup, accs) = (&self.key, &self.lookup, &mut self.accs);
        let slot = guarded(&self.name, || slot_of(lookup, key, accs, &value))?;
        let f = &self.f;
        let acc = match slot.take() {
            Some(a) => a,
            None => guarded(&self.name, || f.create_accumulator())?,
        };
        let (acc, result) = guarded(&self.name, || f.add_and_get_result(value, acc))?;
        *slot = Some(acc);
        self.out.emit(result, timestamp)
    }
    fn emit_batch(&mut self, batch: &mut Vec<I>, timestamp: Option<Millis>) -> TaskResult {
        let (key, lookup, f, accs, results) = (
            &self.key,
            &self.lookup,
            &self.f,
            &mut self.accs,
            &mut self.results,
        );
        guarded(&self.name, || {
            for value in batch.drain(..) {
                let slot = slot_of(lookup, key, accs, &value);
                let acc = match slot.take() {
                    Some(a) => a,
                    None => f.create_accumulator(),
                };
                let (acc, result) = f.add_and_get_result(value, acc);
                results.push(result);
                *slot = Some(acc);
            }
        })?;
        let r = self.out.emit_batch(&mut self.results, timestamp);
        self.results.clear();
        r
    }
    forward_lifecycle!();
}

/// `KeyedStream::rolling_count`: each record with the number of records of its key so far.
pub struct KeyedCount<K, T, KF> {
    pub(crate) name: Rc<str>,
    pub(crate) key: KF,
    pub(crate) lookup: Lookup<T, K>,
    /// `NonZeroU64`, so that `Option` adds no word: a `String` key's bucket is 32 bytes,
    /// which never straddles two cache lines (a 40-byte bucket does, half the time).
    pub(crate) counts: KeySlots<K, NonZeroU64>,
    pub(crate) out: Box<dyn Output<(T, u64)>>,
    /// The results of a batch (reused).
    pub(crate) results: Vec<(T, u64)>,
    /// The key hashes of a batch (reused; borrowed keys only).
    pub(crate) hashes: Vec<u64>,
}

/// Counts one more record in `slot`; the new count.
#[inline]
fn count_one(slot: &mut Option<NonZeroU64>) -> u64 {
    let n = slot.map_or(NonZeroU64::MIN, |c| c.saturating_add(1));
    *slot = Some(n);
    n.get()
}

impl<K, T, KF> Output<T> for KeyedCount<K, T, KF>
where
    K: Key,
    T: 'static,
    KF: Fn(&T) -> K + 'static,
{
    #[inline]
    fn emit(&mut self, value: T, timestamp: Option<Millis>) -> TaskResult {
        let (key, lookup, counts) = (&self.key, &self.lookup, &mut self.counts);
        let n = guarded(&self.name, || {
            count_one(slot_of(lookup, key, counts, &value))
        })?;
        self.out.emit((value, n), timestamp)
    }
    fn emit_batch(&mut self, batch: &mut Vec<T>, timestamp: Option<Millis>) -> TaskResult {
        let (key, lookup, counts, results, hashes) = (
            &self.key,
            &self.lookup,
            &mut self.counts,
            &mut self.results,
            &mut self.hashes,
        );
        guarded(&self.name, || match lookup {
            // Borrowed keys: every hash in one call, then one probe per record.
            Some(l) => {
                hashes.clear();
                l.hash_all(batch, hashes);
                for (value, &h) in batch.drain(..).zip(hashes.iter()) {
                    let n = count_one(counts.of_hashed_record(&**l, &value, h));
                    results.push((value, n));
                }
            }
            None => {
                for value in batch.drain(..) {
                    let n = count_one(counts.of_key(key(&value)));
                    results.push((value, n));
                }
            }
        })?;
        let r = self.out.emit_batch(&mut self.results, timestamp);
        self.results.clear();
        r
    }
    forward_lifecycle!();
}
