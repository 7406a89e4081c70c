//! [`DataStream`]: a typed stream and its transformations.

use super::env::{add_node, GraphBuilder};
use super::node::{downcast, erase, Factory, TypeOf};
use super::{ConnectedStreams, Data, KeyedStream};
use crate::exchange::route_key::HashWith;
use crate::graph::key_groups::key_hash;
use crate::graph::{BuildError, Chaining, NodeKind, Partitioning, StreamEdge};
use crate::operator::basic::{Filter, FlatMap, Map, TryMap, UserError};
use crate::operator::timestamps::TimestampsAndWatermarks;
use crate::operator::{Collector, OperatorContext, Output, OutputTag};
use crate::sink::{CollectHandle, Counted, DiscardSink, PrintSink, TextFileSink};
use crate::state::key_ref::BorrowedKey;
use crate::state::Key;
use crate::time::WatermarkStrategy;
use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::fmt::Display;
use std::marker::PhantomData;
use std::path::PathBuf;
use std::rc::Rc;

/// The routing hash of a keyed stream's records.
pub(crate) type KeyHash<T> = crate::exchange::route_key::SharedRouteKey<T>;

/// A stream of `T` records: the output of one operator, or the union of several.
pub struct DataStream<T> {
    pub(crate) g: Rc<RefCell<GraphBuilder>>,
    /// Upstream nodes and how records reach the next operator from each.
    pub(crate) inputs: Vec<Upstream>,
    /// For keyed streams: the key hash used for partitioning.
    pub(crate) key_hash: Option<KeyHash<T>>,
    _t: PhantomData<fn() -> T>,
}

impl<T> Clone for DataStream<T> {
    fn clone(&self) -> Self {
        DataStream {
            g: self.g.clone(),
            inputs: self.inputs.clone(),
            key_hash: self.key_hash.clone(),
            _t: PhantomData,
        }
    }
}

/// One producer of a stream: its node, the output it reads and how records are routed.
#[derive(Clone)]
pub(crate) struct Upstream {
    pub(crate) node: u32,
    pub(crate) partitioning: Partitioning,
    /// The side output's tag, or `None` for the main output.
    pub(crate) side: Option<Rc<str>>,
}

/// The handle of a sink, to set its parallelism, name, uid and chaining.
pub struct SinkHandle {
    g: Rc<RefCell<GraphBuilder>>,
    id: u32,
}

impl SinkHandle {
    /// Sets the sink's parallelism.
    pub fn set_parallelism(self, p: u32) -> Self {
        self.g.borrow_mut().nodes[self.id as usize].parallelism = p;
        self
    }
    /// Sets the sink's name.
    pub fn name(self, name: &str) -> Self {
        self.g.borrow_mut().nodes[self.id as usize].name = name.to_string();
        self
    }
    /// Sets the sink's uid.
    pub fn uid(self, uid: &str) -> Self {
        self.g.borrow_mut().nodes[self.id as usize].uid = uid.to_string();
        self
    }
    /// Keeps the sink out of its input's chain (Flink's `DataStreamSink::disableChaining`):
    /// records reach it through an exchange, in its own task.
    pub fn disable_chaining(self) -> Self {
        self.g.borrow_mut().nodes[self.id as usize].chaining = Chaining::Never;
        self
    }
}

impl<T: Data> DataStream<T> {
    pub(crate) fn from_node(g: Rc<RefCell<GraphBuilder>>, id: u32) -> Self {
        DataStream {
            g,
            inputs: vec![Upstream {
                node: id,
                partitioning: Partitioning::Default,
                side: None,
            }],
            key_hash: None,
            _t: PhantomData,
        }
    }

    pub(crate) fn single(&self) -> Option<u32> {
        match self.inputs.as_slice() {
            [u] if u.side.is_none() => Some(u.node),
            _ => None,
        }
    }

    fn with_node(self, f: impl FnOnce(&mut crate::graph::StreamNode)) -> Self {
        if let Some(id) = self.single() {
            f(&mut self.g.borrow_mut().nodes[id as usize]);
        }
        self
    }

