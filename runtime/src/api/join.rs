//! Window joins (Flink's `stream.join(other).where(..).equalTo(..).window(..).apply(..)`).

use super::{ConnectedStreams, Data, DataStream};
use crate::graph::BuildError;
use crate::operator::Millis;
use crate::state::Key;
use crate::window::core::WindowCore;
use crate::window::join::{Either, JoinContents, WindowJoin};
use crate::window::WindowAssigner;
use std::rc::Rc;
use std::time::Duration;

/// Two streams to be joined; name the key of the first with [`where_key`](Self::where_key).
pub struct JoinedStreams<A, B> {
    first: DataStream<A>,
    second: DataStream<B>,
}

/// A join with the first stream's key; name the second's with [`equal_to`](Self::equal_to).
pub struct JoinWhere<K, A, B> {
    join: JoinedStreams<A, B>,
    key1: Rc<dyn Fn(&A) -> K>,
}

/// A join with both keys; choose its windows with [`window`](Self::window).
pub struct JoinEqual<K, A, B> {
    join: JoinedStreams<A, B>,
    key1: Rc<dyn Fn(&A) -> K>,
    key2: Rc<dyn Fn(&B) -> K>,
}

/// A join with keys and windows; finish it with [`apply`](Self::apply).
pub struct WindowedJoin<K, A, B> {
    on: JoinEqual<K, A, B>,
    assigner: WindowAssigner,
    lateness: Millis,
}

impl<A: Data> DataStream<A> {
    /// Joins this stream with `other`: pairs of records with equal keys in the same window.
    pub fn join<B: Data>(&self, other: &DataStream<B>) -> JoinedStreams<A, B> {
        JoinedStreams {
            first: self.clone(),
            second: other.clone(),
        }
    }
}

impl<A: Data, B: Data> JoinedStreams<A, B> {
    /// The key of the first stream's records.
    pub fn where_key<K: Key>(self, key: impl Fn(&A) -> K + 'static) -> JoinWhere<K, A, B> {
        JoinWhere {
            join: self,
            key1: Rc::new(key),
        }
    }
}

impl<K: Key, A: Data, B: Data> JoinWhere<K, A, B> {
    /// The key of the second stream's records.
    pub fn equal_to(self, key: impl Fn(&B) -> K + 'static) -> JoinEqual<K, A, B> {
        JoinEqual {
            join: self.join,
            key1: self.key1,
            key2: Rc::new(key),
        }
    }
}

impl<K: Key, A: Data, B: Data> JoinEqual<K, A, B> {
    /// The windows records are paired in.
    pub fn window(self, assigner: WindowAssigner) -> WindowedJoin<K, A, B> {
        if let Err(e) = assigner.check() {
            self.join
                .first
                .g
                .borrow_mut()
                .errors
                .push(BuildError::Job(e));
        }
        WindowedJoin {
            on: self,
            assigner,
            lateness: 0,
        }
    }
}

impl<K: Key, A: Data, B: Data> WindowedJoin<K, A, B> {
    /// Keeps windows for `lateness` after they fire (event time).
    pub fn allowed_lateness(mut self, lateness: Duration) -> Self {
        self.lateness = Millis::try_from(lateness.as_millis()).unwrap_or(Millis::MAX);
        self
    }

    /// Emits `f(a, b)` for every pair of records with equal keys in the same window.
    pub fn apply<O: Data>(&self, f: impl Fn(&A, &B) -> O + Clone + 'static) -> DataStream<O> {
        let (k1, k2) = (self.on.key1.clone(), self.on.key2.clone());
        let connected = ConnectedStreams {
            first: self.on.join.first.key_by(move |a: &A| k1(a)).stream,
            second: self.on.join.second.key_by(move |b: &B| k2(b)).stream,
        };
        let (k1, k2) = (self.on.key1.clone(), self.on.key2.clone());
        let (assigner, lateness) = (self.assigner, self.lateness);
        let name = format!("Window Join({assigner})");
        connected.transform(&name, true, move |ctx| {
            let (k1, k2) = (k1.clone(), k2.clone());
            let key = move |v: &Either<A, B>| match v {
                Either::Left(a) => k1(a),
                Either::Right(b) => k2(b),
            };
            WindowJoin {
                core: WindowCore::new(
                    ctx.name.clone(),
                    key,
                    assigner,
                    lateness,
                    JoinContents { join: f.clone() },
                    ctx.time.clone(),
                ),
            }
        })
    }
}
