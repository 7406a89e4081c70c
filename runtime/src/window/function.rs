//! Window functions: how a window's contents are kept and turned into results.
//!
//! - [`ProcessWindowFunction`]: user code that sees all of a window's records at once (or the
//!   one pre-aggregated value, when combined with reduce or aggregate).
//! - `WindowContents` (crate-internal): the operator's view of a window function — create
//!   the contents for a window's first record, add a record, merge two windows' contents
//!   (sessions) and emit. Three forms: `ReduceContents` and `AggregateContents` keep one
//!   value per window (incremental, as Flink's reducing/aggregating window state);
//!   `ProcessContents` keeps every record.

use super::TimeWindow;
use crate::operator::basic::UserError;
use crate::operator::{Collector, Millis};
use crate::state::AggregateFunction;
use std::marker::PhantomData;

/// What a window function sees besides the records: the window and the clocks.
#[derive(Debug, Clone, Copy)]
pub struct WindowContext {
    pub(crate) window: TimeWindow,
    pub(crate) watermark: Millis,
    pub(crate) processing_time: Millis,
}

impl WindowContext {
    /// The window being emitted.
    pub fn window(&self) -> TimeWindow {
        self.window
    }
    /// The operator's current event time.
    pub fn current_watermark(&self) -> Millis {
        self.watermark
    }
    /// Wall-clock time.
    pub fn current_processing_time(&self) -> Millis {
        self.processing_time
    }
}

/// Flink's ProcessWindowFunction: called once per window firing with the window's records.
///
/// Closures `FnMut(&K, &WindowContext, &[I], &mut Collector<O>) -> Result<(), UserError>`
/// implement it.
pub trait ProcessWindowFunction<K, I, O: 'static>: 'static {
    /// Emits the results for one key and window.
    fn process(
        &mut self,
        key: &K,
        ctx: &WindowContext,
        elements: &[I],
        out: &mut Collector<'_, O>,
    ) -> Result<(), UserError>;
}

impl<K, I, O: 'static, F> ProcessWindowFunction<K, I, O> for F
where
    F: FnMut(&K, &WindowContext, &[I], &mut Collector<'_, O>) -> Result<(), UserError> + 'static,
{
    fn process(
        &mut self,
        key: &K,
        ctx: &WindowContext,
        elements: &[I],
        out: &mut Collector<'_, O>,
    ) -> Result<(), UserError> {
        self(key, ctx, elements, out)
    }
}

/// Emits the pre-aggregated value as it is (a window's `reduce` or `aggregate` alone).
#[derive(Debug, Clone, Copy, Default)]
pub struct PassThrough;

impl<K, I: Clone + 'static> ProcessWindowFunction<K, I, I> for PassThrough {
    fn process(
        &mut self,
        _key: &K,
        _ctx: &WindowContext,
        elements: &[I],
        out: &mut Collector<'_, I>,
    ) -> Result<(), UserError> {
        for e in elements {
            out.collect(e.clone());
        }
        Ok(())
    }
}

/// How a window operator keeps a window's contents and emits them (crate-internal).
pub(crate) trait WindowContents<K, I, O: 'static>: 'static {
    /// The contents of one window.
    type Acc;
    /// The contents after the window's first record.
    fn create(&mut self, value: I) -> Result<Self::Acc, UserError>;
    /// Adds a record.
    fn add(&mut self, acc: &mut Self::Acc, value: I) -> Result<(), UserError>;
    /// Merges `other` into `into` (session windows).
    fn merge(&mut self, into: &mut Self::Acc, other: Self::Acc) -> Result<(), UserError>;
    /// Emits the window's results.
    fn emit(
        &mut self,
        key: &K,
        ctx: &WindowContext,
        acc: &Self::Acc,
        out: &mut Collector<'_, O>,
    ) -> Result<(), UserError>;
}

/// Incremental reduce, then `P` on the one reduced value.
pub(crate) struct ReduceContents<I, R, P> {
    pub(crate) reduce: R,
    pub(crate) process: P,
    pub(crate) _i: PhantomData<fn(I)>,
}

