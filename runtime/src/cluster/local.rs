//! Running jobs on the slots of this process.

use super::job::{JobError, JobHandle, JobShared};
use super::network::{PartitionRelease, TaskManagerNetwork};
use super::plan::{plan, ExchangeSettings, Placement};
use super::slot_deploy::{JobSettings, SlotDeploy};
use crate::api::StreamEnv;
use crate::config::{ConfigError, Configuration};
use crate::graph::{BuildError, JobGraph};
use crate::slot::executor::{SlotPool, SlotSettings};
use crate::task::deploy::TaskDeployment;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// A job's builder function: called once to plan the job and once per slot that runs part
/// of it. It must build the same graph every time.
pub type JobBuilder = Arc<dyn Fn(&mut StreamEnv) -> Result<(), BuildError> + Send + Sync>;

/// Slots in one process, running jobs (the embedded default of `strom run`).
///
/// With `minicluster.number-of-taskmanagers` = n > 1 the slots form n TaskManagers whose
/// exchanges go through their network stacks over loopback ([`TaskManagerNetwork`]).
pub struct LocalCluster {
    slots: SlotPool,
    config: Configuration,
    network: Option<Arc<TaskManagerNetwork>>,
    jobs_submitted: AtomicU64,
}

/// The cluster could not start.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A TaskManager's network stack did not start.
    #[error("{0}")]
    Network(String),
    /// A slot did not start.
    #[error(transparent)]
    Slot(#[from] crate::slot::SlotError),
}

impl LocalCluster {
    /// Starts `taskmanager.numberOfTaskSlots` slots (default: one per CPU).
    pub fn start(config: Configuration) -> Result<Self, ClusterError> {
        let settings = SlotSettings::from_config(&config)?;
        let task_managers = config.task_managers()?;
        let network = if task_managers > 1 {
            let net =
                TaskManagerNetwork::start(task_managers, settings.slots, config.net_config()?)
                    .map_err(ClusterError::Network)?;
            tracing::info!(
                "embedded cluster: {task_managers} TaskManagers with {} slots in all; exchanges between them use the network stack",
                settings.slots
            );
            Some(Arc::new(net))
        } else {
            None
        };
        let slots = SlotPool::start(&settings)?;
        Ok(LocalCluster {
            slots,
            config,
            network,
            jobs_submitted: AtomicU64::new(0),
        })
    }

    /// The TaskManagers' network stacks, when there are several.
    pub fn network(&self) -> Option<&Arc<TaskManagerNetwork>> {
        self.network.as_ref()
    }

    /// Number of slots.
    pub fn slots(&self) -> usize {
        self.slots.len()
    }

    /// The configuration.
    pub fn config(&self) -> &Configuration {
        &self.config
    }

    fn new_env(&self, name: &str) -> Result<StreamEnv, JobError> {
        let cfg = |e: ConfigError| JobError::Cluster(e.to_string());
        let parallelism = self
            .config
            .default_parallelism()
            .map_err(cfg)?
            .unwrap_or(self.slots.len());
        Ok(StreamEnv::new(
            name,
            parallelism as u32,
            self.config.max_parallelism().map_err(cfg)? as u32,
        ))
    }

    /// Plans every TaskManager's part of a job: all slots in one TaskManager, or, with
    /// several, logical slot `s` in the TaskManager that owns slot `s`.
    fn plan_all(
        &self,
        graph: &JobGraph,
        ex: ExchangeSettings,
    ) -> Result<(Vec<TaskDeployment>, Option<PartitionRelease>), JobError> {
        let Some(net) = &self.network else {
            let placement = Placement {
                slot_task_managers: &vec![0; self.slots.len()],
                me: 0,
                data_addresses: &[],
                net: None,
                job_key: 0,
            };
            let p = plan(graph, ex, &placement).map_err(JobError::Cluster)?;
            return Ok((p.tasks, None));
        };
        let job_key = job_key(&self.jobs_submitted);
        let owners: Vec<usize> = (0..self.slots.len())
            .map(|s| net.task_manager_of(s))
            .collect();
        let addrs: Vec<_> = (0..net.len()).map(|tm| net.env(tm).local_addr()).collect();
        let mut release = PartitionRelease::new(net.clone());
        let mut tasks = Vec::new();
        for tm in 0..net.len() {
            let placement = Placement {
                slot_task_managers: &owners,
                me: tm,
                data_addresses: &addrs,
                net: Some(net.env(tm)),
                job_key,
            };
            match plan(graph, ex, &placement) {
                Ok(p) => {
                    for id in p.partitions {
                        release.add(tm, id);
                    }
                    tasks.extend(p.tasks);
                }
                Err(e) => {
                    let _ = release.release();
                    return Err(JobError::Cluster(format!("TaskManager {tm}: {e}")));
                }
            }
        }
        Ok((tasks, Some(release)))
    }

