//! What the JobManager shows the outside world: read-only snapshots of jobs, their tasks
//! and the TaskManagers, and the [`ClusterApi`] seam through which the Dispatcher's REST
//! layer reads them and submits or cancels jobs.
//!
//! Snapshots are plain `Send` data, copied out of the JobManager's state under its lock; the
//! REST layer never holds that lock while it formats an answer. Times are epoch milliseconds,
//! `-1` where Flink writes `-1` (not started or not ended yet).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// A job's id: 16 bytes, written as 32 lower-case hex digits as Flink's `JobID`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(pub u128);

impl JobId {
    /// A fresh id, unique within this process and unlikely to repeat across processes.
    pub fn generate() -> JobId {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let bytes = [
            n.to_le_bytes(),
            t.to_le_bytes(),
            u64::from(std::process::id()).to_le_bytes(),
        ]
        .concat();
        JobId(xxhash_rust::xxh3::xxh3_128(&bytes))
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// A job id that is not 32 hex digits.
#[derive(Debug, thiserror::Error)]
#[error("'{0}' is not a job id (32 hexadecimal digits)")]
pub struct BadJobId(pub String);

impl FromStr for JobId {
    type Err = BadJobId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != 32 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(BadJobId(s.to_string()));
        }
        u128::from_str_radix(s, 16)
            .map(JobId)
            .map_err(|_| BadJobId(s.to_string()))
    }
}

impl Serialize for JobId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for JobId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Flink's `JobStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobStatus {
    /// Accepted, not yet scheduled.
    Initializing,
    /// Execution graph built, waiting for slots.
    Created,
    /// Some tasks are scheduled or running.
    Running,
    /// A task failed; the others are being cancelled.
    Failing,
    /// Terminal: failed.
    Failed,
    /// Cancel requested; tasks are being cancelled.
    Cancelling,
    /// Terminal: cancelled.
    Canceled,
    /// Terminal: every task finished.
    Finished,
    /// Being restarted (after a failure, with checkpoints).
    Restarting,
    /// Suspended (JobManager lost leadership).
    Suspended,
    /// Reconciling with TaskManagers after a JobManager failover.
    Reconciling,
}

impl JobStatus {
    /// Every value, in Flink's order.
    pub const ALL: [JobStatus; 11] = [
        JobStatus::Initializing,
        JobStatus::Created,
        JobStatus::Running,
        JobStatus::Failing,
        JobStatus::Failed,
        JobStatus::Cancelling,
        JobStatus::Canceled,
        JobStatus::Finished,
        JobStatus::Restarting,
        JobStatus::Suspended,
        JobStatus::Reconciling,
    ];

    /// Whether the job has ended (globally terminal).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobStatus::Failed | JobStatus::Canceled | JobStatus::Finished
        )
    }

    /// The name Flink writes (`RUNNING`, `CANCELED`, ...).
    pub fn name(self) -> &'static str {
        match self {
            JobStatus::Initializing => "INITIALIZING",
            JobStatus::Created => "CREATED",
            JobStatus::Running => "RUNNING",
            JobStatus::Failing => "FAILING",
            JobStatus::Failed => "FAILED",
            JobStatus::Cancelling => "CANCELLING",
            JobStatus::Canceled => "CANCELED",
            JobStatus::Finished => "FINISHED",
            JobStatus::Restarting => "RESTARTING",
            JobStatus::Suspended => "SUSPENDED",
            JobStatus::Reconciling => "RECONCILING",
        }
    }
}

/// Flink's `ExecutionState`: one subtask's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionState {
    /// Created, no slot yet.
    Created,
    /// A slot is assigned.
    Scheduled,
    /// Sent to its TaskManager.
    Deploying,
    /// Being set up on its TaskManager.
    Initializing,
    /// Running.
    Running,
    /// Terminal: finished.
    Finished,
    /// Being cancelled.
    Canceling,
    /// Terminal: cancelled.
    Canceled,
    /// Terminal: failed.
    Failed,
    /// Reconciling after a JobManager failover.
    Reconciling,
}

impl ExecutionState {
    /// Every value, in Flink's order.
    pub const ALL: [ExecutionState; 10] = [
        ExecutionState::Created,
        ExecutionState::Scheduled,
        ExecutionState::Deploying,
        ExecutionState::Initializing,
        ExecutionState::Running,
        ExecutionState::Finished,
        ExecutionState::Canceling,
        ExecutionState::Canceled,
        ExecutionState::Failed,
        ExecutionState::Reconciling,
    ];

