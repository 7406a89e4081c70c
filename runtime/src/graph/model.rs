//! The data types of a job graph.

use serde::{Deserialize, Serialize};

/// How records are routed from a producer's subtasks to a consumer's subtasks.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
)]
pub enum Partitioning {
    /// Resolved when the job is built: forward if the parallelisms are equal, else rebalance.
    Default,
    /// Subtask i to subtask i (equal parallelism); chainable.
    Forward,
    /// Round-robin over all consumer subtasks.
    Rebalance,
    /// Round-robin over a local subset of consumer subtasks (pointwise).
    Rescale,
    /// Every record to every consumer subtask.
    Broadcast,
    /// By key: key group = hash(key) mod max parallelism; each consumer owns a range.
    Hash,
}

impl Partitioning {
    /// Whether every producer subtask connects to every consumer subtask.
    pub fn is_all_to_all(self) -> bool {
        matches!(
            self,
            Partitioning::Rebalance | Partitioning::Broadcast | Partitioning::Hash
        )
    }

    /// Flink's name for the ship strategy, as shown in plans.
    pub fn ship_strategy(self) -> &'static str {
        match self {
            Partitioning::Default => "DEFAULT",
            Partitioning::Forward => "FORWARD",
            Partitioning::Rebalance => "REBALANCE",
            Partitioning::Rescale => "RESCALE",
            Partitioning::Broadcast => "BROADCAST",
            Partitioning::Hash => "HASH",
        }
    }
}

/// What kind of operator a node is.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
)]
pub enum NodeKind {
    /// Produces records; no inputs.
    Source,
    /// One logical input (possibly several edges: a union).
    OneInput,
    /// Two logical inputs (connect, join).
    TwoInput,
    /// Consumes records; produces none.
    Sink,
}

/// Whether an operator may be chained to its neighbours (Flink's ChainingStrategy).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
)]
pub enum Chaining {
    /// Chain with the predecessor and successors where the edge allows.
    Always,
    /// Start a new chain here, but successors may chain to this operator.
    Head,
    /// Never chain.
    Never,
}

/// An input edge of a node.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
)]
pub struct StreamEdge {
    /// The producing node.
    pub source: u32,
    /// Which logical input of the consumer (0, or 1 for the second input of a two-input op).
    pub input: u8,
    /// How records are routed.
    pub partitioning: Partitioning,
    /// The producer's side output this edge carries (its tag), or `None` for its main output.
    #[serde(default)]
    pub side_output: Option<String>,
}

/// One operator of the job.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
)]
pub struct StreamNode {
    /// Index in [`JobGraph::nodes`].
    pub id: u32,
    /// Display name.
    pub name: String,
    /// Stable identity for state (user-set or derived from the position in the graph).
    pub uid: String,
    /// Operator kind.
    pub kind: NodeKind,
    /// Number of parallel subtasks.
    pub parallelism: u32,
    /// Number of key groups.
    pub max_parallelism: u32,
    /// Input edges, in order.
    pub inputs: Vec<StreamEdge>,
    /// Chaining strategy.
    pub chaining: Chaining,
    /// Whether the operator uses keyed state or timers, so its input must be hash-partitioned.
    pub keyed: bool,
}

/// A chain of operators that runs as one task per subtask.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
)]
pub struct JobVertex {
    /// Index in [`JobGraph::vertices`].
    pub id: u32,
    /// Display name (the chained operators' names joined by " -> ").
    pub name: String,
    /// The chained nodes, head first, in topological order.
    pub nodes: Vec<u32>,
    /// Parallelism shared by all chained nodes.
    pub parallelism: u32,
    /// Max parallelism of the head.
    pub max_parallelism: u32,
}

/// A whole job as data.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
)]
pub struct JobGraph {
    /// Job name.
    pub name: String,
    /// Operators, by id.
    pub nodes: Vec<StreamNode>,
    /// Chains, by id.
    pub vertices: Vec<JobVertex>,
}

impl JobGraph {
    /// The vertex (chain) that holds `node`.
    pub fn vertex_of(&self, node: u32) -> Option<&JobVertex> {
        self.vertices.iter().find(|v| v.nodes.contains(&node))
    }

    /// Edges `(consumer, edge)` that leave `node`.
    pub fn outputs_of(&self, node: u32) -> impl Iterator<Item = (&StreamNode, &StreamEdge)> {
        self.nodes.iter().flat_map(move |n| {
            n.inputs
                .iter()
                .filter(move |e| e.source == node)
                .map(move |e| (n, e))
        })
    }

    /// A structural fingerprint: equal graphs built by the same builder give equal values.
    /// Processes compare it to make sure they rebuilt the same job.
    pub fn fingerprint(&self) -> u64 {
        let json = serde_json::to_vec(self).unwrap_or_default();
        xxhash_rust::xxh3::xxh3_64(&json)
    }

    /// The largest parallelism of any vertex: the slots the job needs with slot sharing.
    pub fn slots_needed(&self) -> usize {
        self.vertices
            .iter()
            .map(|v| v.parallelism as usize)
            .max()
            .unwrap_or(0)
    }
}
