//! Rolling keyed aggregations: `reduce` and `aggregate` on a keyed stream emit the updated
//! value for the record's key after every record (Flink's StreamGroupedReduceOperator).
//!
//! Each record costs one hash lookup: the map holds `Option`s so the current value can be
//! taken out of its slot, folded and put back without a remove and a re-insert.
//!
//! A batch ([`Output::emit_batch`]) is folded under one panic guard and its results go
//! downstream as one batch, in input order.

use super::basic::forward_lifecycle;
use super::context::guarded;
use super::{Millis, Output};
use crate::error::TaskResult;
use crate::state::{AggregateFunction, Key};
use std::collections::HashMap;
use std::rc::Rc;

/// `KeyedStream::reduce`.
pub struct KeyedReduce<K, T, KF, RF> {
    pub(crate) name: Rc<str>,
    pub(crate) key: KF,
    pub(crate) reduce: RF,
    pub(crate) values: HashMap<K, Option<T>, rustc_hash::FxBuildHasher>,
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
        let key = guarded(&self.name, || (self.key)(&value))?;
        let slot = self.values.entry(key).or_insert(None);
        let next = match slot.take() {
            Some(old) => guarded(&self.name, || (self.reduce)(old, value))?,
            None => value,
        };
        *slot = Some(next.clone());
        self.out.emit(next, timestamp)
    }
    fn emit_batch(&mut self, batch: &mut Vec<T>, timestamp: Option<Millis>) -> TaskResult {
        let (key, reduce, values, results) = (
            &self.key,
            &mut self.reduce,
            &mut self.values,
            &mut self.results,
        );
        guarded(&self.name, || {
            for value in batch.drain(..) {
                let slot = values.entry(key(&value)).or_insert(None);
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
    pub(crate) f: F,
    pub(crate) accs: HashMap<K, Option<A>, rustc_hash::FxBuildHasher>,
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
        let key = guarded(&self.name, || (self.key)(&value))?;
        let f = &self.f;
        let slot = self.accs.entry(key).or_insert(None);
        let acc = match slot.take() {
            Some(a) => a,
            None => guarded(&self.name, || f.create_accumulator())?,
        };
        let acc = guarded(&self.name, || f.add(value, acc))?;
        let result = guarded(&self.name, || f.get_result(&acc))?;
        *slot = Some(acc);
        self.out.emit(result, timestamp)
    }
    fn emit_batch(&mut self, batch: &mut Vec<I>, timestamp: Option<Millis>) -> TaskResult {
        let (key, f, accs, results) = (&self.key, &self.f, &mut self.accs, &mut self.results);
        guarded(&self.name, || {
            for value in batch.drain(..) {
                let slot = accs.entry(key(&value)).or_insert(None);
                let acc = match slot.take() {
                    Some(a) => a,
                    None => f.create_accumulator(),
                };
                let acc = f.add(value, acc);
                results.push(f.get_result(&acc));
                *slot = Some(acc);
            }
        })?;
        let r = self.out.emit_batch(&mut self.results, timestamp);
        self.results.clear();
        r
    }
    forward_lifecycle!();
}