    /// Whether the execution has ended.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            ExecutionState::Finished | ExecutionState::Canceled | ExecutionState::Failed
        )
    }

    /// The name Flink writes (`RUNNING`, `CANCELING`, ...).
    pub fn name(self) -> &'static str {
        match self {
            ExecutionState::Created => "CREATED",
            ExecutionState::Scheduled => "SCHEDULED",
            ExecutionState::Deploying => "DEPLOYING",
            ExecutionState::Initializing => "INITIALIZING",
            ExecutionState::Running => "RUNNING",
            ExecutionState::Finished => "FINISHED",
            ExecutionState::Canceling => "CANCELING",
            ExecutionState::Canceled => "CANCELED",
            ExecutionState::Failed => "FAILED",
            ExecutionState::Reconciling => "RECONCILING",
        }
    }
}

/// One subtask's counters, as last reported by its TaskManager.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskMetricsView {
    /// Bytes read from input channels.
    pub read_bytes: u64,
    /// Bytes written into output channels.
    pub write_bytes: u64,
    /// Records read (from inputs, or by a source).
    pub read_records: u64,
    /// Records written into exchanges.
    pub write_records: u64,
    /// Time blocked on output (ms, cumulative).
    pub backpressured_ms: u64,
    /// Time waiting for input (ms, cumulative).
    pub idle_ms: u64,
    /// Time busy (ms, cumulative), when measured.
    pub busy_ms: Option<u64>,
}

/// One subtask (one execution attempt) of a vertex.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SubtaskView {
    /// Subtask index.
    pub subtask: u32,
    /// Its state.
    pub status: ExecutionState,
    /// Attempt number (0 until restarts exist).
    pub attempt: u32,
    /// The TaskManager it was deployed to.
    pub task_manager_id: Option<String>,
    /// That TaskManager's data endpoint, `host:port`.
    pub endpoint: Option<String>,
    /// When it started running (ms), or -1.
    pub start_time: i64,
    /// When it ended (ms), or -1.
    pub end_time: i64,
    /// When it entered each state it went through (ms).
    pub state_timestamps: BTreeMap<ExecutionState, i64>,
    /// Counters.
    pub metrics: TaskMetricsView,
    /// Share of the last sampling interval spent back-pressured (0..=1).
    pub backpressure_ratio: f64,
    /// Share spent idle (0..=1).
    pub idle_ratio: f64,
    /// Share spent busy (0..=1), when measured.
    pub busy_ratio: Option<f64>,
    /// When the ratios were sampled (ms).
    pub sampled_at: i64,
}

/// An input of a vertex, for the plan.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VertexInput {
    /// The producing vertex's id.
    pub vertex_id: String,
    /// Flink's ship strategy: `FORWARD`, `HASH`, `REBALANCE`, `RESCALE`, `BROADCAST`.
    pub ship_strategy: String,
}

/// A job vertex (an operator chain) with its subtasks.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VertexView {
    /// 32 hex digits, stable for the job (derived from the chain's operator uids).
    pub id: String,
    /// The chain's name (`Source: x -> Map -> ...`).
    pub name: String,
    /// Parallelism.
    pub parallelism: u32,
    /// Max parallelism (key groups).
    pub max_parallelism: u32,
    /// The operators of the chain, one description each, head first.
    pub operators: Vec<String>,
    /// Its inputs.
    pub inputs: Vec<VertexInput>,
    /// Subtasks by index.
    pub subtasks: Vec<SubtaskView>,
}

/// A failure recorded for a job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExceptionView {
    /// Short name of the error (`TaskFailure`, `TaskManagerLost`, ...).
    pub exception_name: String,
    /// The whole message, with its cause.
    pub stacktrace: String,
    /// When it happened (ms).
    pub timestamp: i64,
    /// The failing task's name and subtask (`name (2/4)`), if a task failed.
    pub task_name: Option<String>,
    /// Where it ran (`host:port`), if known.
    pub endpoint: Option<String>,
    /// The TaskManager, if known.
    pub task_manager_id: Option<String>,
}

