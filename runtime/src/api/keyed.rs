//! [`KeyedStream`]: a stream partitioned by key, for keyed state and timers.

use super::{Data, DataStream};
use crate::operator::keyed_process::{KeyedProcess, KeyedProcessFunction};
use crate::operator::keyed_reduce::{KeyedAggregate, KeyedCount, KeyedReduce};
use crate::state::key_ref::KeyLookup;
use crate::state::{AggregateFunction, Key};
use std::rc::Rc;

/// A stream whose records are routed by key (Flink's KeyedStream).
pub struct KeyedStream<K, T> {
    pub(crate) stream: DataStream<T>,
    pub(crate) key: Rc<dyn Fn(&T) -> K>,
    /// Set by `key_by_ref`: finds keyed slots by the borrowed key (rolling reduce/aggregate).
    pub(crate) lookup: Option<Rc<dyn KeyLookup<T, K>>>,
}

impl<K, T> Clone for KeyedStream<K, T> {
    fn clone(&self) -> Self {
        KeyedStream {
            stream: self.stream.clone(),
            key: self.key.clone(),
            lookup: self.lookup.clone(),
        }
    }
}

impl<K: Key + std::hash::Hash, T: Data> KeyedStream<K, T> {
    /// The key selector.
    pub fn key_selector(&self) -> Rc<dyn Fn(&T) -> K> {
        self.key.clone()
    }

    /// The underlying (hash-partitioned) stream.
    pub fn stream(&self) -> &DataStream<T> {
        &self.stream
    }

    /// Folds the records of each key with `f`, emitting the new value after every record.
    pub fn reduce(&self, f: impl Fn(T, T) -> T + Clone + 'static) -> DataStream<T> {
        let (key, lookup) = (self.key.clone(), self.lookup.clone());
        self.stream
            .one_input("Keyed Reduce", true, move |ctx, out| {
                let key = key.clone();
                Ok(Box::new(KeyedReduce {
                    name: ctx.name.clone(),
                    key: move |v: &T| key(v),
                    lookup: lookup.clone(),
                    reduce: f.clone(),
                    values: Default::default(),
                    out,
                    results: Vec::new(),
                }))
            })
    }

    /// Aggregates the records of each key, emitting the current result after every record.
    pub fn aggregate<A: 'static, O: Data, F: AggregateFunction<T, A, O> + Clone>(
        &self,
        f: F,
    ) -> DataStream<O> {
        let (key, lookup) = (self.key.clone(), self.lookup.clone());
        self.stream
            .one_input("Keyed Aggregate", true, move |ctx, out| {
                let key = key.clone();
                Ok(Box::new(KeyedAggregate {
                    name: ctx.name.clone(),
                    key: move |v: &T| key(v),
                    lookup: lookup.clone(),
                    f: f.clone(),
                    accs: Default::default(),
                    out,
                    results: Vec::new(),
                    _i: std::marker::PhantomData,
                }))
            })
    }

    /// Counts the records of each key: emits every record with the number of records of its
    /// key so far, itself included (`(record, 1)` for a key's first record). The rolling
    /// word count: `words.key_by_ref(|w: &String| w.as_str()).rolling_count()` gives
    /// `(word, count)` after every word. A key's state is one number (the record brings the
    /// key along), where `aggregate` with a `(key, count)` accumulator would keep a second
    /// copy of the key.
    pub fn rolling_count(&self) -> DataStream<(T, u64)>
    where
        (T, u64): Data,
    {
        let (key, lookup) = (self.key.clone(), self.lookup.clone());
        self.stream.one_input("Keyed Count", true, move |ctx, out| {
            let key = key.clone();
            Ok(Box::new(KeyedCount {
                name: ctx.name.clone(),
                key: move |v: &T| key(v),
                lookup: lookup.clone(),
                counts: Default::default(),
                out,
                results: Vec::new(),
                hashes: Vec::new(),
            }))
        })
    }

    /// Runs a keyed process function (state and timers) on every record.
    pub fn process<O: Data, F: KeyedProcessFunction<K, T, O> + Clone>(
        &self,
        f: F,
    ) -> DataStream<O> {
        let key = self.key.clone();
        self.stream
            .one_input("Keyed Process", true, move |ctx, out| {
                let key = key.clone();
                Ok(Box::new(KeyedProcess::new(
                    ctx,
                    move |v: &T| key(v),
                    f.clone(),
                    out,
                )?))
            })
    }
}
