//! The five kinds of keyed state, as in Flink.

use super::store::{KeyContext, Table};
use super::{Key, KeyedStateStore, StateError};
use std::rc::Rc;

/// Declares a handle type: name, current key and its table.
macro_rules! handle {
    ($(#[$m:meta])* $name:ident<$($p:ident),*> => $v:ty) => {
        $(#[$m])*
        pub struct $name<K, $($p),*> {
            name: Rc<str>,
            key: Rc<KeyContext<K>>,
            table: Table<K, $v>,
        }

        impl<K, $($p),*> Clone for $name<K, $($p),*> {
            fn clone(&self) -> Self {
                $name { name: self.name.clone(), key: self.key.clone(), table: self.table.clone() }
            }
        }
    };
}

handle!(
    /// One value per key.
    ValueState<V> => V
);
handle!(
    /// A list of values per key.
    ListState<V> => Vec<V>
);
handle!(
    /// A map per key.
    MapState<MK, MV> => std::collections::HashMap<MK, MV>
);

/// One value per key, folded with a reduce function as values are added.
pub struct ReducingState<K, V> {
    inner: ValueState<K, V>,
    reduce: Rc<dyn Fn(V, V) -> V>,
}

/// Flink's AggregateFunction: an accumulator per key, values added, a result read.
pub trait AggregateFunction<I, A, O>: 'static {
    /// A fresh accumulator.
    fn create_accumulator(&self) -> A;
    /// Adds one value.
    fn add(&self, value: I, acc: A) -> A;
    /// The result for an accumulator.
    fn get_result(&self, acc: &A) -> O;
    /// Merges two accumulators (session windows).
    fn merge(&self, a: A, b: A) -> A;
    /// Adds one value and returns the new accumulator with its result: what a rolling
    /// aggregate (`KeyedStream::aggregate`) does for every record. The default is
    /// [`add`](Self::add) then [`get_result`](Self::get_result); override it to move parts
    /// of `value` into the result instead of cloning them out of the accumulator (a count
    /// per word hands the record's word on, and clones it only for a word's first record).
    /// It must return what the default would.
    #[inline]
    fn add_and_get_result(&self, value: I, acc: A) -> (A, O) {
        let acc = self.add(value, acc);
        let result = self.get_result(&acc);
        (acc, result)
    }
}

impl<K, V> Clone for ReducingState<K, V> {
    fn clone(&self) -> Self {
        ReducingState {
            inner: self.inner.clone(),
            reduce: self.reduce.clone(),
        }
    }
}

/// An accumulator per key, folded with an [`AggregateFunction`].
pub struct AggregatingState<K, I, A, O> {
    inner: ValueState<K, A>,
    f: Rc<dyn AggregateFunction<I, A, O>>,
}

impl<K, I, A, O> Clone for AggregatingState<K, I, A, O> {
    fn clone(&self) -> Self {
        AggregatingState {
            inner: self.inner.clone(),
            f: self.f.clone(),
        }
    }
}

impl<K: Key> KeyedStateStore<K> {
    /// A [`ValueState`] named `name`.
    pub fn value_state<V: 'static>(&mut self, name: &str) -> Result<ValueState<K, V>, StateError> {
        Ok(ValueState {
            name: name.into(),
            key: self.key.clone(),
            table: self.register(name)?,
        })
    }
    /// A [`ListState`] named `name`.
    pub fn list_state<V: 'static>(&mut self, name: &str) -> Result<ListState<K, V>, StateError> {
        Ok(ListState {
            name: name.into(),
            key: self.key.clone(),
            table: self.register(name)?,
        })
    }
    /// A [`MapState`] named `name`.
    pub fn map_state<MK: Key, MV: 'static>(
        &mut self,
        name: &str,
    ) -> Result<MapState<K, MK, MV>, StateError> {
        Ok(MapState {
            name: name.into(),
            key: self.key.clone(),
            table: self.register(name)?,
        })
    }
    /// A [`ReducingState`] named `name`.
    pub fn reducing_state<V: 'static>(
        &mut self,
        name: &str,
        reduce: impl Fn(V, V) -> V + 'static,
    ) -> Result<ReducingState<K, V>, StateError> {
        Ok(ReducingState {
            inner: self.value_state(name)?,
            reduce: Rc::new(reduce),
        })
    }
    /// An [`AggregatingState`] named `name`.
    pub fn aggregating_state<I: 'static, A: 'static, O: 'static>(
        &mut self,
        name: &str,
        f: impl AggregateFunction<I, A, O>,
    ) -> Result<AggregatingState<K, I, A, O>, StateError> {
        Ok(AggregatingState {
            inner: self.value_state(name)?,
            f: Rc::new(f),
        })
    }
}

