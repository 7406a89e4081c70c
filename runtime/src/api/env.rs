//! The environment a job is built in.

use super::node::{erase, ErasedSource, Factory, NodeRuntime, SourceDriver, TypeOf};
use super::{Data, DataStream};
use crate::graph::{
    chaining, validate, BuildError, Chaining, JobGraph, NodeKind, Partitioning, StreamNode,
};
use crate::operator::OperatorContext;
use crate::source::{
    CollectionSource, GeneratorSource, IteratorSource, SequenceSource, SocketTextSource,
    SourceReader, TextFileSource,
};
use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;

pub(crate) struct GraphBuilder {
    pub(crate) name: String,
    pub(crate) nodes: Vec<StreamNode>,
    pub(crate) runtimes: Vec<NodeRuntime>,
    pub(crate) parallelism: u32,
    pub(crate) max_parallelism: u32,
    /// API misuse found while the job was described, reported when it is built.
    pub(crate) errors: Vec<BuildError>,
}

/// Builds a job (Flink's StreamExecutionEnvironment). Lives on one core while the job's
/// builder function runs.
pub struct StreamEnv {
    pub(crate) g: Rc<RefCell<GraphBuilder>>,
}

impl StreamEnv {
    /// An environment for job `name` with a default parallelism and max parallelism.
    pub fn new(name: &str, parallelism: u32, max_parallelism: u32) -> Self {
        StreamEnv {
            g: Rc::new(RefCell::new(GraphBuilder {
                name: name.to_string(),
                nodes: Vec::new(),
                runtimes: Vec::new(),
                parallelism: parallelism.max(1),
                max_parallelism: max_parallelism.max(1),
                errors: Vec::new(),
            })),
        }
    }

    /// Default parallelism for operators added from now on.
    pub fn set_parallelism(&mut self, parallelism: u32) -> &mut Self {
        self.g.borrow_mut().parallelism = parallelism;
        self
    }

    /// The default parallelism.
    pub fn parallelism(&self) -> u32 {
        self.g.borrow().parallelism
    }

    /// Sets the job name.
    pub fn set_job_name(&mut self, name: &str) -> &mut Self {
        self.g.borrow_mut().name = name.to_string();
        self
    }

    /// A source built by `make` for every subtask.
    pub fn add_source<T: Data>(
        &mut self,
        name: &str,
        make: impl Fn(&OperatorContext) -> Box<dyn SourceReader<T>> + 'static,
    ) -> DataStream<T> {
        let factory = Factory::Source(Rc::new(move |ctx, out| {
            let out = super::node::downcast::<T>(out, &ctx.name)?;
            Ok(Box::new(SourceDriver {
                reader: make(ctx),
                out,
            }) as Box<dyn ErasedSource>)
        }));
        let _ = erase::<T>;
        let id = self.add_node(
            name,
            NodeKind::Source,
            Vec::new(),
            false,
            factory,
            Some(TypeOf::<T>::rc()),
            Vec::new(),
        );
        DataStream::from_node(self.g.clone(), id)
    }

    /// The numbers `start..end`, split across subtasks in contiguous ranges.
    pub fn from_sequence(&mut self, start: u64, end: u64) -> DataStream<u64> {
        self.add_source("Sequence Source", move |ctx| {
            Box::new(SequenceSource::split(
                start,
                end,
                ctx.subtask,
                ctx.parallelism,
            ))
        })
    }

    /// Numbers from `start` on, forever (until cancelled).
    pub fn sequence_unbounded(&mut self, start: u64) -> DataStream<u64> {
        self.add_source("Unbounded Sequence Source", move |ctx| {
            Box::new(SequenceSource::unbounded(start, ctx.subtask))
        })
    }

    /// `count` records `f(0), f(1), …`, split across subtasks in contiguous ranges, at most
    /// `rate` records per second over all subtasks if given (Flink's DataGeneratorSource).
    pub fn from_generator<T: Data>(
        &mut self,
        count: u64,
        rate: Option<f64>,
        f: impl Fn(u64) -> T + 'static,
    ) -> DataStream<T> {
        let f = Rc::new(f);
        self.add_source("Data Generator Source", move |ctx| {
            Box::new(GeneratorSource::split(
                f.clone(),
                count,
                rate,
                ctx.subtask,
                ctx.parallelism,
            ))
        })
    }

    /// The elements of `items` (parallelism 1, so they keep their order).
    pub fn from_collection<T: Data>(&mut self, items: Vec<T>) -> DataStream<T> {
        self.add_source("Collection Source", move |ctx| {
            Box::new(CollectionSource::new(
                items.clone(),
                ctx.subtask,
                ctx.parallelism,
            ))
        })
        .set_parallelism(1)
    }

