//! Running jobs on the slots of this process.

use super::job::{JobError, JobHandle, JobShared, TaskReport};
use super::network::TaskManagerNetwork;
use super::plan::{plan, ExchangeSettings, Remote};
use crate::api::StreamEnv;
use crate::config::{ConfigError, Configuration};
use crate::error::{Retry, TaskError};
use crate::exchange::InputGate;
use crate::graph::{BuildError, JobGraph};
use crate::slot::executor::{SlotPool, SlotSettings};
use crate::task::build::{build_task, TaskSettings};
use crate::task::deploy::TaskDeployment;
use crate::task::run::{run_task, TaskEnv};
use futures_lite::FutureExt;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
        let cpus = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let settings = SlotSettings {
            slots: config.task_slots()?.unwrap_or(cpus),
            pin: config.pin_slots()?,
            io_memory: config.io_memory()?,
            spin_before_park: config.spin_before_park()?,
        };
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
        let ex = ExchangeSettings {
            buffers_per_channel: self.config.buffers_per_channel().map_err(cfg)?,
            buffer_size: self.config.segment_size().map_err(cfg)?,
        };
        let buffer_timeout = self.config.buffer_timeout().map_err(cfg)?;
        let settings = TaskSettings {
            buffer_timeout_ms: buffer_timeout.as_millis() as u64,
            auto_watermark_interval_ms: self
                .config
                .auto_watermark_interval()
                .map_err(cfg)?
                .as_millis()
                .max(1) as u64,
        };
        let remote = self.network.as_ref().map(|net| Remote {
            net,
            job_key: job_key(&self.jobs_submitted),
            slots: self.slots.len(),
        });
        let (deployments, partitions) = plan(&graph, ex, remote).map_err(JobError::Cluster)?;
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
                cancel: shared.cancel.clone(),
                settings,
                buffer_timeout,
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
fn job_key(counter: &AtomicU64) -> u64 {
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

/// Everything one slot needs to run its part of a job (`Send`).
struct SlotDeploy {
    name: String,
    builder: JobBuilder,
    graph: Arc<JobGraph>,
    parallelism: u32,
    max_parallelism: u32,
    deployments: Vec<TaskDeployment>,
    reports: flume::Sender<TaskReport>,
    cancel: Arc<AtomicBool>,
    settings: TaskSettings,
    buffer_timeout: Duration,
}

impl SlotDeploy {
    /// Runs on the slot's thread: rebuilds the job, checks it is the same, spawns the tasks.
    fn run(self) {
        let fail_all = |msg: String| {
            for d in &self.deployments {
                let _ = self.reports.send(TaskReport {
                    vertex: d.vertex,
                    subtask: d.subtask,
                    outcome: Err(TaskError::new(msg.clone(), Retry::Never)),
                });
            }
        };
        let mut env = StreamEnv::new(&self.name, self.parallelism, self.max_parallelism);
        let rebuilt = (self.builder)(&mut env).and_then(|_| env.build());
        let (graph, runtimes) = match rebuilt {
            Ok(r) => r,
            Err(e) => return fail_all(format!("rebuilding the job on a slot failed: {e}")),
        };
        if graph.fingerprint() != self.graph.fingerprint() {
            return fail_all(
                "the job's builder is not deterministic: it built a different graph on a slot"
                    .into(),
            );
        }
        let runtimes = std::rc::Rc::new(runtimes);
        for mut d in self.deployments {
            let (vertex, subtask) = (d.vertex, d.subtask);
            let report = self.reports.clone();
            let env = TaskEnv {
                cancel: self.cancel.clone(),
                metrics: d.metrics.clone(),
                buffer_timeout: self.buffer_timeout,
            };
            let built = build_task(&graph, &runtimes, &mut d, self.settings);
            let gate = d
                .gate
                .clone()
                .map(|g| InputGate::new(g, d.inputs.iter().map(|(c, _)| c.clone()).collect()));
            let inputs: Vec<u8> = d.inputs.iter().map(|(_, i)| *i).collect();
            let remote_inputs = std::mem::take(&mut d.remote_inputs);
            let cancel = self.cancel.clone();
            let runtimes = runtimes.clone();
            crate::slot::spawn_local(async move {
                let _keep = (runtimes, remote_inputs);
                let outcome = match built {
                    Ok(task) => std::panic::AssertUnwindSafe(run_task(task, gate, inputs, env))
                        .catch_unwind()
                        .await
                        .unwrap_or_else(|p| {
                            Err(TaskError::new(
                                format!(
                                    "task panicked: {}",
                                    crate::operator::context::panic_message(&*p)
                                ),
                                Retry::Never,
                            ))
                        }),
                    Err(e) => Err(e),
                };
                if outcome.is_err() {
                    cancel.store(true, std::sync::atomic::Ordering::SeqCst);
                }
                let _ = report.send(TaskReport {
                    vertex,
                    subtask,
                    outcome,
                });
            });
        }
    }
}
