//! [`WindowedStream`]: a keyed stream grouped into windows (Flink's WindowedStream).

use super::node::TypeOf;
use super::{Data, DataStream, KeyedStream};
use crate::graph::BuildError;
use crate::operator::{Millis, OutputTag};
use crate::state::{AggregateFunction, Key};
use crate::window::core::WindowCore;
use crate::window::function::{
    AggregateContents, PassThrough, ProcessContents, ReduceContents, WindowContents,
};
use crate::window::operator::WindowOperator;
use crate::window::{ProcessWindowFunction, WindowAssigner};
use std::any::TypeId;
use std::marker::PhantomData;
use std::time::Duration;

/// A keyed stream grouped into windows; ends in a window function.
///
/// ```
/// use std::time::Duration;
/// use strom_runtime::api::{StreamEnv, WatermarkStrategy};
/// use strom_runtime::window::TumblingEventTimeWindows;
///
/// fn job(env: &mut StreamEnv) {
///     env.from_sequence(0, 1_000)
///         .assign_timestamps_and_watermarks(
///             WatermarkStrategy::for_monotonous_timestamps()
///                 .with_timestamp_assigner(|x: &u64, _| *x as i64),
///         )
///         .map(|x| (x % 10, 1u64))
///         .key_by(|(k, _): &(u64, u64)| *k)
///         .window(TumblingEventTimeWindows::of(Duration::from_millis(100)))
///         .reduce(|(k, a), (_, b)| (k, a + b))
///         .discard();
/// }
/// ```
pub struct WindowedStream<K, T> {
    keyed: KeyedStream<K, T>,
    assigner: WindowAssigner,
    lateness: Millis,
    late: Option<OutputTag<T>>,
    /// `window_all`: the window operator runs with parallelism 1.
    all: bool,
}

impl<K: Key, T: Data> WindowedStream<K, T> {
    pub(crate) fn new(keyed: KeyedStream<K, T>, assigner: WindowAssigner, all: bool) -> Self {
        if let Err(e) = assigner.check() {
            keyed.stream.g.borrow_mut().errors.push(BuildError::Job(e));
        }
        WindowedStream {
            keyed,
            assigner,
            lateness: 0,
            late: None,
            all,
        }
    }

    /// Keeps event-time windows for `lateness` after they fire: a late record updates the
    /// window and fires it again. (Ignored for processing time, as in Flink.)
    pub fn allowed_lateness(mut self, lateness: Duration) -> Self {
        self.lateness = Millis::try_from(lateness.as_millis()).unwrap_or(Millis::MAX);
        self
    }

    /// Sends records that are too late for all their windows to the side output `tag`
    /// (read it with [`DataStream::side_output`] on the result) instead of dropping them.
    pub fn side_output_late_data(mut self, tag: &OutputTag<T>) -> Self {
        self.late = Some(tag.clone());
        self
    }

    /// Reduces each window's records with `f` (incrementally) and emits the result.
    pub fn reduce(&self, f: impl Fn(T, T) -> T + Clone + 'static) -> DataStream<T> {
        self.reduce_with(f, PassThrough)
    }

    /// Reduces each window's records with `f`, then runs `process` on the result (with the
    /// key and the window).
    pub fn reduce_with<O: Data, P: ProcessWindowFunction<K, T, O> + Clone>(
        &self,
        f: impl Fn(T, T) -> T + Clone + 'static,
        process: P,
    ) -> DataStream<O> {
        self.build("reduce", move || ReduceContents {
            reduce: f.clone(),
            process: process.clone(),
            _i: PhantomData,
        })
    }

    /// Aggregates each window's records with `f` (incrementally) and emits the result.
    pub fn aggregate<A: 'static, R: Data, F: AggregateFunction<T, A, R> + Clone>(
        &self,
        f: F,
    ) -> DataStream<R> {
        self.aggregate_with(f, PassThrough)
    }

    /// Aggregates each window's records with `f`, then runs `process` on the result.
    pub fn aggregate_with<A, R, O, F, P>(&self, f: F, process: P) -> DataStream<O>
    where
        A: 'static,
        R: 'static,
        O: Data,
        F: AggregateFunction<T, A, R> + Clone,
        P: ProcessWindowFunction<K, R, O> + Clone,
    {
        self.build("aggregate", move || AggregateContents {
            f: f.clone(),
            process: process.clone(),
            _t: PhantomData,
        })
    }

    /// Keeps every record of a window and runs `process` on them when it fires.
    pub fn process<O: Data, P: ProcessWindowFunction<K, T, O> + Clone>(
        &self,
        process: P,
    ) -> DataStream<O> {
        self.build("process", move || ProcessContents {
            process: process.clone(),
        })
    }

    fn build<O: Data, C: WindowContents<K, T, O>>(
        &self,
        function: &str,
        contents: impl Fn() -> C + 'static,
    ) -> DataStream<O> {
        let key = self.keyed.key.clone();
        let assigner = self.assigner;
        let lateness = self.lateness;
        let late = self.late.clone();
        let name = format!("Window({assigner}, {function})");
        let out = self.keyed.stream.one_input(&name, true, move |ctx, out| {
            let key = key.clone();
            let late = match &late {
                Some(tag) => Some(ctx.side_outputs.take(tag)?),
                None => None,
            };
            let core = WindowCore::new(
                ctx.name.clone(),
                move |v: &T| key(v),
                assigner,
                lateness,
                contents(),
                ctx.time.clone(),
            );
            Ok(Box::new(WindowOperator { core, out, late }))
        });
        if let (Some(tag), Some(id)) = (&self.late, out.single()) {
            out.g.borrow_mut().runtimes[id as usize].side_outputs.push((
                tag.id().to_string(),
                TypeId::of::<T>(),
                TypeOf::<T>::rc(),
            ));
        }
        if self.all {
            out.set_parallelism(1)
        } else {
            out
        }
    }
}

impl<K: Key, T: Data> KeyedStream<K, T> {
    /// Groups each key's records into windows.
    pub fn window(&self, assigner: WindowAssigner) -> WindowedStream<K, T> {
        WindowedStream::new(self.clone(), assigner, false)
    }
}

impl<T: Data> DataStream<T> {
    /// Groups all records into windows, in one subtask (Flink's windowAll).
    pub fn window_all(&self, assigner: WindowAssigner) -> WindowedStream<(), T> {
        WindowedStream::new(self.key_by(|_| ()), assigner, true)
    }
}
