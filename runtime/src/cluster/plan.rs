//! Deployment planning: which slot runs which subtask, and the channels between subtasks.
//!
//! Slot sharing as in Flink's default group: subtask `i` of every vertex runs in slot `i`,
//! so a job needs as many slots as its largest parallelism.
//!
//! A channel between subtasks whose slots belong to the same TaskManager is an in-process
//! [`LocalChannel`]. Between TaskManagers ([`Remote`]), the producer's TaskManager
//! registers the subpartition with its network stack and the consumer's TaskManager
//! requests it; both ends are still `LocalChannel`s, fed or drained by the network threads.

use super::network::{PartitionRelease, TaskManagerNetwork};
use crate::exchange::{GateShared, LocalChannel};
use crate::graph::{JobGraph, Partitioning};
use crate::task::deploy::{OutputEdge, TaskDeployment};
use crate::task::TaskMetrics;
use std::collections::HashMap;
use std::sync::Arc;
use strom_net::{BufferPool, PartitionId};

/// Where remote exchanges of a plan go.
pub struct Remote<'a> {
    /// The TaskManagers' network stacks.
    pub net: &'a Arc<TaskManagerNetwork>,
    /// Distinguishes this job's partitions from every other job's.
    pub job_key: u64,
    /// Slots in the cluster (subtask `s` runs in slot `s % slots`).
    pub slots: usize,
}

impl Remote<'_> {
    fn task_manager(&self, subtask: u32) -> usize {
        self.net.task_manager_of(subtask as usize % self.slots)
    }
}

/// The partition of producer subtask `p` on the edge into node `to` (input `ei`).
fn partition_id(job_key: u64, to: u32, ei: usize, p: u32) -> PartitionId {
    let mut bytes = [0u8; 20];
    bytes[..8].copy_from_slice(&job_key.to_le_bytes());
    bytes[8..12].copy_from_slice(&to.to_le_bytes());
    bytes[12..16].copy_from_slice(&(ei as u32).to_le_bytes());
    bytes[16..].copy_from_slice(&p.to_le_bytes());
    PartitionId(xxhash_rust::xxh3::xxh3_128(&bytes))
}

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

/// Every subtask's deployment, with the channels created; with `remote`, also the
/// partitions registered for exchanges between TaskManagers (release them when the job
/// ends). Fails if a network stack cannot provide buffers or take a request.
pub fn plan(
    graph: &JobGraph,
    ex: ExchangeSettings,
    remote: Option<Remote<'_>>,
) -> Result<(Vec<TaskDeployment>, Option<PartitionRelease>), String> {
    let mut release = remote
        .as_ref()
        .map(|r| PartitionRelease::new(r.net.clone()));
    match plan_channels(graph, ex, remote.as_ref(), &mut release) {
        Ok(tasks) => Ok((tasks, release)),
        Err(e) => {
            if let Some(r) = release {
                let _ = r.release();
            }
            Err(e)
        }
    }
}

fn plan_channels(
    graph: &JobGraph,
    ex: ExchangeSettings,
    remote: Option<&Remote<'_>>,
    release: &mut Option<PartitionRelease>,
) -> Result<Vec<TaskDeployment>, String> {
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
                remote_inputs: Vec::new(),
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
    let mut floating: Vec<Option<BufferPool>> = vec![None; tasks.len()];
    for (to, ei, e, pv, cv, max_par) in edges {
        for p in 0..pv.parallelism {
            let targets: Vec<u32> = (0..cv.parallelism)
                .filter(|c| connected(e.partitioning, pv.parallelism, cv.parallelism, p, *c))
                .collect();
            // Consumers in other TaskManagers get subpartitions of a registered partition.
            let mut remote_out: HashMap<u32, Arc<LocalChannel>> = HashMap::new();
            let mut pid = PartitionId(0);
            if let Some(r) = remote {
                let tm_p = r.task_manager(p);
                let far: Vec<u32> = targets
                    .iter()
                    .copied()
                    .filter(|c| r.task_manager(*c) != tm_p)
                    .collect();
                if !far.is_empty() {
                    pid = partition_id(r.job_key, to, ei, p);
                    let chans = r
                        .net
                        .env(tm_p)
                        .register_subpartitions(pid, &far)
                        .map_err(|e| format!("TaskManager {tm_p}: {e}"))?;
                    if let Some(rel) = release.as_mut() {
                        rel.add(tm_p, pid);
                    }
                    remote_out = far.into_iter().zip(chans).collect();
                }
            }
            let mut channels = Vec::new();
            for c in targets {
                let ci = index[&(cv.id, c)];
                let gate = gates[ci].clone().expect("sized above");
                let in_gate = tasks[ci].inputs.len() as u32;
                let ch = match (remote, remote_out.get(&c)) {
                    (Some(r), Some(out)) => {
                        let (tm_p, tm_c) = (r.task_manager(p), r.task_manager(c));
                        let env = r.net.env(tm_c);
                        let pool = match &floating[ci] {
                            Some(pool) => pool.clone(),
                            None => {
                                let pool = env
                                    .floating_pool()
                                    .map_err(|e| format!("TaskManager {tm_c}: {e}"))?;
                                floating[ci] = Some(pool.clone());
                                pool
                            }
                        };
                        let producer = r.net.env(tm_p).local_addr();
                        let input = env
                            .request_subpartition(producer, pid, c, &gate, in_gate, &pool)
                            .map_err(|e| format!("TaskManager {tm_c}: {e}"))?;
                        tasks[ci].inputs.push((input.channel().clone(), e.input));
                        tasks[ci].remote_inputs.push(input);
                        out.clone()
                    }
                    _ => {
                        let ch = LocalChannel::new(
                            gate,
                            in_gate,
                            ex.buffers_per_channel,
                            ex.buffer_size,
                        );
                        tasks[ci].inputs.push((ch.clone(), e.input));
                        ch
                    }
                };
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
    Ok(tasks)
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
