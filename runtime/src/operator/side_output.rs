//! Side outputs: a second, differently typed output of an operator (Flink's `OutputTag`).
//!
//! An operator that can emit to a side output (a window operator's late records, for one)
//! is told the tag when the job is built; a downstream operator reads it with
//! [`DataStream::side_output`](crate::api::DataStream::side_output). In the job graph, an
//! edge that carries a side output names the tag ([`StreamEdge::side_output`]); the task
//! builder builds the consumers of each tag like those of the main output (chained or
//! behind an exchange writer) and hands them to the operator's factory through
//! [`SideOutputs`]. A side output that nobody reads drops its records, as in Flink.
//!
//! Everything here lives on one slot's core (`Rc`, `RefCell`).
//!
//! [`StreamEdge::side_output`]: crate::graph::StreamEdge::side_output

use super::Output;
use crate::api::node::{downcast, AnyOutput};
use crate::error::TaskResult;
use crate::sink::DiscardSink;
use std::cell::RefCell;
use std::marker::PhantomData;
use std::rc::Rc;

/// Names a side output of records of type `T`.
pub struct OutputTag<T> {
    id: Rc<str>,
    _t: PhantomData<fn() -> T>,
}

impl<T> Clone for OutputTag<T> {
    fn clone(&self) -> Self {
        OutputTag {
            id: self.id.clone(),
            _t: PhantomData,
        }
    }
}

impl<T> std::fmt::Debug for OutputTag<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OutputTag({})", self.id)
    }
}

impl<T> OutputTag<T> {
    /// A tag; tags are told apart by `id` within one operator.
    pub fn new(id: &str) -> Self {
        OutputTag {
            id: id.into(),
            _t: PhantomData,
        }
    }

    /// The tag's id.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// The side outputs of one operator instance while its subtask is built (per-slot).
#[derive(Clone, Default)]
pub struct SideOutputs {
    outputs: Rc<RefCell<Vec<(String, AnyOutput)>>>,
}

impl SideOutputs {
    pub(crate) fn insert(&self, tag: String, out: AnyOutput) {
        self.outputs.borrow_mut().push((tag, out));
    }

    /// Takes the output for `tag`: its consumers, or a discarding output if it has none.
    pub fn take<T: 'static>(&self, tag: &OutputTag<T>) -> TaskResult<Box<dyn Output<T>>> {
        let mut outs = self.outputs.borrow_mut();
        match outs.iter().position(|(t, _)| t.as_str() == tag.id()) {
            Some(i) => downcast::<T>(outs.swap_remove(i).1, tag.id()),
            None => Ok(Box::new(DiscardSink::default())),
        }
    }
}
