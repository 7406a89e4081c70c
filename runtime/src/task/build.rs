//! Instantiating a subtask's chain on its slot from the job's node factories.

use super::deploy::{OutputEdge, TaskDeployment};
use super::latency::MarkerClock;
use crate::api::node::{AnyOutput, ErasedSelector, ErasedSource, Factory, NodeRuntime};
use crate::error::{Retry, TaskError, TaskResult};
use crate::exchange::reader::InputHandler;
use crate::exchange::writer::WriterCore;
use crate::graph::{JobGraph, JobVertex, Partitioning};
use crate::operator::{Millis, OperatorContext, TimeService};
use crate::sink::SinkCounter;
use std::cell::RefCell;
use std::rc::Rc;

/// Job-wide settings a task needs.
#[derive(Debug, Clone, Copy)]
pub struct TaskSettings {
    /// Buffer timeout in ms (0: flush every record).
    pub buffer_timeout_ms: u64,
    /// Periodic watermark interval in ms.
    pub auto_watermark_interval_ms: u64,
    /// Latency marker interval in ms (0: none).
    pub latency_interval_ms: u64,
    /// Flush partly filled buffers when the task runs out of input.
    pub flush_on_idle: bool,
}

/// The head of a built task.
pub(crate) enum Head {
    /// A source and its chain.
    Source(Box<dyn ErasedSource>),
    /// The logical inputs of the chain head (one, or two for a two-input operator).
    Inputs(Vec<Box<dyn InputHandler>>),
}

/// A subtask ready to run.
pub(crate) struct BuiltTask {
    /// Its head.
    pub head: Head,
    /// Its output writers.
    pub writers: Vec<Rc<RefCell<WriterCore>>>,
    /// Its processing-time service.
    pub time: Rc<TimeService>,
    /// Whether its chain ends in a sink (it records latency markers).
    pub has_sink: bool,
    /// The records that reached the chain's sinks (all of them, if it has several).
    pub sink_records: SinkCounter,
    /// When a source task sends latency markers (`None`: not a source, or markers off).
    pub markers: Option<MarkerClock>,
    /// The chain's name.
    #[allow(dead_code)]
    pub name: String,
}

enum Built {
    One(AnyOutput),
    Two(AnyOutput, AnyOutput),
    Source(Box<dyn ErasedSource>),
}

struct Builder<'a> {
    graph: &'a JobGraph,
    runtimes: &'a [NodeRuntime],
    vertex: &'a JobVertex,
    d: &'a mut TaskDeployment,
    settings: TaskSettings,
    time: Rc<TimeService>,
    writers: Vec<Rc<RefCell<WriterCore>>>,
    has_sink: bool,
    sink_records: SinkCounter,
}

fn internal(msg: String) -> TaskError {
    TaskError::new(format!("internal: {msg}"), Retry::Never)
}

/// Builds subtask `d` of its vertex.
pub(crate) fn build_task(
    graph: &JobGraph,
    runtimes: &[NodeRuntime],
    d: &mut TaskDeployment,
    settings: TaskSettings,
) -> TaskResult<BuiltTask> {
    let vertex = graph
        .vertices
        .get(d.vertex as usize)
        .ok_or_else(|| internal(format!("no vertex {}", d.vertex)))?;
    let head_id = vertex.nodes[0];
    let mut b = Builder {
        graph,
        runtimes,
        vertex,
        d,
        settings,
        time: Rc::new(TimeService::default()),
        writers: Vec::new(),
        has_sink: false,
        sink_records: SinkCounter::default(),
    };
    let (vertex_id, subtask) = (b.d.vertex, b.d.subtask);
    let mut markers = None;
    let head = match b.node(head_id)? {
        Built::Source(s) => {
            markers = MarkerClock::new(settings.latency_interval_ms, vertex_id, subtask);
            Head::Source(s)
        }
        Built::One(o) => Head::Inputs(vec![b.input_handler(head_id, 0, o)?]),
        Built::Two(a, c) => Head::Inputs(vec![
            b.input_handler(head_id, 0, a)?,
            b.input_handler(head_id, 1, c)?,
        ]),
    };
    Ok(BuiltTask {
        head,
        writers: b.writers,
        time: b.time,
        has_sink: b.has_sink,
        sink_records: b.sink_records,
        markers,
        name: vertex.name.clone(),
    })
}

