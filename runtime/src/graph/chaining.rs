//! Operator chaining: which operators run together in one task.
//!
//! As in Flink, a node is chained to its input when: it has exactly one input edge, that
//! edge is forward, both sides have the same parallelism, neither side forbids chaining
//! (`Never`), and the node is not a chain head by request (`Head`). A chain is a tree rooted
//! at its head: one node may feed several chained successors.
//!
//! Beyond Flink: an edge between two operators of parallelism 1 is chained whatever its
//! partitioning. With one producer and one consumer subtask, hash, rebalance, rescale and
//! broadcast all send every record to subtask 0 in order, exactly what a forward edge does,
//! so serializing records into buffers between them would buy nothing (timely-dataflow's
//! exchange with one worker is a local hand-over too). A keyed operator of parallelism 1
//! owns every key group, so its keyed state is the same either way.

use super::{Chaining, JobGraph, JobVertex, NodeKind, Partitioning, StreamNode};

/// Whether `node` runs in the same task as its (single) producer.
pub fn is_chained_to_input(g: &JobGraph, node: &StreamNode) -> bool {
    if node.kind == NodeKind::Source || node.inputs.len() != 1 || node.chaining != Chaining::Always
    {
        return false;
    }
    let e = &node.inputs[0];
    let src = &g.nodes[e.source as usize];
    let one_to_one = src.parallelism == 1 && node.parallelism == 1;
    (e.partitioning == Partitioning::Forward || one_to_one)
        && src.parallelism == node.parallelism
        && src.chaining != Chaining::Never
}

/// Groups the nodes of a validated graph into chains.
pub fn chain(g: &JobGraph) -> Vec<JobVertex> {
    // Nodes are in topological order (edges only point backwards), so a node's head is
    // known by the time the node is visited.
    let mut head_of = vec![0u32; g.nodes.len()];
    let mut vertices: Vec<JobVertex> = Vec::new();
    let mut vertex_of_head = std::collections::HashMap::new();
    for n in &g.nodes {
        let vid = if is_chained_to_input(g, n) {
            let head = head_of[n.inputs[0].source as usize];
            head_of[n.id as usize] = head;
            vertex_of_head[&head]
        } else {
            head_of[n.id as usize] = n.id;
            let vid = vertices.len();
            vertex_of_head.insert(n.id, vid);
            vertices.push(JobVertex {
                id: vid as u32,
                name: String::new(),
                nodes: Vec::new(),
                parallelism: n.parallelism,
                max_parallelism: n.max_parallelism,
            });
            vid
        };
        vertices[vid].nodes.push(n.id);
    }
    for v in &mut vertices {
        v.name = v
            .nodes
            .iter()
            .map(|id| g.nodes[*id as usize].name.as_str())
            .collect::<Vec<_>>()
            .join(" -> ");
    }
    vertices
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::StreamEdge;

    fn node(id: u32, parallelism: u32, input: Option<(u32, Partitioning)>) -> StreamNode {
        StreamNode {
            id,
            name: format!("op{id}"),
            uid: format!("uid{id}"),
            kind: if input.is_none() {
                NodeKind::Source
            } else {
                NodeKind::OneInput
            },
            parallelism,
            max_parallelism: 128,
            inputs: input
                .into_iter()
                .map(|(source, partitioning)| StreamEdge {
                    source,
                    input: 0,
                    partitioning,
                    side_output: None,
                })
                .collect(),
            chaining: Chaining::Always,
            keyed: false,
        }
    }

    /// Vertices of source (parallelism `p0`) → op (`p1`, over `part`) → op (forward).
    fn vertices(p0: u32, p1: u32, part: Partitioning, source_chaining: Chaining) -> usize {
        let mut nodes = vec![
            node(0, p0, None),
            node(1, p1, Some((0, part))),
            node(2, p1, Some((1, Partitioning::Forward))),
        ];
        nodes[0].chaining = source_chaining;
        let g = JobGraph {
            name: "t".into(),
            nodes,
            vertices: vec![],
        };
        chain(&g).len()
    }

    #[test]
    fn edges_between_parallelism_one_chain_whatever_their_partitioning() {
        use Partitioning::*;
        for part in [Forward, Hash, Rebalance, Rescale, Broadcast] {
            assert_eq!(
                vertices(1, 1, part, Chaining::Always),
                1,
                "{part:?} at 1 → 1"
            );
        }
        for part in [Hash, Rebalance, Rescale, Broadcast] {
            assert_eq!(
                vertices(2, 2, part, Chaining::Always),
                2,
                "{part:?} at 2 → 2"
            );
            assert_eq!(
                vertices(1, 2, part, Chaining::Always),
                2,
                "{part:?} at 1 → 2"
            );
        }
        assert_eq!(vertices(2, 2, Forward, Chaining::Always), 1);
        assert_eq!(
            vertices(1, 1, Hash, Chaining::Never),
            2,
            "Never still splits"
        );
    }
}
