//! The network stacks of the embedded cluster's TaskManagers.
//!
//! With `minicluster.number-of-taskmanagers` above 1, the embedded cluster's slots are
//! divided among that many TaskManagers, each with its own [`NetworkEnvironment`] (its own
//! buffer pool, listening socket on loopback and network thread). An exchange between
//! subtasks in slots of different TaskManagers goes through the network stack over TCP,
//! exactly as between TaskManager processes; between slots of one TaskManager it stays an
//! in-process channel.
//!
//! Global handle (`Send + Sync`), shared by the cluster and the jobs it runs.

use std::sync::Arc;
use strom_net::{ChannelError, NetConfig, NetworkEnvironment, PartitionId, PoolStats};

/// The TaskManagers' network environments and which slots belong to which.
pub struct TaskManagerNetwork {
    envs: Vec<NetworkEnvironment>,
    slots: usize,
}

impl TaskManagerNetwork {
    /// Starts `task_managers` network environments on 127.0.0.1 for `slots` slots in all.
    pub fn start(task_managers: usize, slots: usize, config: NetConfig) -> Result<Self, String> {
        if task_managers > slots {
            return Err(format!(
                "{task_managers} TaskManagers need at least as many slots, but there are {slots}"
            ));
        }
        let envs = (0..task_managers)
            .map(|i| {
                NetworkEnvironment::start(([127, 0, 0, 1], 0).into(), config.clone())
                    .map_err(|e| format!("network stack of TaskManager {i}: {e}"))
            })
            .collect::<Result<_, _>>()?;
        Ok(TaskManagerNetwork { envs, slots })
    }

    /// The TaskManager that owns `slot` (contiguous blocks of slots).
    pub fn task_manager_of(&self, slot: usize) -> usize {
        (slot % self.slots) * self.envs.len() / self.slots
    }

    /// TaskManager `tm`'s network environment.
    pub fn env(&self, tm: usize) -> &NetworkEnvironment {
        &self.envs[tm]
    }

    /// Number of TaskManagers.
    pub fn len(&self) -> usize {
        self.envs.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.envs.is_empty()
    }

    /// Each TaskManager's buffer pool fill (all buffers back when no job runs).
    pub fn pool_stats(&self) -> Vec<PoolStats> {
        self.envs.iter().map(|e| e.pool_stats()).collect()
    }
}

/// The partitions a job registered, released when the job ends: subpartitions that did not
/// finish (a failed or cancelled job, a consumer that never started) give their buffers back.
pub struct PartitionRelease {
    net: Arc<TaskManagerNetwork>,
    ids: Vec<(usize, PartitionId)>,
}

impl PartitionRelease {
    /// Nothing registered yet.
    pub fn new(net: Arc<TaskManagerNetwork>) -> Self {
        PartitionRelease {
            net,
            ids: Vec::new(),
        }
    }

    /// Remembers a partition registered at TaskManager `tm`.
    pub fn add(&mut self, tm: usize, id: PartitionId) {
        self.ids.push((tm, id));
    }

    /// Releases every partition (those that finished are gone already: a no-op for them).
    pub fn release(self) -> Result<(), ChannelError> {
        for (tm, id) in self.ids {
            self.net.env(tm).release_partition(id)?;
        }
        Ok(())
    }
}