impl<K, I, O, R, P> WindowContents<K, I, O> for ReduceContents<I, R, P>
where
    I: 'static,
    O: 'static,
    R: Fn(I, I) -> I + 'static,
    P: ProcessWindowFunction<K, I, O>,
{
    type Acc = Option<I>;
    fn create(&mut self, value: I) -> Result<Option<I>, UserError> {
        Ok(Some(value))
    }
    #[inline]
    fn add(&mut self, acc: &mut Option<I>, value: I) -> Result<(), UserError> {
        *acc = Some(match acc.take() {
            Some(cur) => (self.reduce)(cur, value),
            None => value,
        });
        Ok(())
    }
    fn merge(&mut self, into: &mut Option<I>, other: Option<I>) -> Result<(), UserError> {
        match other {
            Some(v) => self.add(into, v),
            None => Ok(()),
        }
    }
    fn emit(
        &mut self,
        key: &K,
        ctx: &WindowContext,
        acc: &Option<I>,
        out: &mut Collector<'_, O>,
    ) -> Result<(), UserError> {
        match acc {
            Some(v) => self.process.process(key, ctx, std::slice::from_ref(v), out),
            None => Ok(()),
        }
    }
}

/// Incremental aggregate, then `P` on the one result.
pub(crate) struct AggregateContents<I, A, R, F, P> {
    pub(crate) f: F,
    pub(crate) process: P,
    pub(crate) _t: PhantomData<fn(I, A, R)>,
}

impl<K, I, A, R, O, F, P> WindowContents<K, I, O> for AggregateContents<I, A, R, F, P>
where
    I: 'static,
    A: 'static,
    R: 'static,
    O: 'static,
    F: AggregateFunction<I, A, R>,
    P: ProcessWindowFunction<K, R, O>,
{
    type Acc = A;
    fn create(&mut self, value: I) -> Result<A, UserError> {
        Ok(self.f.add(value, self.f.create_accumulator()))
    }
    /// The accumulator is updated in place: `add` takes it by value, so it is moved out and
    /// the result moved back; if `add` panics, a fresh accumulator takes its place while the
    /// panic unwinds (the task fails; nothing reads the window after that).
    #[inline]
    fn add(&mut self, acc: &mut A, value: I) -> Result<(), UserError> {
        let f = &self.f;
        replace_with::replace_with(acc, || f.create_accumulator(), |cur| f.add(value, cur));
        Ok(())
    }
    fn merge(&mut self, into: &mut A, other: A) -> Result<(), UserError> {
        let f = &self.f;
        replace_with::replace_with(into, || f.create_accumulator(), |cur| f.merge(cur, other));
        Ok(())
    }
    fn emit(
        &mut self,
        key: &K,
        ctx: &WindowContext,
        acc: &A,
        out: &mut Collector<'_, O>,
    ) -> Result<(), UserError> {
        let r = self.f.get_result(acc);
        self.process
            .process(key, ctx, std::slice::from_ref(&r), out)
    }
}

/// Every record of the window, for a process window function.
pub(crate) struct ProcessContents<P> {
    pub(crate) process: P,
}

impl<K, I, O, P> WindowContents<K, I, O> for ProcessContents<P>
where
    I: 'static,
    O: 'static,
    P: ProcessWindowFunction<K, I, O>,
{
    type Acc = Vec<I>;
    fn create(&mut self, value: I) -> Result<Vec<I>, UserError> {
        Ok(vec![value])
    }
    #[inline]
    fn add(&mut self, acc: &mut Vec<I>, value: I) -> Result<(), UserError> {
        acc.push(value);
        Ok(())
    }
    fn merge(&mut self, into: &mut Vec<I>, other: Vec<I>) -> Result<(), UserError> {
        into.extend(other);
        Ok(())
    }
    fn emit(
        &mut self,
        key: &K,
        ctx: &WindowContext,
        acc: &Vec<I>,
        out: &mut Collector<'_, O>,
    ) -> Result<(), UserError> {
        self.process.process(key, ctx, acc, out)
    }
}
