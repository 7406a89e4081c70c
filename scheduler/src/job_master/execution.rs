//! The execution graph: one execution per subtask, with its state, where it runs, when it
//! changed state and its last counters.
//!
//! Invariant: an execution never leaves a terminal state (FINISHED, CANCELED, FAILED);
//! updates that would are ignored (a late report after the JobManager gave up on a task).

use crate::view::{ExecutionState, SubtaskView, TaskMetricsView, VertexInput, VertexView};
use std::collections::BTreeMap;
use strom_runtime::graph::JobGraph;
use strom_runtime::task::MetricsSnapshot;

/// Epoch milliseconds now.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// One subtask's execution.
#[derive(Debug, Clone)]
pub(crate) struct Execution {
    pub(crate) state: ExecutionState,
    pub(crate) task_manager: Option<String>,
    pub(crate) endpoint: Option<String>,
    pub(crate) timestamps: BTreeMap<ExecutionState, i64>,
    metrics: MetricsSnapshot,
    /// The sample before the last, for the ratios: (counters, epoch ms).
    previous: Option<(MetricsSnapshot, i64)>,
    sampled_at: i64,
}

impl Execution {
    fn new(now: i64) -> Self {
        Execution {
            state: ExecutionState::Created,
            task_manager: None,
            endpoint: None,
            timestamps: BTreeMap::from([(ExecutionState::Created, now)]),
            metrics: MetricsSnapshot::default(),
            previous: None,
            sampled_at: now,
        }
    }

    /// Moves to `state` unless already terminal; returns whether it moved.
    pub(crate) fn transition(&mut self, state: ExecutionState, now: i64) -> bool {
        if self.state.is_terminal() || self.state == state {
            return false;
        }
        self.state = state;
        self.timestamps.entry(state).or_insert(now);
        true
    }

    /// Records a counter sample.
    pub(crate) fn sample(&mut self, m: MetricsSnapshot, now: i64) {
        // A sample the task has not refreshed yet would make an empty interval.
        if now > self.sampled_at && m.total_ns != self.metrics.total_ns {
            self.previous = Some((self.metrics, self.sampled_at));
        }
        self.metrics = m;
        self.sampled_at = now;
    }

    fn ratios(&self) -> (f64, f64, Option<f64>) {
        let Some((prev, _)) = self.previous else {
            return (0.0, 0.0, None);
        };
        let total = self.metrics.total_ns.saturating_sub(prev.total_ns);
        if total == 0 {
            return (0.0, 0.0, None);
        }
        let r = |now: u64, before: u64| (now.saturating_sub(before) as f64 / total as f64).min(1.0);
        let bp = r(self.metrics.backpressured_ns, prev.backpressured_ns);
        let idle = r(self.metrics.idle_ns, prev.idle_ns);
        (bp, idle, Some((1.0 - bp - idle).max(0.0)))
    }

    fn view(&self, subtask: u32, source: bool) -> SubtaskView {
        let (backpressure_ratio, idle_ratio, busy_ratio) = self.ratios();
        let m = &self.metrics;
        SubtaskView {
            subtask,
            status: self.state,
            attempt: 0,
            task_manager_id: self.task_manager.clone(),
            endpoint: self.endpoint.clone(),
            start_time: self
                .timestamps
                .get(&ExecutionState::Deploying)
                .copied()
                .unwrap_or(-1),
            end_time: if self.state.is_terminal() {
                self.timestamps.get(&self.state).copied().unwrap_or(-1)
            } else {
                -1
            },
            state_timestamps: self.timestamps.clone(),
            metrics: TaskMetricsView {
                read_bytes: m.bytes_in,
                write_bytes: m.bytes_out,
                // As Flink: a source reads nothing from the network.
                read_records: if source { 0 } else { m.records_in },
                write_records: m.records_out,
                backpressured_ms: m.backpressured_ns / 1_000_000,
                idle_ms: m.idle_ns / 1_000_000,
                busy_ms: Some(m.busy_ns() / 1_000_000),
            },
            backpressure_ratio,
            idle_ratio,
            busy_ratio,
            sampled_at: self.sampled_at,
        }
    }
}

