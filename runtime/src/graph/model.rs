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

#[cfg(test)]
mod tests {
    //! The graph is data that crosses processes (serde JSON for the fingerprint and the
    //! control plane, rkyv derived for the wire): both round trips give back the same graph.

    use super::*;

    fn edge(source: u32, partitioning: Partitioning, side_output: Option<&str>) -> StreamEdge {
        StreamEdge {
            source,
            input: 0,
            partitioning,
            side_output: side_output.map(str::to_string),
        }
    }

    fn node(id: u32, kind: NodeKind, parallelism: u32, inputs: Vec<StreamEdge>) -> StreamNode {
        StreamNode {
            id,
            name: format!("Operator {id} (ü)"),
            uid: format!("uid-{id}"),
            kind,
            parallelism,
            max_parallelism: 100 + id,
            inputs,
            chaining: Chaining::Always,
            keyed: false,
        }
    }

    /// Two sources, every partitioning kind on some edge, a side output, a two-input
    /// operator, every chaining strategy, keyed nodes, different max parallelisms; five
    /// vertices.
    fn sample() -> JobGraph {
        use Partitioning::*;
        let mut nodes = vec![
            node(0, NodeKind::Source, 2, vec![]),
            node(1, NodeKind::OneInput, 2, vec![edge(0, Forward, None)]),
            node(2, NodeKind::OneInput, 4, vec![edge(1, Hash, None)]),
            node(3, NodeKind::Source, 1, vec![]),
            node(
                4,
                NodeKind::TwoInput,
                4,
                vec![
                    edge(2, Default, None),
                    StreamEdge {
                        input: 1,
                        ..edge(3, Broadcast, None)
                    },
                ],
            ),
            node(5, NodeKind::OneInput, 2, vec![edge(4, Rescale, None)]),
            node(6, NodeKind::Sink, 3, vec![edge(5, Rebalance, None)]),
            node(7, NodeKind::Sink, 4, vec![edge(4, Forward, Some("late"))]),
        ];
        nodes[2].keyed = true;
        nodes[4].keyed = true;
        nodes[3].chaining = Chaining::Never;
        nodes[5].chaining = Chaining::Head;
        let vertex = |id: u32, ns: &[u32], parallelism: u32, max_parallelism: u32| JobVertex {
            id,
            name: ns
                .iter()
                .map(|n| format!("Operator {n} (ü)"))
                .collect::<Vec<_>>()
                .join(" -> "),
            nodes: ns.to_vec(),
            parallelism,
            max_parallelism,
        };
        JobGraph {
            name: "round trip \"job\"".into(),
            nodes,
            vertices: vec![
                vertex(0, &[0, 1], 2, 100),
                vertex(1, &[2], 4, 102),
                vertex(2, &[3], 1, 103),
                vertex(3, &[4, 7], 4, 104),
                vertex(4, &[5], 2, 105),
                vertex(5, &[6], 3, 106),
            ],
        }
    }

    #[test]
    fn the_sample_covers_every_partitioning() {
        let g = sample();
        let used: std::collections::HashSet<Partitioning> = g
            .nodes
            .iter()
            .flat_map(|n| n.inputs.iter().map(|e| e.partitioning))
            .collect();
        assert_eq!(used.len(), 6, "{used:?}");
    }

    #[test]
    fn serde_json_round_trip_gives_the_same_graph() {
        let g = sample();
        let json = serde_json::to_string(&g).unwrap();
        let back: JobGraph = serde_json::from_str(&json).unwrap();
        assert_eq!(back, g);
        assert_eq!(back.fingerprint(), g.fingerprint());
    }

    #[test]
    fn rkyv_round_trip_gives_the_same_graph_and_a_valid_archive() {
        let g = sample();
        let bytes = rkyv::to_bytes::<rkyv::rancor::Error>(&g).unwrap();
        // Read in place, validated.
        let archived = rkyv::access::<ArchivedJobGraph, rkyv::rancor::Error>(&bytes).unwrap();
        assert_eq!(archived.name.as_str(), g.name);
        assert_eq!(archived.nodes.len(), g.nodes.len());
        assert_eq!(archived.vertices.len(), g.vertices.len());
        for (a, n) in archived.nodes.iter().zip(&g.nodes) {
            assert_eq!(a.uid.as_str(), n.uid);
            assert_eq!(a.max_parallelism.to_native(), n.max_parallelism);
            assert_eq!(a.inputs.len(), n.inputs.len());
        }
        let late = &archived.nodes[7].inputs[0];
        assert!(matches!(late.partitioning, ArchivedPartitioning::Forward));
        assert_eq!(late.side_output.as_ref().map(|s| s.as_str()), Some("late"));
        assert!(matches!(
            archived.nodes[4].inputs[1].partitioning,
            ArchivedPartitioning::Broadcast
        ));
        assert_eq!(archived.nodes[4].inputs[1].input, 1);
        // And back to the owned graph, from the archive and straight from the bytes.
        let back: JobGraph = rkyv::deserialize::<JobGraph, rkyv::rancor::Error>(archived).unwrap();
        assert_eq!(back, g);
        let back = rkyv::from_bytes::<JobGraph, rkyv::rancor::Error>(&bytes).unwrap();
        assert_eq!(back, g);
        // Validation is real: a truncated archive is refused.
        let cut = &bytes[..bytes.len() - 8];
        assert!(rkyv::access::<ArchivedJobGraph, rkyv::rancor::Error>(cut).is_err());
    }
}
