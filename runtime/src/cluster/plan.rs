//! Deployment planning: which subtasks one TaskManager runs, and the channels between
//! subtasks.
//!
//! Slot sharing as in Flink's default group: subtask `i` of every vertex runs in the job's
//! logical slot `i`, so a job needs as many slots as its largest parallelism. A
//! [`Placement`] says which TaskManager holds each logical slot; every TaskManager plans its
//! own part of the job from the same graph and placement, and the ends of every channel
//! meet because partition ids are derived from the job and the edge, not exchanged.
//!
//! A channel between subtasks in the same TaskManager is an in-process [`LocalChannel`].
//! Between TaskManagers the producer's side registers the subpartition with its network
//! stack and the consumer's side requests it from the producer's data address (a request
//! that arrives first waits for the registration); both ends are still `LocalChannel`s, fed
//! or drained by the network threads.

use crate::exchange::{GateShared, LocalChannel};
use crate::graph::{JobGraph, Partitioning};
use crate::task::deploy::{OutputEdge, TaskDeployment};
use crate::task::TaskMetrics;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use strom_net::{BufferPool, NetworkEnvironment, PartitionId};

/// Where a job's logical slots are, seen from one TaskManager.
pub struct Placement<'a> {
    /// The TaskManager (an index into `data_addresses`) of each logical slot.
    pub slot_task_managers: &'a [usize],
    /// This TaskManager's index.
    pub me: usize,
    /// Each TaskManager's data (network stack) address.
    pub data_addresses: &'a [SocketAddr],
    /// This TaskManager's network stack; `None` only when every slot is here.
    pub net: Option<&'a NetworkEnvironment>,
    /// Distinguishes this job's partitions from every other job's.
    pub job_key: u64,
}

impl Placement<'_> {
    fn task_manager(&self, subtask: u32) -> usize {
        self.slot_task_managers
            .get(subtask as usize)
            .copied()
            .unwrap_or(usize::MAX)
    }

    fn here(&self, subtask: u32) -> bool {
        self.task_manager(subtask) == self.me
    }

    fn net(&self) -> Result<&NetworkEnvironment, String> {
        self.net.ok_or_else(|| {
            "the job spans several TaskManagers but this one has no network stack".into()
        })
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

/// This TaskManager's part of a job: its subtasks' deployments with their channels, and
/// the partitions it registered with its network stack (release them when the job ends).
pub struct LocalPlan {
    /// The subtasks placed here.
    pub tasks: Vec<TaskDeployment>,
    /// Partitions registered here for consumers elsewhere.
    pub partitions: Vec<PartitionId>,
}

/// Plans the subtasks `placement` puts on this TaskManager. On an error, partitions
/// registered so far are released again.
pub fn plan(
    graph: &JobGraph,
    ex: ExchangeSettings,
    placement: &Placement<'_>,
) -> Result<LocalPlan, String> {
    let mut partitions = Vec::new();
    match plan_channels(graph, ex, placement, &mut partitions) {
        Ok(tasks) => Ok(LocalPlan { tasks, partitions }),
        Err(e) => {
            if let Some(net) = placement.net {
                for id in partitions {
                    let _ = net.release_partition(id);
                }
            }
            Err(e)
        }
    }
}

/// An edge between two vertices (not inside a chain).
struct Edge {
    to: u32,
    index: usize,
    input: u8,
    source: u32,
    partitioning: Partitioning,
    producers: (u32, u32),
    consumers: (u32, u32),
    max_parallelism: u32,
}

fn edges(graph: &JobGraph) -> Vec<Edge> {
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
            edges.push(Edge {
                to: n.id,
                index: ei,
                input: e.input,
                source: e.source,
                partitioning: e.partitioning,
                producers: (pv.id, pv.parallelism),
                consumers: (cv.id, cv.parallelism),
                max_parallelism: n.max_parallelism,
            });
        }
    }
    edges
}

fn plan_channels(
    graph: &JobGraph,
    ex: ExchangeSettings,
    placement: &Placement<'_>,
    partitions: &mut Vec<PartitionId>,
) -> Result<Vec<TaskDeployment>, String> {
    let mut tasks: Vec<TaskDeployment> = Vec::new();
    let mut index = HashMap::new();
    for v in &graph.vertices {
        for s in (0..v.parallelism).filter(|s| placement.here(*s)) {
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
    let edges = edges(graph);
    // Count each local consumer subtask's channels first, to size its gate.
    let mut gate_sizes = vec![0usize; tasks.len()];
    for e in &edges {
        let ((_, np), (cv, nc)) = (e.producers, e.consumers);
        for c in 0..nc {
            if let Some(ci) = index.get(&(cv, c)) {
                gate_sizes[*ci] += (0..np)
                    .filter(|p| connected(e.partitioning, np, nc, *p, c))
                    .count();
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
    for e in edges {
        let ((pv, np), (cv, nc)) = (e.producers, e.consumers);
        for p in 0..np {
            let targets: Vec<u32> = (0..nc)
                .filter(|c| connected(e.partitioning, np, nc, p, *c))
                .collect();
            let pid = partition_id(placement.job_key, e.to, e.index, p);
            if !placement.here(p) {
                // Local consumers of a producer elsewhere request their subpartitions.
                for c in targets.iter().copied().filter(|c| placement.here(*c)) {
                    let ci = index[&(cv, c)];
                    let net = placement.net()?;
                    let pool = match &floating[ci] {
                        Some(pool) => pool.clone(),
                        None => {
                            let pool = net.floating_pool().map_err(|e| e.to_string())?;
                            floating[ci] = Some(pool.clone());
                            pool
                        }
                    };
                    let gate = gates[ci].clone().expect("sized above");
                    let in_gate = tasks[ci].inputs.len() as u32;
                    let producer = placement
                        .data_addresses
                        .get(placement.task_manager(p))
                        .copied()
                        .ok_or_else(|| format!("no TaskManager holds subtask {p}"))?;
                    let input = net
                        .request_subpartition(producer, pid, c, &gate, in_gate, &pool)
                        .map_err(|e| e.to_string())?;
                    tasks[ci].inputs.push((input.channel().clone(), e.input));
                    tasks[ci].remote_inputs.push(input);
                }
                continue;
            }
            // A local producer: registered subpartitions for consumers elsewhere.
            let far: Vec<u32> = targets
                .iter()
                .copied()
                .filter(|c| !placement.here(*c))
                .collect();
            let mut remote_out: HashMap<u32, Arc<LocalChannel>> = HashMap::new();
            if !far.is_empty() {
                let chans = placement
                    .net()?
                    .register_subpartitions(pid, &far)
                    .map_err(|e| e.to_string())?;
                partitions.push(pid);
                remote_out = far.into_iter().zip(chans).collect();
            }
            let mut channels = Vec::new();
            for c in targets {
                let ch = match remote_out.remove(&c) {
                    Some(out) => out,
                    None => {
                        let ci = index[&(cv, c)];
                        let gate = gates[ci].clone().expect("sized above");
                        let in_gate = tasks[ci].inputs.len() as u32;
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
            let pi = index[&(pv, p)];
            tasks[pi].outputs.push(OutputEdge {
                from: e.source,
                to: e.to,
                edge_index: e.index,
                partitioning: e.partitioning,
                channels,
                consumer_max_parallelism: e.max_parallelism,
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