impl<K: Key, V: Clone + 'static> ValueState<K, V> {
    /// The value for the current key.
    pub fn value(&self) -> Result<Option<V>, StateError> {
        self.key
            .with(&self.name, |k| self.table.borrow().get(k).cloned())
    }
    /// Sets the value for the current key.
    pub fn update(&self, v: V) -> Result<(), StateError> {
        self.key.with(&self.name, |k| {
            self.table.borrow_mut().insert(k.clone(), v);
        })
    }
    /// Removes the current key's value.
    pub fn clear(&self) -> Result<(), StateError> {
        self.key.with(&self.name, |k| {
            self.table.borrow_mut().remove(k);
        })
    }
    /// Number of keys with a value (all keys of this subtask).
    pub fn len(&self) -> usize {
        self.table.borrow().len()
    }
    /// Whether no key has a value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<K: Key, V: Clone + 'static> ListState<K, V> {
    /// Appends to the current key's list.
    pub fn add(&self, v: V) -> Result<(), StateError> {
        self.key.with(&self.name, |k| {
            self.table
                .borrow_mut()
                .entry(k.clone())
                .or_default()
                .push(v)
        })
    }
    /// The current key's list (empty if none).
    pub fn get(&self) -> Result<Vec<V>, StateError> {
        self.key.with(&self.name, |k| {
            self.table.borrow().get(k).cloned().unwrap_or_default()
        })
    }
    /// Replaces the current key's list.
    pub fn update(&self, values: Vec<V>) -> Result<(), StateError> {
        self.key.with(&self.name, |k| {
            self.table.borrow_mut().insert(k.clone(), values);
        })
    }
    /// Removes the current key's list.
    pub fn clear(&self) -> Result<(), StateError> {
        self.key.with(&self.name, |k| {
            self.table.borrow_mut().remove(k);
        })
    }
}

impl<K: Key, MK: Key, MV: Clone + 'static> MapState<K, MK, MV> {
    /// The value under `mk` for the current key.
    pub fn get(&self, mk: &MK) -> Result<Option<MV>, StateError> {
        self.key.with(&self.name, |k| {
            self.table.borrow().get(k).and_then(|m| m.get(mk).cloned())
        })
    }
    /// Puts `mk -> mv` for the current key.
    pub fn put(&self, mk: MK, mv: MV) -> Result<(), StateError> {
        self.key.with(&self.name, |k| {
            self.table
                .borrow_mut()
                .entry(k.clone())
                .or_default()
                .insert(mk, mv);
        })
    }
    /// Removes `mk` for the current key.
    pub fn remove(&self, mk: &MK) -> Result<Option<MV>, StateError> {
        self.key.with(&self.name, |k| {
            self.table
                .borrow_mut()
                .get_mut(k)
                .and_then(|m| m.remove(mk))
        })
    }
    /// Whether `mk` is present for the current key.
    pub fn contains(&self, mk: &MK) -> Result<bool, StateError> {
        self.key.with(&self.name, |k| {
            self.table
                .borrow()
                .get(k)
                .is_some_and(|m| m.contains_key(mk))
        })
    }
    /// All entries of the current key.
    pub fn entries(&self) -> Result<Vec<(MK, MV)>, StateError> {
        self.key.with(&self.name, |k| {
            self.table
                .borrow()
                .get(k)
                .map(|m| m.iter().map(|(a, b)| (a.clone(), b.clone())).collect())
                .unwrap_or_default()
        })
    }
    /// Removes the current key's map.
    pub fn clear(&self) -> Result<(), StateError> {
        self.key.with(&self.name, |k| {
            self.table.borrow_mut().remove(k);
        })
    }
}