/// A job, as the REST API shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobView {
    /// Its id.
    pub id: JobId,
    /// Its name.
    pub name: String,
    /// The registered job it runs and its arguments.
    pub job: String,
    /// Arguments given to the job's builder.
    pub args: Vec<String>,
    /// Its state.
    pub status: JobStatus,
    /// Submission time (ms).
    pub start_time: i64,
    /// End time (ms), or -1.
    pub end_time: i64,
    /// Last state change (ms).
    pub last_modification: i64,
    /// When it entered each state it went through (ms).
    pub timestamps: BTreeMap<JobStatus, i64>,
    /// Max parallelism of the job (`pipeline.max-parallelism`).
    pub max_parallelism: u32,
    /// Vertices in topological order (sources first).
    pub vertices: Vec<VertexView>,
    /// Failures, oldest first.
    pub exceptions: Vec<ExceptionView>,
    /// While the job waits for slots: what it waits for, in words.
    pub pending_reason: Option<String>,
}

impl JobView {
    /// Number of subtasks in each state.
    pub fn task_counts(&self) -> BTreeMap<ExecutionState, u32> {
        let mut m: BTreeMap<ExecutionState, u32> =
            ExecutionState::ALL.iter().map(|s| (*s, 0)).collect();
        for v in &self.vertices {
            for s in &v.subtasks {
                *m.entry(s.status).or_default() += 1;
            }
        }
        m
    }
}

/// A registered TaskManager.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskManagerView {
    /// Its id (`host:port-suffix`, as Flink's resource ids).
    pub id: String,
    /// Its control connection's address (`host:port`).
    pub address: String,
    /// Its data (network stack) port.
    pub data_port: u16,
    /// Slots it offers.
    pub slots_number: u32,
    /// Slots not allocated to any job.
    pub free_slots: u32,
    /// Subtasks deployed on it and not yet ended.
    pub assigned_tasks: u32,
    /// Last heartbeat received (epoch ms).
    pub last_heartbeat: i64,
    /// CPUs of its machine.
    pub cpu_cores: u32,
    /// Physical memory of its machine (bytes).
    pub physical_memory: u64,
    /// Free memory of its machine at the last heartbeat (bytes).
    pub free_memory: u64,
    /// Its network buffer memory (bytes).
    pub network_memory: u64,
}

/// Cluster-wide counts for `/overview`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterOverview {
    /// Registered TaskManagers.
    pub task_managers: u32,
    /// Slots offered.
    pub slots_total: u32,
    /// Slots free.
    pub slots_available: u32,
    /// Jobs running (not terminal).
    pub jobs_running: u32,
    /// Jobs finished.
    pub jobs_finished: u32,
    /// Jobs cancelled.
    pub jobs_cancelled: u32,
    /// Jobs failed.
    pub jobs_failed: u32,
}

/// `POST /jobs`: which registered job to run, with what.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    /// The registered job's name (`strom jobs` lists them).
    pub job: String,
    /// Its arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// A display name (default: the job's own name).
    #[serde(default)]
    pub name: Option<String>,
    /// Parallelism (default: `parallelism.default` of the JobManager).
    #[serde(default)]
    pub parallelism: Option<u32>,
    /// Configuration for this job (Flink key names), over the JobManager's.
    #[serde(default)]
    pub config: BTreeMap<String, String>,
}

/// Why a request to the JobManager failed; the REST layer maps it to a status code.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// 404: no such job, vertex or TaskManager.
    #[error("{0}")]
    NotFound(String),
    /// 400: the request is wrong (unknown job name, bad arguments, bad config).
    #[error("{0}")]
    BadRequest(String),
    /// 409: the request conflicts with the current state (e.g. cancelling a finished job).
    #[error("{0}")]
    Conflict(String),
    /// 500: the JobManager could not do it.
    #[error("{0}")]
    Internal(String),
}

/// What the Dispatcher's REST layer needs from the JobManager. Implementations are
/// global handles (`Send + Sync`) whose methods return quickly (no blocking on tasks).
pub trait ClusterApi: Send + Sync + 'static {
    /// Cluster-wide counts.
    fn overview(&self) -> ClusterOverview;
    /// Every job, newest first.
    fn jobs(&self) -> Vec<JobView>;
    /// One job.
    fn job(&self, id: JobId) -> Option<JobView>;
    /// Every registered TaskManager.
    fn task_managers(&self) -> Vec<TaskManagerView>;
    /// Submits a job; returns its id at once (it runs in the background).
    fn submit(&self, request: SubmitRequest) -> Result<JobId, ApiError>;
    /// Asks a job to cancel; returns at once.
    fn cancel(&self, id: JobId) -> Result<(), ApiError>;
    /// The JobManager's effective configuration, by key.
    fn config(&self) -> BTreeMap<String, String>;
    /// Version string (`strom x.y.z`) and the binary's fingerprint, for `/config`.
    fn version(&self) -> (String, String);
}
