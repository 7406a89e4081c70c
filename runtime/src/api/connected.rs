//! [`ConnectedStreams`]: two streams feeding one two-input operator.

use super::env::add_node;
use super::node::{downcast, erase, Factory, TypeOf};
use super::{Data, DataStream};
use crate::graph::NodeKind;
use crate::operator::co_process::{two_inputs, CoProcess, CoProcessFunction, TwoInputOperator};
use crate::operator::{OperatorContext, Output};
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
        let (mut inputs, mut keys) = self.first.edges(0);
        let (i2, k2) = self.second.edges(1);
        inputs.extend(i2);
        keys.extend(k2);
        let factory = Factory::TwoInput(Rc::new(move |ctx, out| {
            let out: Box<dyn Output<O>> = downcast::<O>(out, &ctx.name)?;
            let (a, b) = two_inputs::<A, B, O, Op>(make(ctx), out);
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
