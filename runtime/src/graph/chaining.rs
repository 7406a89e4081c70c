//! Operator chaining: which operators run together in one task.
//!
//! As in Flink, a node is chained to its input when: it has exactly one input edge, that
//! edge is forward, both sides have the same parallelism, neither side forbids chaining
//! (`Never`), and the node is not a chain head by request (`Head`). A chain is a tree rooted
//! at its head: one node may feed several chained successors.

use super::{Chaining, JobGraph, JobVertex, NodeKind, Partitioning, StreamNode};

/// Whether `node` runs in the same task as its (single) producer.
pub fn is_chained_to_input(g: &JobGraph, node: &StreamNode) -> bool {
    if node.kind == NodeKind::Source || node.inputs.len() != 1 || node.chaining != Chaining::Always
    {
        return false;
    }
    let e = &node.inputs[0];
    let src = &g.nodes[e.source as usize];
    e.partitioning == Partitioning::Forward
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