    /// What the iterator made by `make` yields (parallelism 1).
    pub fn from_iter<T: Data, I: Iterator<Item = T> + 'static>(
        &mut self,
        make: impl Fn() -> I + 'static,
    ) -> DataStream<T> {
        self.add_source("Iterator Source", move |_| {
            Box::new(IteratorSource::over(make()))
        })
        .set_parallelism(1)
    }

    /// The lines of a text file, split across subtasks by byte range.
    pub fn read_text_file(&mut self, path: impl Into<PathBuf>) -> DataStream<String> {
        let path = path.into();
        self.add_source("Text File Source", move |ctx| {
            Box::new(TextFileSource::new(
                path.clone(),
                ctx.subtask,
                ctx.parallelism,
            ))
        })
    }

    /// Lines read from a TCP socket until the peer closes it (parallelism 1).
    pub fn socket_text_stream(&mut self, host: &str, port: u16) -> DataStream<String> {
        let addr = format!("{host}:{port}");
        self.add_source("Socket Stream", move |_| {
            Box::new(SocketTextSource::new(addr.clone()))
        })
        .set_parallelism(1)
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn add_node(
        &mut self,
        name: &str,
        kind: NodeKind,
        inputs: Vec<crate::graph::StreamEdge>,
        keyed: bool,
        factory: Factory,
        output: Option<Rc<dyn super::node::StreamType>>,
        edge_keys: Vec<Option<Rc<dyn std::any::Any>>>,
    ) -> u32 {
        add_node(
            &self.g, name, kind, inputs, keyed, factory, output, edge_keys,
        )
    }

    /// Resolves default partitionings, validates and chains: the job as data.
    pub fn into_graph(self) -> Result<JobGraph, BuildError> {
        self.build().map(|(g, _)| g)
    }

    /// Resolves default partitionings, validates and chains: the job as data, and the
    /// factories to instantiate its operators on this core.
    pub(crate) fn build(self) -> Result<(JobGraph, Vec<NodeRuntime>), BuildError> {
        let g = Rc::try_unwrap(self.g)
            .map_err(|_| {
                BuildError::Job("a DataStream outlived the job's builder function".into())
            })?
            .into_inner();
        if let Some(e) = g.errors.into_iter().next() {
            return Err(e);
        }
        check_side_outputs(&g.nodes, &g.runtimes)?;
        let mut nodes = g.nodes;
        let parallelism: Vec<u32> = nodes.iter().map(|n| n.parallelism).collect();
        for n in &mut nodes {
            for e in &mut n.inputs {
                if e.partitioning == Partitioning::Default {
                    let same = parallelism.get(e.source as usize) == Some(&n.parallelism);
                    e.partitioning = if same {
                        Partitioning::Forward
                    } else {
                        Partitioning::Rebalance
                    };
                }
            }
        }
        let mut graph = JobGraph {
            name: g.name,
            nodes,
            vertices: Vec::new(),
        };
        validate(&graph)?;
        graph.vertices = chaining::chain(&graph);
        Ok((graph, g.runtimes))
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn add_node(
    g: &Rc<RefCell<GraphBuilder>>,
    name: &str,
    kind: NodeKind,
    inputs: Vec<crate::graph::StreamEdge>,
    keyed: bool,
    factory: Factory,
    output: Option<Rc<dyn super::node::StreamType>>,
    edge_keys: Vec<Option<Rc<dyn std::any::Any>>>,
) -> u32 {
    let mut g = g.borrow_mut();
    let id = g.nodes.len() as u32;
    let node = StreamNode {
        id,
        name: name.to_string(),
        uid: format!("{id}-{}", name.to_lowercase().replace(' ', "-")),
        kind,
        parallelism: g.parallelism,
        max_parallelism: g.max_parallelism,
        inputs,
        chaining: Chaining::Always,
        keyed,
    };
    g.nodes.push(node);
    g.runtimes.push(NodeRuntime {
        factory,
        output,
        edge_keys,
        side_outputs: Vec::new(),
    });
    id
}

/// Every edge that reads a side output names one its producer declared.
fn check_side_outputs(nodes: &[StreamNode], runtimes: &[NodeRuntime]) -> Result<(), BuildError> {
    for n in nodes {
        for e in &n.inputs {
            let Some(tag) = e.side_output.as_deref() else {
                continue;
            };
            let declared = runtimes
                .get(e.source as usize)
                .and_then(|rt| rt.output_type(Some(tag)))
                .is_some();
            if !declared {
                return Err(BuildError::Malformed {
                    operator: n.name.clone(),
                    reason: format!("reads side output '{tag}' that its input does not declare"),
                });
            }
        }
    }
    Ok(())
}