/// A vertex's executions.
#[derive(Debug, Clone)]
pub(crate) struct ExecutionVertex {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) parallelism: u32,
    pub(crate) max_parallelism: u32,
    operators: Vec<String>,
    inputs: Vec<VertexInput>,
    pub(crate) subtasks: Vec<Execution>,
}

/// All executions of a job.
#[derive(Debug, Clone)]
pub(crate) struct ExecutionGraph {
    pub(crate) vertices: Vec<ExecutionVertex>,
}

/// A vertex's REST id: 32 hex digits from the uids of its operators (stable for the job).
fn vertex_id(graph: &JobGraph, nodes: &[u32]) -> String {
    let uids: Vec<&str> = nodes
        .iter()
        .map(|n| graph.nodes[*n as usize].uid.as_str())
        .collect();
    format!(
        "{:032x}",
        xxhash_rust::xxh3::xxh3_128(uids.join("\n").as_bytes())
    )
}

impl ExecutionGraph {
    /// One CREATED execution per subtask of every vertex.
    pub(crate) fn new(graph: &JobGraph) -> Self {
        let now = now_ms();
        let ids: Vec<String> = graph
            .vertices
            .iter()
            .map(|v| vertex_id(graph, &v.nodes))
            .collect();
        let vertices = graph
            .vertices
            .iter()
            .map(|v| {
                let mut inputs = Vec::new();
                for n in &v.nodes {
                    for e in &graph.nodes[*n as usize].inputs {
                        if let Some(pv) = graph.vertex_of(e.source) {
                            if pv.id != v.id {
                                inputs.push(VertexInput {
                                    vertex_id: ids[pv.id as usize].clone(),
                                    ship_strategy: e.partitioning.ship_strategy().to_string(),
                                });
                            }
                        }
                    }
                }
                ExecutionVertex {
                    id: ids[v.id as usize].clone(),
                    name: v.name.clone(),
                    parallelism: v.parallelism,
                    max_parallelism: v.max_parallelism,
                    operators: v
                        .nodes
                        .iter()
                        .map(|n| graph.nodes[*n as usize].name.clone())
                        .collect(),
                    inputs,
                    subtasks: (0..v.parallelism).map(|_| Execution::new(now)).collect(),
                }
            })
            .collect();
        ExecutionGraph { vertices }
    }

    /// Every execution with its vertex index and subtask.
    pub(crate) fn all_mut(&mut self) -> impl Iterator<Item = (usize, u32, &mut Execution)> {
        self.vertices.iter_mut().enumerate().flat_map(|(v, ev)| {
            ev.subtasks
                .iter_mut()
                .enumerate()
                .map(move |(s, e)| (v, s as u32, e))
        })
    }

    /// One execution.
    pub(crate) fn get_mut(&mut self, vertex: u32, subtask: u32) -> Option<&mut Execution> {
        self.vertices
            .get_mut(vertex as usize)?
            .subtasks
            .get_mut(subtask as usize)
    }

    /// Whether every execution is terminal.
    pub(crate) fn all_terminal(&self) -> bool {
        self.vertices
            .iter()
            .all(|v| v.subtasks.iter().all(|e| e.state.is_terminal()))
    }

    /// Whether every execution finished.
    pub(crate) fn all_finished(&self) -> bool {
        self.vertices.iter().all(|v| {
            v.subtasks
                .iter()
                .all(|e| e.state == ExecutionState::Finished)
        })
    }

    /// Snapshots for the REST API.
    pub(crate) fn view(&self) -> Vec<VertexView> {
        self.vertices
            .iter()
            .map(|v| VertexView {
                id: v.id.clone(),
                name: v.name.clone(),
                parallelism: v.parallelism,
                max_parallelism: v.max_parallelism,
                operators: v.operators.clone(),
                inputs: v.inputs.clone(),
                subtasks: v
                    .subtasks
                    .iter()
                    .enumerate()
                    .map(|(s, e)| e.view(s as u32, v.inputs.is_empty()))
                    .collect(),
            })
            .collect()
    }
}
