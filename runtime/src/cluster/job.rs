//! A running job: its handle, status and result.

use crate::error::TaskError;
use crate::graph::{BuildError, JobGraph};
use crate::task::run::TaskEnd;
use crate::task::{LatencySummary, MetricsSnapshot, TaskMetrics};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Flink's JobStatus values that a local job goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobStatus {
    /// Tasks are running.
    Running,
    /// Every task finished.
    Finished,
    /// Cancelled on request.
    Canceled,
    /// A task failed.
    Failed,
}

/// Why a job could not be submitted or did not finish.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The job graph is invalid.
    #[error("invalid job: {0}")]
    Build(#[from] BuildError),
    /// Not enough slots.
    #[error("job '{job}' needs {needed} slots (its largest parallelism) but the cluster has {available}; lower the parallelism or raise taskmanager.numberOfTaskSlots")]
    NotEnoughSlots {
        /// Job name.
        job: String,
        /// Slots needed.
        needed: usize,
        /// Slots available.
        available: usize,
    },
    /// A task failed.
    #[error("job '{job}' failed: task '{task}' (subtask {subtask}): {error}")]
    Failed {
        /// Job name.
        job: String,
        /// The failed task's chain.
        task: String,
        /// Its subtask index.
        subtask: u32,
        /// The failure, naming the operator.
        error: TaskError,
    },
    /// The cluster could not run the job.
    #[error("cluster error: {0}")]
    Cluster(String),
}

/// A task's report when it ends.
pub(crate) struct TaskReport {
    pub(crate) vertex: u32,
    pub(crate) subtask: u32,
    pub(crate) outcome: Result<TaskEnd, TaskError>,
}

/// State shared by a job's tasks and its handle (global).
pub(crate) struct JobShared {
    pub(crate) cancel: Arc<AtomicBool>,
    pub(crate) metrics: Vec<(u32, u32, Arc<TaskMetrics>)>,
    pub(crate) first_failure: Mutex<Option<(u32, u32, TaskError)>>,
}

/// The end of a job that did not fail.
#[derive(Debug, Clone, serde::Serialize)]
pub struct JobResult {
    /// Finished or Canceled.
    pub status: JobStatus,
    /// Wall time from submission to the end.
    pub duration: Duration,
    /// Records read by sources.
    pub source_records: u64,
    /// Records written into exchanges, all tasks.
    pub exchanged_records: u64,
    /// Records that reached the sinks, all tasks: the job's records out.
    pub sink_records: u64,
    /// Per task: (vertex name, subtask, counters).
    pub tasks: Vec<(String, u32, MetricsSnapshot)>,
    /// End-to-end latency over all sinks, if latency markers were on
    /// (`metrics.latency.interval`).
    pub latency: Option<LatencySummary>,
}

/// A job's counters summed over its tasks, as last published by them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobCounters {
    /// Records read by sources.
    pub source_records: u64,
    /// Records written into exchanges.
    pub exchanged_records: u64,
    /// Records that reached the sinks.
    pub sink_records: u64,
}

/// A submitted job.
pub struct JobHandle {
    pub(crate) graph: Arc<JobGraph>,
    pub(crate) shared: Arc<JobShared>,
    pub(crate) reports: flume::Receiver<TaskReport>,
    pub(crate) tasks: usize,
    pub(crate) start: Instant,
    /// Partitions registered with network stacks, released when the job ends.
    pub(crate) partitions: std::sync::Mutex<Option<super::network::PartitionRelease>>,
}

impl JobHandle {
    /// The job graph.
    pub fn graph(&self) -> &JobGraph {
        &self.graph
    }

    /// Asks the job to stop: sources stop, cancellation markers flow downstream.
    pub fn cancel(&self) {
        self.shared.cancel.store(true, Ordering::SeqCst);
    }

    /// A cloneable cancel switch (for signal handlers, other threads).
    pub fn canceller(&self) -> Arc<AtomicBool> {
        self.shared.cancel.clone()
    }

    /// Sum of the counters over all tasks: (records read by sources, records exchanged).
    pub fn progress(&self) -> (u64, u64) {
        let c = self.counters();
        (c.source_records, c.exchanged_records)
    }

    /// Sum of the counters over all tasks, the sink records included.
    pub fn counters(&self) -> JobCounters {
        let mut c = JobCounters::default();
        for (v, _, m) in &self.shared.metrics {
            let s = m.snapshot();
            if self.is_source_vertex(*v) {
                c.source_records += s.records_in;
            }
            c.exchanged_records += s.records_out;
            c.sink_records += s.sink_records;
        }
        c
    }

    fn is_source_vertex(&self, v: u32) -> bool {
        let head = self.graph.vertices[v as usize].nodes[0];
        self.graph.nodes[head as usize].kind == crate::graph::NodeKind::Source
    }

    /// Waits for the end, calling `tick` about every `every` while it runs.
    pub fn wait_with_progress(
        self,
        every: Duration,
        mut tick: impl FnMut(&JobHandle),
    ) -> Result<JobResult, JobError> {
        let mut ended = 0;
        let mut canceled = false;
        while ended < self.tasks {
            match self.reports.recv_timeout(every) {
                Ok(r) => {
                    ended += 1;
                    match r.outcome {
                        Ok(TaskEnd::Finished) => {}
                        Ok(TaskEnd::Canceled) => canceled = true,
                        Err(e) => {
                            let mut f = self
                                .shared
                                .first_failure
                                .lock()
                                .unwrap_or_else(|p| p.into_inner());
                            if f.is_none() {
                                *f = Some((r.vertex, r.subtask, e));
                            }
                            self.cancel();
                        }
                    }
                }
                Err(flume::RecvTimeoutError::Timeout) => tick(&self),
                Err(flume::RecvTimeoutError::Disconnected) => {
                    return Err(JobError::Cluster(format!(
                        "{} of {} tasks never reported (a slot stopped)",
                        self.tasks - ended,
                        self.tasks
                    )))
                }
            }
        }
        self.release_partitions();
        let failure = self
            .shared
            .first_failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some((v, s, error)) = failure {
            return Err(JobError::Failed {
                job: self.graph.name.clone(),
                task: self.graph.vertices[v as usize].name.clone(),
                subtask: s,
                error,
            });
        }
        let counters = self.counters();
        let mut latency = None;
        for (_, _, m) in &self.shared.metrics {
            m.latency.merge_into(&mut latency);
        }
        Ok(JobResult {
            latency: latency.as_ref().and_then(LatencySummary::of),
            status: if canceled || self.shared.cancel.load(Ordering::SeqCst) {
                JobStatus::Canceled
            } else {
                JobStatus::Finished
            },
            duration: self.start.elapsed(),
            source_records: counters.source_records,
            exchanged_records: counters.exchanged_records,
            sink_records: counters.sink_records,
            tasks: self
                .shared
                .metrics
                .iter()
                .map(|(v, s, m)| {
                    (
                        self.graph.vertices[*v as usize].name.clone(),
                        *s,
                        m.snapshot(),
                    )
                })
                .collect(),
        })
    }

    /// Gives back what the job's remote partitions still hold (all tasks have ended).
    fn release_partitions(&self) {
        let taken = self
            .partitions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(r) = taken {
            if let Err(e) = r.release() {
                tracing::warn!(
                    "job {}: releasing its network partitions failed: {e}",
                    self.graph.name
                );
            }
        }
    }

    /// Waits for the end.
    pub fn wait(self) -> Result<JobResult, JobError> {
        self.wait_with_progress(Duration::from_secs(3600), |_| {})
    }
}
