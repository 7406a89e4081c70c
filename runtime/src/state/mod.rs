//! Keyed state: per-key values that an operator reads and writes for the record's key.
//!
//! A keyed operator sets the *current key* before it calls a user function; state handles
//! ([`ValueState`], [`ListState`], [`MapState`], [`ReducingState`], [`AggregatingState`])
//! read and write the entry of that key. Handles are created once, when the function is
//! opened, through [`KeyedStateStore`], and kept in the function's fields.
//!
//! Invariants: all state of an operator lives on its slot's core (`Rc`, never `Send`); a
//! handle used with no current key (outside a keyed call) fails with [`StateError::NoKey`]
//! rather than touching another key's entry. Entries are grouped by key group when they are
//! snapshotted (checkpoint issue), so state can move between parallelisms.

mod handles;
pub mod key_ref;
mod store;

pub use handles::{
    AggregateFunction, AggregatingState, ListState, MapState, ReducingState, ValueState,
};
pub use store::{KeyContext, KeyedStateStore};

use std::hash::Hash;

/// What a key must be: cloneable, hashable and comparable for equality.
pub trait Key: Clone + Hash + Eq + 'static {}
impl<T: Clone + Hash + Eq + 'static> Key for T {}

/// A state access that cannot be served.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StateError {
    /// State was used outside a keyed call.
    #[error("keyed state '{0}' used outside of a keyed context (no current key)")]
    NoKey(String),
    /// Two states with one name.
    #[error("state '{0}' is registered twice in this operator")]
    Duplicate(String),
}
