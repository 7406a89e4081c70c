//! [`ConnectedStreams`]: two streams feeding one two-input operator.

use super::env::add_node;
use super::node::{downcast, erase, Factory, TypeOf};
use super::{Data, DataStream, KeyedStream};
use crate::graph::NodeKind;
use crate::operator::co_process::{two_inputs, CoProcess, CoProcessFunction, TwoInputOperator};
use crate::operator::keyed_co_process::{KeyedCoProcess, KeyedCoProcessFunction};
use crate::operator::{OperatorContext, Output};
use crate::state::Key;
use std::rc::Rc;

/// Two streams, possibly of different types, connected for a two-input operator.
pub struct ConnectedStreams<A, B> {
    pub(crate) first: DataStream<A>,
    pub(crate) second: DataStream<B>,
}

impl<A: Data, B: Data> ConnectedStreams<A, B> {
    /// Runs a co-process function: one method per input, one output stream.
    pub fn process<O: Data, F: CoProcessFunction<A, B, O> + Clone>(&self, f: F) -> DataStream<O> {
        self.transform("Co-Process", false, move |ctx| CoProcess {
            name: ctx.name.clone(),
            f: f.clone(),
        })
    }

    /// Adds a two-input operator built by `make` for every subtask.
    pub fn transform<O: Data, Op: TwoInputOperator<A, B, O>>(
        &self,
        name: &str,
        keyed: bool,
        make: impl Fn(&OperatorContext) -> Op + 'static,
    ) -> DataStream<O> {
        self.transform_fallible(name, keyed, move |ctx| Ok(make(ctx)))
    }

    /// Adds a two-input operator whose construction may fail (opening user functions).
    pub(crate) fn transform_fallible<O: Data, Op: TwoInputOperator<A, B, O>>(
        &self,
        name: &str,
        keyed: bool,
        make: impl Fn(&OperatorContext) -> crate::error::TaskResult<Op> + 'static,
    ) -> DataStream<O> {
        let (mut inputs, mut keys) = self.first.edges(0);
        let (i2, k2) = self.second.edges(1);
        inputs.extend(i2);
        keys.extend(k2);
        let factory = Factory::TwoInput(Rc::new(move |ctx, out| {
            let out: Box<dyn Output<O>> = downcast::<O>(out, &ctx.name)?;
            let (a, b) = two_inputs::<A, B, O, Op>(make(ctx)?, out);
            Ok((erase::<A>(a), erase::<B>(b)))
        }));
        let id = add_node(
            &self.first.g,
            name,
            NodeKind::TwoInput,
            inputs,
            keyed,
            factory,
            Some(TypeOf::<O>::rc()),
            keys,
        );
        DataStream::from_node(self.first.g.clone(), id)
    }
}

/// Two keyed streams with the same key type, connected: their records of one key meet in
/// one subtask, with shared keyed state and timers.
pub struct KeyedConnectedStreams<K, A, B> {
    first: KeyedStream<K, A>,
    second: KeyedStream<K, B>,
}

impl<K: Key, A: Data> KeyedStream<K, A> {
    /// Connects this keyed stream with another one keyed by the same key type.
    pub fn connect<B: Data>(&self, other: &KeyedStream<K, B>) -> KeyedConnectedStreams<K, A, B> {
        KeyedConnectedStreams {
            first: self.clone(),
            second: other.clone(),
        }
    }
}

impl<K: Key, A: Data, B: Data> KeyedConnectedStreams<K, A, B> {
    /// Runs a keyed co-process function (keyed state and timers across both inputs).
    pub fn process<O: Data, F: KeyedCoProcessFunction<K, A, B, O> + Clone>(
        &self,
        f: F,
    ) -> DataStream<O> {
        let connected = ConnectedStreams {
            first: self.first.stream.clone(),
            second: self.second.stream.clone(),
        };
        let (k1, k2) = (self.first.key.clone(), self.second.key.clone());
        connected.transform_fallible("Keyed Co-Process", true, move |ctx| {
            KeyedCoProcess::new(ctx, k1.clone(), k2.clone(), f.clone())
        })
    }
}
