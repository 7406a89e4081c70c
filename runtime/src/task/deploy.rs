//! What a slot is told to run: plain data and cross-core handles (`Send`).

use super::TaskMetrics;
use crate::exchange::{GateShared, LocalChannel};
use crate::graph::Partitioning;
use std::sync::Arc;

/// An output edge of a task that leaves its chain.
pub struct OutputEdge {
    /// Producing node (in this task's chain).
    pub from: u32,
    /// Consuming node.
    pub to: u32,
    /// Index of the edge in the consumer's `inputs`.
    pub edge_index: usize,
    /// Partitioning.
    pub partitioning: Partitioning,
    /// Channels, ordered by consumer subtask (all-to-all) or pointwise target.
    pub channels: Vec<Arc<LocalChannel>>,
    /// Consumer max parallelism (for key groups).
    pub consumer_max_parallelism: u32,
}

/// One subtask to run.
pub struct TaskDeployment {
    /// The chain.
    pub vertex: u32,
    /// The subtask index.
    pub subtask: u32,
    /// The gate's shared side (input tasks).
    pub gate: Option<Arc<GateShared>>,
    /// Input channels in gate order, each with the logical input it feeds (0 or 1).
    pub inputs: Vec<(Arc<LocalChannel>, u8)>,
    /// Handles of the input channels that come from other TaskManagers: kept while the task
    /// runs (dropping one gives the channel up).
    pub remote_inputs: Vec<strom_net::RemoteInput>,
    /// Output edges.
    pub outputs: Vec<OutputEdge>,
    /// Counters.
    pub metrics: Arc<TaskMetrics>,
}
