//! Type-erased operator factories: how a slot turns a graph node back into typed code.
//!
//! The builder records, for every node, a factory closure that is generic over the node's
//! record types when it is created and erased behind `Box<dyn Any>` afterwards. When a
//! subtask is deployed, the task builder walks the chain from its tail to its head, giving
//! each factory its (already built) successor and receiving the operator back. The `Any`
//! boxes always hold a `Box<dyn Output<T>>` of the node's input type; a mismatch would be a
//! bug in this module and is reported as an error, never undefined behaviour.
//!
//! Everything here lives on one slot (`Rc`, not `Send`).

use crate::error::{Retry, TaskError, TaskResult};
use crate::exchange::reader::{InputHandler, TypedInput};
use crate::exchange::route_key::SharedRouteKey;
use crate::exchange::writer::{RecordWriter, Selector, WriterCore};
use crate::operator::fan_out::FanOut;
use crate::operator::{OperatorContext, Output};
use crate::sink::SinkCounter;
use crate::source::SourceReader;
use std::any::Any;
use std::cell::RefCell;
use std::rc::Rc;
use strom_net::codec::WireRecord;

/// A `Box<dyn Output<T>>` for some `T`, erased.
pub(crate) type AnyOutput = Box<dyn Any>;

/// What every stream record type must be: serializable for exchanges (rkyv) and cloneable
/// for fan-out. Derive `rkyv::Archive, rkyv::Serialize, rkyv::Deserialize` and `Clone`.
pub trait Data: WireRecord + Clone + 'static {}
impl<T: WireRecord + Clone + 'static> Data for T {}

pub(crate) fn downcast<T: 'static>(b: AnyOutput, node: &str) -> TaskResult<Box<dyn Output<T>>> {
    b.downcast::<Box<dyn Output<T>>>().map(|b| *b).map_err(|_| {
        TaskError::new(
            format!("internal: record type mismatch when building operator '{node}'"),
            Retry::Never,
        )
    })
}

pub(crate) fn erase<T: 'static>(o: Box<dyn Output<T>>) -> AnyOutput {
    Box::new(o)
}

/// A source, erased: drives its reader into its chain.
pub(crate) trait ErasedSource {
    fn poll_batch(&mut self, max: usize) -> TaskResult<(crate::source::SourceStatus, usize)>;
    fn wait(&mut self) -> crate::source::LocalFuture<'_, TaskResult>;
    fn head(&mut self) -> &mut dyn crate::exchange::reader::Lifecycle;
    fn latency_stamp(&self) -> Option<i64>;
}

pub(crate) struct SourceDriver<T> {
    pub(crate) reader: Box<dyn SourceReader<T>>,
    pub(crate) out: Box<dyn Output<T>>,
}

impl<T: 'static> ErasedSource for SourceDriver<T> {
    #[inline]
    fn poll_batch(&mut self, max: usize) -> TaskResult<(crate::source::SourceStatus, usize)> {
        self.reader.poll_batch(&mut *self.out, max)
    }
    fn wait(&mut self) -> crate::source::LocalFuture<'_, TaskResult> {
        self.reader.wait()
    }
    fn head(&mut self) -> &mut dyn crate::exchange::reader::Lifecycle {
        &mut self.out
    }
    fn latency_stamp(&self) -> Option<i64> {
        self.reader.latency_stamp()
    }
}

type SourceFactory = Rc<dyn Fn(&OperatorContext, AnyOutput) -> TaskResult<Box<dyn ErasedSource>>>;
type OneInputFactory = Rc<dyn Fn(&OperatorContext, AnyOutput) -> TaskResult<AnyOutput>>;
type TwoInputFactory =
    Rc<dyn Fn(&OperatorContext, AnyOutput) -> TaskResult<(AnyOutput, AnyOutput)>>;
/// Builds a sink that counts its records into the task's [`SinkCounter`].
type SinkFactory = Rc<dyn Fn(&OperatorContext, &SinkCounter) -> TaskResult<AnyOutput>>;