    /// Sets the parallelism of the operator that produces this stream.
    pub fn set_parallelism(self, p: u32) -> Self {
        self.with_node(|n| n.parallelism = p)
    }
    /// Sets the max parallelism (key groups) of the operator that produces this stream.
    pub fn set_max_parallelism(self, m: u32) -> Self {
        self.with_node(|n| n.max_parallelism = m)
    }
    /// Names the operator that produces this stream.
    pub fn name(self, name: &str) -> Self {
        self.with_node(|n| n.name = name.to_string())
    }
    /// Sets the stable uid of the operator that produces this stream.
    pub fn uid(self, uid: &str) -> Self {
        self.with_node(|n| n.uid = uid.to_string())
    }
    /// Keeps the producing operator out of any chain.
    pub fn disable_chaining(self) -> Self {
        self.with_node(|n| n.chaining = Chaining::Never)
    }
    /// Starts a new chain at the producing operator.
    pub fn start_new_chain(self) -> Self {
        self.with_node(|n| n.chaining = Chaining::Head)
    }

    fn partitioned(mut self, p: Partitioning) -> Self {
        for i in &mut self.inputs {
            i.partitioning = p;
        }
        self.key_hash = None;
        self
    }
    /// Subtask i to subtask i (equal parallelism).
    pub fn forward(self) -> Self {
        self.partitioned(Partitioning::Forward)
    }
    /// Round-robin to all subtasks of the next operator.
    pub fn rebalance(self) -> Self {
        self.partitioned(Partitioning::Rebalance)
    }
    /// Round-robin to a local subset of the next operator's subtasks.
    pub fn rescale(self) -> Self {
        self.partitioned(Partitioning::Rescale)
    }
    /// Every record to every subtask of the next operator.
    pub fn broadcast(self) -> Self {
        self.partitioned(Partitioning::Broadcast)
    }

    pub(crate) fn edges(&self, input: u8) -> (Vec<StreamEdge>, Vec<Option<Rc<dyn Any>>>) {
        let key: Option<Rc<dyn Any>> = self.key_hash.clone().map(|k| Rc::new(k) as Rc<dyn Any>);
        self.inputs
            .iter()
            .map(|u| {
                (
                    StreamEdge {
                        source: u.node,
                        input,
                        partitioning: u.partitioning,
                        side_output: u.side.as_deref().map(str::to_string),
                    },
                    key.clone(),
                )
            })
            .unzip()
    }

    /// Adds a one-input operator built by `make` from its successor.
    pub(crate) fn one_input<O: Data>(
        &self,
        name: &str,
        keyed: bool,
        make: impl Fn(&OperatorContext, Box<dyn Output<O>>) -> crate::error::TaskResult<Box<dyn Output<T>>>
            + 'static,
    ) -> DataStream<O> {
        let (inputs, keys) = self.edges(0);
        let factory = Factory::OneInput(Rc::new(move |ctx, out| {
            let out = downcast::<O>(out, &ctx.name)?;
            Ok(erase::<T>(make(ctx, out)?))
        }));
        let id = add_node(
            &self.g,
            name,
            NodeKind::OneInput,
            inputs,
            keyed,
            factory,
            Some(TypeOf::<O>::rc()),
            keys,
        );
        DataStream::from_node(self.g.clone(), id)
    }

    /// One record out per record in.
    pub fn map<O: Data>(&self, f: impl Fn(T) -> O + Clone + 'static) -> DataStream<O> {
        self.one_input("Map", false, move |ctx, out| {
            Ok(Box::new(Map {
                name: ctx.name.clone(),
                f: f.clone(),
                out,
                mapped: Vec::new(),
            }))
        })
    }

    /// A map whose function may fail; an error fails the job, naming this operator.
    pub fn try_map<O: Data, E: Into<UserError>>(
        &self,
        f: impl Fn(T) -> Result<O, E> + Clone + 'static,
    ) -> DataStream<O> {
        self.one_input("Map", false, move |ctx, out| {
            let f = f.clone();
            Ok(Box::new(TryMap {
                name: ctx.name.clone(),
                f: move |v| f(v).map_err(Into::into),
                out,
            }))
        })
    }