impl<K: Key, V: Clone + 'static> ReducingState<K, V> {
    /// Folds `v` into the current key's value.
    pub fn add(&self, v: V) -> Result<(), StateError> {
        let next = match self.inner.value()? {
            Some(old) => (self.reduce)(old, v),
            None => v,
        };
        self.inner.update(next)
    }
    /// The folded value.
    pub fn get(&self) -> Result<Option<V>, StateError> {
        self.inner.value()
    }
    /// Removes the current key's value.
    pub fn clear(&self) -> Result<(), StateError> {
        self.inner.clear()
    }
}

impl<K: Key, I: 'static, A: Clone + 'static, O: 'static> AggregatingState<K, I, A, O> {
    /// Adds `v` to the current key's accumulator.
    pub fn add(&self, v: I) -> Result<(), StateError> {
        let acc = self
            .inner
            .value()?
            .unwrap_or_else(|| self.f.create_accumulator());
        self.inner.update(self.f.add(v, acc))
    }
    /// The current key's result, if anything was added.
    pub fn get(&self) -> Result<Option<O>, StateError> {
        Ok(self.inner.value()?.map(|a| self.f.get_result(&a)))
    }
    /// Removes the current key's accumulator.
    pub fn clear(&self) -> Result<(), StateError> {
        self.inner.clear()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Avg;
    impl AggregateFunction<u64, (u64, u64), f64> for Avg {
        fn create_accumulator(&self) -> (u64, u64) {
            (0, 0)
        }
        fn add(&self, v: u64, a: (u64, u64)) -> (u64, u64) {
            (a.0 + v, a.1 + 1)
        }
        fn get_result(&self, a: &(u64, u64)) -> f64 {
            a.0 as f64 / a.1 as f64
        }
        fn merge(&self, a: (u64, u64), b: (u64, u64)) -> (u64, u64) {
            (a.0 + b.0, a.1 + b.1)
        }
    }

    #[test]
    fn states_are_per_key() {
        let key = KeyContext::<String>::new();
        let mut store = KeyedStateStore::new(key.clone());
        let v = store.value_state::<u64>("v").unwrap();
        let l = store.list_state::<u64>("l").unwrap();
        let m = store.map_state::<u8, u64>("m").unwrap();
        let r = store.reducing_state::<u64>("r", |a, b| a + b).unwrap();
        let a = store.aggregating_state("a", Avg).unwrap();
        assert_eq!(
            store.value_state::<u64>("v").err(),
            Some(StateError::Duplicate("v".into()))
        );
        assert_eq!(v.value(), Err(StateError::NoKey("v".into())));
        for (k, x) in [("a", 1u64), ("b", 10), ("a", 3)] {
            key.set(k.to_string());
            v.update(x).unwrap();
            l.add(x).unwrap();
            m.put(x as u8, x).unwrap();
            r.add(x).unwrap();
            a.add(x).unwrap();
        }
        key.set("a".into());
        assert_eq!(v.value().unwrap(), Some(3));
        assert_eq!(l.get().unwrap(), vec![1, 3]);
        assert_eq!(m.get(&1).unwrap(), Some(1));
        assert!(!m.contains(&10).unwrap());
        assert_eq!(r.get().unwrap(), Some(4));
        assert_eq!(a.get().unwrap(), Some(2.0));
        key.set("b".into());
        assert_eq!(r.get().unwrap(), Some(10));
        v.clear().unwrap();
        assert_eq!(v.value().unwrap(), None);
        assert_eq!(v.len(), 1);
    }
}