/// How to build one node's operator.
#[derive(Clone)]
pub(crate) enum Factory {
    Source(SourceFactory),
    OneInput(OneInputFactory),
    TwoInput(TwoInputFactory),
    Sink(SinkFactory),
}

/// Operations on a stream's record type, erased.
pub(crate) trait StreamType {
    fn fan_out(&self, outs: Vec<AnyOutput>, node: &str) -> TaskResult<AnyOutput>;
    fn writer(
        &self,
        core: Rc<RefCell<WriterCore>>,
        selector: ErasedSelector,
        flush_every_record: bool,
        node: Rc<str>,
    ) -> TaskResult<AnyOutput>;
    fn input(&self, head: AnyOutput, node: &str) -> TaskResult<Box<dyn InputHandler>>;
}

/// A selector before its record type is known.
pub(crate) enum ErasedSelector {
    Single,
    RoundRobin(usize),
    Broadcast,
    Hash {
        key: Rc<dyn Any>,
        max_parallelism: u32,
    },
}

pub(crate) struct TypeOf<T>(std::marker::PhantomData<fn() -> T>);

impl<T: Data> TypeOf<T> {
    pub(crate) fn rc() -> Rc<dyn StreamType> {
        Rc::new(TypeOf::<T>(std::marker::PhantomData))
    }
}

impl<T: Data> StreamType for TypeOf<T> {
    fn fan_out(&self, outs: Vec<AnyOutput>, node: &str) -> TaskResult<AnyOutput> {
        let outs = outs
            .into_iter()
            .map(|o| downcast::<T>(o, node))
            .collect::<TaskResult<Vec<_>>>()?;
        Ok(erase::<T>(Box::new(FanOut { outs })))
    }

    fn writer(
        &self,
        core: Rc<RefCell<WriterCore>>,
        selector: ErasedSelector,
        flush_every_record: bool,
        node: Rc<str>,
    ) -> TaskResult<AnyOutput> {
        let selector = match selector {
            ErasedSelector::Single => Selector::Single,
            ErasedSelector::RoundRobin(start) => Selector::RoundRobin(start),
            ErasedSelector::Broadcast => Selector::Broadcast,
            ErasedSelector::Hash {
                key,
                max_parallelism,
            } => {
                let key = key.downcast::<SharedRouteKey<T>>().map_err(|_| {
                    TaskError::new(
                        format!("internal: key type mismatch after '{node}'"),
                        Retry::Never,
                    )
                })?;
                Selector::Hash {
                    key: (*key).clone(),
                    max_parallelism,
                }
            }
        };
        Ok(erase::<T>(Box::new(RecordWriter::new(
            core,
            selector,
            flush_every_record,
            node,
        ))))
    }

    fn input(&self, head: AnyOutput, node: &str) -> TaskResult<Box<dyn InputHandler>> {
        Ok(Box::new(TypedInput::new(downcast::<T>(head, node)?)))
    }
}

/// The runtime half of a node: its factory, its output type, and the key hash of each input
/// edge that is hash-partitioned (a [`SharedRouteKey`] of the edge's record type).
#[derive(Clone)]
pub(crate) struct NodeRuntime {
    pub(crate) factory: Factory,
    pub(crate) output: Option<Rc<dyn StreamType>>,
    pub(crate) edge_keys: Vec<Option<Rc<dyn Any>>>,
    /// Declared side outputs: tag, record type id (to catch one tag used with two types),
    /// and record type.
    pub(crate) side_outputs: Vec<(String, std::any::TypeId, Rc<dyn StreamType>)>,
}

impl NodeRuntime {
    /// The record type of the output an edge reads: the main one or a side output.
    pub(crate) fn output_type(&self, side: Option<&str>) -> Option<&Rc<dyn StreamType>> {
        match side {
            None => self.output.as_ref(),
            Some(tag) => self
                .side_outputs
                .iter()
                .find(|(t, _, _)| t == tag)
                .map(|(_, _, ty)| ty),
        }
    }
}