    /// Keeps the records for which `f` holds.
    pub fn filter(&self, f: impl Fn(&T) -> bool + Clone + 'static) -> DataStream<T> {
        self.one_input("Filter", false, move |ctx, out| {
            Ok(Box::new(Filter {
                name: ctx.name.clone(),
                f: f.clone(),
                out,
            }))
        })
    }

    /// Any number of records out per record in.
    pub fn flat_map<O: Data>(
        &self,
        f: impl Fn(T, &mut Collector<'_, O>) + Clone + 'static,
    ) -> DataStream<O> {
        self.one_input("Flat Map", false, move |ctx, out| {
            Ok(Box::new(FlatMap {
                name: ctx.name.clone(),
                f: f.clone(),
                out,
                gathered: Vec::new(),
            }))
        })
    }

    /// Partitions by key: every record of a key goes to the same subtask of the next
    /// (keyed) operator.
    pub fn key_by<K: Key + std::hash::Hash>(
        &self,
        key: impl Fn(&T) -> K + Clone + 'static,
    ) -> KeyedStream<K, T> {
        // The routing hash calls the selector directly, a batch of records per dynamic call.
        let k2 = key.clone();
        let mut stream = self.clone().partitioned(Partitioning::Hash);
        stream.key_hash = Some(Rc::new(HashWith(move |v: &T| key_hash(&k2(v)))));
        let key: Rc<dyn Fn(&T) -> K> = Rc::new(key);
        KeyedStream {
            stream,
            key,
            lookup: None,
        }
    }

    /// Partitions by a key that `key` borrows from the record, as in
    /// `key_by_ref(|w: &String| w.as_str())`: the same partitioning and the same keyed
    /// state as `key_by(|w| w.to_owned())`, but routing hashes the borrowed key and rolling
    /// `reduce`/`aggregate` find their state by it, so an owned key is built only for the
    /// first record of each key (other keyed operators build one per record, as `key_by`).
    ///
    /// ```
    /// # use strom_runtime::api::StreamEnv;
    /// # let mut env = StreamEnv::new("doc", 1, 128);
    /// let words = env.from_collection(vec!["a".to_string(), "b".into(), "a".into()]);
    /// let counts = words
    ///     .map(|w: String| (w, 1u64))
    ///     .key_by_ref(|(w, _): &(String, u64)| w.as_str())
    ///     .reduce(|(w, a), (_, b)| (w, a + b));
    /// # let _ = counts;
    /// ```
    pub fn key_by_ref<Q>(
        &self,
        key: impl for<'a> Fn(&'a T) -> &'a Q + Clone + 'static,
    ) -> KeyedStream<Q::Owned, T>
    where
        Q: ?Sized + std::hash::Hash + Eq + ToOwned + 'static,
        Q::Owned: Key + std::hash::Hash + std::borrow::Borrow<Q>,
    {
        let k2 = key.clone();
        let mut stream = self.clone().partitioned(Partitioning::Hash);
        stream.key_hash = Some(Rc::new(HashWith(move |v: &T| key_hash(k2(v)))));
        let k3 = key.clone();
        KeyedStream {
            stream,
            key: Rc::new(move |v: &T| k3(v).to_owned()),
            lookup: Some(Rc::new(BorrowedKey::new(key))),
        }
    }

    /// This stream and `others` as one stream (records interleave; order kept per input).
    pub fn union(&self, others: &[DataStream<T>]) -> DataStream<T> {
        let mut s = self.clone();
        for o in others {
            s.inputs.extend(o.inputs.iter().cloned());
        }
        s.key_hash = None;
        s
    }