    /// Plans a job without running it (validation, chaining).
    pub fn plan(&self, name: &str, builder: &JobBuilder) -> Result<JobGraph, JobError> {
        let mut env = self.new_env(name)?;
        builder(&mut env)?;
        Ok(env.build()?.0)
    }

    /// Submits a job built by `builder`.
    pub fn execute(
        &self,
        name: &str,
        builder: impl Fn(&mut StreamEnv) -> Result<(), BuildError> + Send + Sync + 'static,
    ) -> Result<JobHandle, JobError> {
        self.submit(name, Arc::new(builder))
    }

    /// Submits a job.
    pub fn submit(&self, name: &str, builder: JobBuilder) -> Result<JobHandle, JobError> {
        let graph = Arc::new(self.plan(name, &builder)?);
        let needed = graph.slots_needed();
        if needed > self.slots.len() {
            return Err(JobError::NotEnoughSlots {
                job: graph.name.clone(),
                needed,
                available: self.slots.len(),
            });
        }
        let cfg = |e: ConfigError| JobError::Cluster(e.to_string());
        let js = JobSettings::from_config(&self.config).map_err(cfg)?;
        let (deployments, partitions) = self.plan_all(&graph, js.exchange)?;
        let shared = Arc::new(JobShared {
            cancel: Arc::new(AtomicBool::new(false)),
            metrics: deployments
                .iter()
                .map(|d| (d.vertex, d.subtask, d.metrics.clone()))
                .collect(),
            first_failure: Mutex::new(None),
        });
        let partitions = Mutex::new(partitions);
        let (tx, rx) = flume::unbounded();
        let tasks = deployments.len();
        let mut per_slot: Vec<Vec<TaskDeployment>> =
            (0..self.slots.len()).map(|_| Vec::new()).collect();
        for d in deployments {
            per_slot[d.subtask as usize % self.slots.len()].push(d);
        }
        let start = Instant::now();
        for (slot, ds) in per_slot.into_iter().enumerate() {
            if ds.is_empty() {
                continue;
            }
            let ctx = SlotDeploy {
                name: name.to_string(),
                builder: builder.clone(),
                graph: graph.clone(),
                parallelism: self.new_env(name)?.parallelism(),
                max_parallelism: self.config.max_parallelism().map_err(cfg)? as u32,
                deployments: ds,
                reports: tx.clone(),
                on_started: None,
                cancel: shared.cancel.clone(),
                settings: js.task,
                buffer_timeout: js.buffer_timeout,
            };
            if self
                .slots
                .run_on(slot, Box::new(move || ctx.run()))
                .is_err()
            {
                shared
                    .cancel
                    .store(true, std::sync::atomic::Ordering::SeqCst);
                return Err(JobError::Cluster(format!("slot {slot} is not running")));
            }
        }
        Ok(JobHandle {
            graph,
            shared,
            reports: rx,
            tasks,
            start,
            partitions,
        })
    }
}

/// A key unique to one job submission in this process (and, with the process id and the
/// clock, unlikely to repeat across processes).
pub(crate) fn job_key(counter: &AtomicU64) -> u64 {
    let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    xxhash_rust::xxh3::xxh3_64(
        &[
            n.to_le_bytes(),
            t.to_le_bytes(),
            u64::from(std::process::id()).to_le_bytes(),
        ]
        .concat(),
    )
}
