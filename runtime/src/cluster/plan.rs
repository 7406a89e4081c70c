//! Deployment planning: which slot runs which subtask, and the channels between subtasks.
//!
//! Slot sharing as in Flink's default group: subtask `i` of every vertex runs in slot `i`,
//! so a job needs as many slots as its largest parallelism.

use crate::exchange::{GateShared, LocalChannel};
use crate::graph::{JobGraph, Partitioning};
use crate::task::deploy::{OutputEdge, TaskDeployment};
use crate::task::TaskMetrics;
use std::sync::Arc;

/// Exchange sizing.
#[derive(Debug, Clone, Copy)]
pub struct ExchangeSettings {
    /// Buffers per channel.
    pub buffers_per_channel: usize,
    /// Buffer size in bytes.
    pub buffer_size: usize,
}

/// Producer subtasks feeding consumer subtask `c` (and the reverse), per partitioning.
fn connected(p: Partitioning, producers: u32, consumers: u32, prod: u32, cons: u32) -> bool {
    match p {
        Partitioning::Forward => prod == cons,
        Partitioning::Rescale => {
            if producers <= consumers {
                // Each producer feeds a contiguous block of consumers.
                cons * producers / consumers == prod
            } else {
                prod * consumers / producers == cons
            }
        }
        _ => true,
    }
}

/// Every subtask's deployment, with the channels created.
pub fn plan(graph: &JobGraph, ex: ExchangeSettings) -> Vec<TaskDeployment> {
    let mut tasks: Vec<TaskDeployment> = Vec::new();
    let mut index = std::collections::HashMap::new();
    for v in &graph.vertices {
        for s in 0..v.parallelism {
            index.insert((v.id, s), tasks.len());
            tasks.push(TaskDeployment {
                vertex: v.id,
                subtask: s,
                gate: None,
                inputs: Vec::new(),
                outputs: Vec::new(),
                metrics: Arc::new(TaskMetrics::default()),
            });
        }
    }
    // Count each consumer subtask's channels first, to size its gate.
    let mut edges = Vec::new();
    for n in &graph.nodes {
        let cv = graph.vertex_of(n.id).expect("every node is in a vertex");
        for (ei, e) in n.inputs.iter().enumerate() {
            let pv = graph
                .vertex_of(e.source)
                .expect("every node is in a vertex");
            if pv.id == cv.id {
                continue; // chained
            }
            edges.push((
                n.id,
                ei,
                e.clone(),
                pv.clone(),
                cv.clone(),
                n.max_parallelism,
            ));
        }
    }
    let mut gate_sizes = vec![0usize; tasks.len()];
    for (_, _, e, pv, cv, _) in &edges {
        for c in 0..cv.parallelism {
            for p in 0..pv.parallelism {
                if connected(e.partitioning, pv.parallelism, cv.parallelism, p, c) {
                    gate_sizes[index[&(cv.id, c)]] += 1;
                }
            }
        }
    }
    let gates: Vec<Option<Arc<GateShared>>> = gate_sizes
        .iter()
        .map(|n| (*n > 0).then(|| GateShared::new(*n)))
        .collect();
    for (i, t) in tasks.iter_mut().enumerate() {
        t.gate = gates[i].clone();
    }
    for (to, ei, e, pv, cv, max_par) in edges {
        for p in 0..pv.parallelism {
            let mut channels = Vec::new();
            for c in 0..cv.parallelism {
                if !connected(e.partitioning, pv.parallelism, cv.parallelism, p, c) {
                    continue;
                }
                let ci = index[&(cv.id, c)];
                let gate = gates[ci].clone().expect("sized above");
                let ch = LocalChannel::new(
                    gate,
                    tasks[ci].inputs.len() as u32,
                    ex.buffers_per_channel,
                    ex.buffer_size,
                );
                tasks[ci].inputs.push((ch.clone(), e.input));
                channels.push(ch);
            }
            let pi = index[&(pv.id, p)];
            tasks[pi].outputs.push(OutputEdge {
                from: e.source,
                to,
                edge_index: ei,
                partitioning: e.partitioning,
                channels,
                consumer_max_parallelism: max_par,
            });
        }
    }
    tasks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rescale_is_pointwise_and_complete() {
        for (np, nc) in [(2u32, 4u32), (4, 2), (3, 3), (1, 5), (5, 1)] {
            for c in 0..nc {
                let feeders = (0..np)
                    .filter(|p| connected(Partitioning::Rescale, np, nc, *p, c))
                    .count();
                assert!(feeders >= 1, "{np}->{nc}: consumer {c} unfed");
            }
            for p in 0..np {
                let targets = (0..nc)
                    .filter(|c| connected(Partitioning::Rescale, np, nc, p, *c))
                    .count();
                assert!(targets >= 1, "{np}->{nc}: producer {p} has no target");
            }
        }
    }
}