    /// The side output `tag` of the operator that produces this stream (Flink's
    /// `getSideOutput`). Records go there only if the operator was told the tag (a window's
    /// `side_output_late_data`, for one); otherwise the stream stays empty.
    pub fn side_output<S: Data>(&self, tag: &OutputTag<S>) -> DataStream<S> {
        let mut g = self.g.borrow_mut();
        let Some(id) = self.single() else {
            g.errors.push(BuildError::Job(format!(
                "side output '{}' requested from a union or a side output: ask the operator that produces it",
                tag.id()
            )));
            return DataStream::from_node(self.g.clone(), 0);
        };
        let rt = &mut g.runtimes[id as usize];
        match rt.side_outputs.iter().find(|(t, _, _)| t == tag.id()) {
            Some((_, ty, _)) if *ty != TypeId::of::<S>() => {
                let name = g.nodes[id as usize].name.clone();
                g.errors.push(BuildError::Malformed {
                    operator: name,
                    reason: format!("side output '{}' is used with two record types", tag.id()),
                });
            }
            Some(_) => {}
            None => {
                rt.side_outputs
                    .push((tag.id().to_string(), TypeId::of::<S>(), TypeOf::<S>::rc()))
            }
        }
        drop(g);
        DataStream {
            g: self.g.clone(),
            inputs: vec![Upstream {
                node: id,
                partitioning: Partitioning::Default,
                side: Some(tag.id().into()),
            }],
            key_hash: None,
            _t: PhantomData,
        }
    }

    /// Joins this stream with `other` for a two-input operator.
    pub fn connect<B: Data>(&self, other: &DataStream<B>) -> ConnectedStreams<T, B> {
        ConnectedStreams {
            first: self.clone(),
            second: other.clone(),
        }
    }

    /// Assigns event timestamps and watermarks.
    pub fn assign_timestamps_and_watermarks(
        &self,
        strategy: WatermarkStrategy<T>,
    ) -> DataStream<T> {
        self.one_input("Timestamps/Watermarks", false, move |ctx, out| {
            Ok(Box::new(TimestampsAndWatermarks::new(
                &strategy,
                ctx.clone(),
                out,
            )))
        })
    }

    /// Ends the stream in a sink built by `make` for every subtask (a boxed [`Output`]; see
    /// [`Self::sink_with`] for a sink of a concrete type, one dynamic call cheaper per call).
    pub fn sink_to(
        &self,
        name: &str,
        make: impl Fn(&OperatorContext) -> Box<dyn Output<T>> + 'static,
    ) -> SinkHandle {
        self.sink_with(name, make)
    }

    /// Ends the stream in a sink of type `S` built by `make` for every subtask; the records
    /// reaching it are counted as the task's sink records. The counter wraps the sink by
    /// type, so a concrete `S` is reached with the one dynamic call any chain's last output
    /// costs (a boxed one, as [`Self::sink_to`] takes, with two).
    pub fn sink_with<S: Output<T> + 'static>(
        &self,
        name: &str,
        make: impl Fn(&OperatorContext) -> S + 'static,
    ) -> SinkHandle {
        let (inputs, keys) = self.edges(0);
        let factory = Factory::Sink(Rc::new(move |ctx, count| {
            Ok(erase::<T>(Box::new(Counted::new(make(ctx), count.clone()))))
        }));
        let id = add_node(
            &self.g,
            name,
            NodeKind::Sink,
            inputs,
            false,
            factory,
            None,
            keys,
        );
        SinkHandle {
            g: self.g.clone(),
            id,
        }
    }

    /// Prints records with `Display`, one per line.
    pub fn print(&self) -> SinkHandle
    where
        T: Display,
    {
        self.print_with(|v: &T| v.to_string())
    }

    /// Prints records formatted by `format`.
    pub fn print_with(&self, format: impl Fn(&T) -> String + Clone + 'static) -> SinkHandle {
        self.sink_with("Print to Std. Out", move |ctx| {
            PrintSink::new(ctx.subtask, ctx.parallelism, format.clone())
        })
    }

    /// Writes records formatted by `format` to `DIR/part-<subtask>`.
    pub fn write_as_text(
        &self,
        dir: impl Into<PathBuf>,
        format: impl Fn(&T) -> String + Clone + 'static,
    ) -> SinkHandle {
        let dir = dir.into();
        self.sink_with("Text File Sink", move |ctx| {
            TextFileSink::new(dir.clone(), ctx.subtask, format.clone())
        })
    }

    /// Collects records into `handle` (embedded cluster).
    pub fn collect(&self, handle: &CollectHandle<T>) -> SinkHandle
    where
        T: Send,
    {
        let h = handle.clone();
        self.sink_with("Collect Sink", move |_| h.sink())
    }

    /// Drops every record.
    pub fn discard(&self) -> SinkHandle {
        self.sink_with("Discard Sink", |_| DiscardSink::default())
    }
}
