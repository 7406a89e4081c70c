//! The current key and the registry of an operator's state tables.

use super::{Key, StateError};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

pub(super) type Table<K, V> = Rc<RefCell<HashMap<K, V, rustc_hash::FxBuildHasher>>>;

/// The key of the record (or timer) being processed (per-slot, `Rc`).
pub struct KeyContext<K> {
    current: RefCell<Option<K>>,
}

impl<K: Key> KeyContext<K> {
    pub(crate) fn new() -> Rc<Self> {
        Rc::new(KeyContext {
            current: RefCell::new(None),
        })
    }

    pub(crate) fn set(&self, key: K) {
        *self.current.borrow_mut() = Some(key);
    }

    pub(crate) fn clear(&self) {
        *self.current.borrow_mut() = None;
    }

    /// The current key, cloned.
    pub fn get(&self) -> Option<K> {
        self.current.borrow().clone()
    }

    pub(super) fn with<R>(&self, state: &str, f: impl FnOnce(&K) -> R) -> Result<R, StateError> {
        match &*self.current.borrow() {
            Some(k) => Ok(f(k)),
            None => Err(StateError::NoKey(state.to_string())),
        }
    }
}

/// Creates an operator's state handles (given to `open` of keyed functions).
pub struct KeyedStateStore<K> {
    pub(super) key: Rc<KeyContext<K>>,
    names: Vec<String>,
}

impl<K: Key> KeyedStateStore<K> {
    pub(crate) fn new(key: Rc<KeyContext<K>>) -> Self {
        KeyedStateStore {
            key,
            names: Vec::new(),
        }
    }

    pub(super) fn register<V>(&mut self, name: &str) -> Result<Table<K, V>, StateError> {
        if self.names.iter().any(|n| n == name) {
            return Err(StateError::Duplicate(name.to_string()));
        }
        self.names.push(name.to_string());
        Ok(Rc::new(RefCell::new(HashMap::default())))
    }

    /// Names of the registered states.
    pub fn state_names(&self) -> &[String] {
        &self.names
    }
}