impl Builder<'_> {
    fn ctx(&self, node: u32) -> OperatorContext {
        let n = &self.graph.nodes[node as usize];
        OperatorContext {
            name: n.name.as_str().into(),
            uid: n.uid.as_str().into(),
            subtask: self.d.subtask,
            parallelism: n.parallelism,
            max_parallelism: n.max_parallelism,
            time: self.time.clone(),
            auto_watermark_interval: self.settings.auto_watermark_interval_ms as Millis,
            side_outputs: Default::default(),
        }
    }

    fn input_handler(
        &self,
        head: u32,
        input: u8,
        built: AnyOutput,
    ) -> TaskResult<Box<dyn InputHandler>> {
        let n = &self.graph.nodes[head as usize];
        let e = n
            .inputs
            .iter()
            .find(|e| e.input == input)
            .ok_or_else(|| internal(format!("'{}' has no input {input}", n.name)))?;
        let ty = self.runtimes[e.source as usize]
            .output_type(e.side_output.as_deref())
            .ok_or_else(|| internal(format!("'{}' reads from a node without output", n.name)))?;
        ty.input(built, &n.name)
    }

    fn node(&mut self, id: u32) -> TaskResult<Built> {
        let ctx = self.ctx(id);
        let rt = &self.runtimes[id as usize];
        let out = match &rt.output {
            Some(_) => match self.outputs(id, None)? {
                Some(out) => Some(out),
                None => return Err(internal(format!("operator '{}' has no consumer", ctx.name))),
            },
            None => None,
        };
        for (tag, _, _) in &rt.side_outputs {
            if let Some(side) = self.outputs(id, Some(tag))? {
                ctx.side_outputs.insert(tag.clone(), side);
            }
        }
        match (&rt.factory, out) {
            (Factory::Source(f), Some(out)) => Ok(Built::Source(f(&ctx, out)?)),
            (Factory::OneInput(f), Some(out)) => Ok(Built::One(f(&ctx, out)?)),
            (Factory::TwoInput(f), Some(out)) => {
                let (a, b) = f(&ctx, out)?;
                Ok(Built::Two(a, b))
            }
            (Factory::Sink(f), None) => {
                self.has_sink = true;
                Ok(Built::One(f(&ctx, &self.sink_records)?))
            }
            _ => Err(internal(format!(
                "operator '{}' has an inconsistent factory",
                ctx.name
            ))),
        }
    }

    /// The consumers of one output of `id` (the main one, or side output `side`), built as
    /// chained operators or exchange writers; `None` if nobody reads it.
    fn outputs(&mut self, id: u32, side: Option<&str>) -> TaskResult<Option<AnyOutput>> {
        let rt = &self.runtimes[id as usize];
        let name = &self.graph.nodes[id as usize].name;
        let ty = rt
            .output_type(side)
            .ok_or_else(|| internal(format!("'{name}' has no output {side:?}")))?
            .clone();
        let mut outs = Vec::new();
        for (consumer, edge_index) in self.consumers(id, side) {
            if self.vertex.nodes.contains(&consumer) {
                match self.node(consumer)? {
                    Built::One(o) => outs.push(o),
                    _ => return Err(internal(format!("node {consumer} cannot be chained"))),
                }
            } else {
                outs.push(self.writer(id, consumer, edge_index)?);
            }
        }
        Ok(match outs.len() {
            0 => None,
            1 => outs.pop(),
            _ => Some(ty.fan_out(outs, name)?),
        })
    }

    /// Consumers of one output of `id`, as (consumer node, index of the edge in its inputs).
    fn consumers(&self, id: u32, side: Option<&str>) -> Vec<(u32, usize)> {
        let mut v = Vec::new();
        for n in &self.graph.nodes {
            for (i, e) in n.inputs.iter().enumerate() {
                if e.source == id && e.side_output.as_deref() == side {
                    v.push((n.id, i));
                }
            }
        }
        v
    }

    fn writer(&mut self, from: u32, to: u32, edge_index: usize) -> TaskResult<AnyOutput> {
        let pos = self
            .d
            .outputs
            .iter()
            .position(|o: &OutputEdge| o.from == from && o.to == to && o.edge_index == edge_index)
            .ok_or_else(|| internal(format!("no channels for edge {from} -> {to}")))?;
        let edge = &self.d.outputs[pos];
        let n = edge.channels.len();
        let selector = match edge.partitioning {
            Partitioning::Forward => ErasedSelector::Single,
            Partitioning::Rescale => ErasedSelector::RoundRobin(0),
            Partitioning::Rebalance | Partitioning::Default => {
                ErasedSelector::RoundRobin(self.d.subtask as usize % n.max(1))
            }
            Partitioning::Broadcast => ErasedSelector::Broadcast,
            Partitioning::Hash => {
                let key = self.runtimes[to as usize]
                    .edge_keys
                    .get(edge_index)
                    .cloned()
                    .flatten()
                    .ok_or_else(|| internal(format!("hash edge {from} -> {to} without key")))?;
                ErasedSelector::Hash {
                    key,
                    max_parallelism: edge.consumer_max_parallelism,
                }
            }
        };
        let core = Rc::new(RefCell::new(WriterCore::new(edge.channels.clone())));
        self.writers.push(core.clone());
        let side = self.graph.nodes[to as usize]
            .inputs
            .get(edge_index)
            .and_then(|e| e.side_output.as_deref());
        let ty = self.runtimes[from as usize]
            .output_type(side)
            .ok_or_else(|| internal("writer without type".into()))?;
        ty.writer(
            core,
            selector,
            self.settings.buffer_timeout_ms == 0,
            self.graph.nodes[from as usize].name.as_str().into(),
        )
    }
}
