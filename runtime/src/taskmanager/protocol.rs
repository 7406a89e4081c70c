//! The JobManager ↔ TaskManager protocol: the messages, as JSON bodies of the control-plane
//! RPC (`strom_net::rpc`).
//!
//! Every message is decoded with its size already bounded by the RPC layer; a body that does
//! not decode is an error naming the message, never a panic. Job ids travel as 32 hex
//! digits; the TaskManager treats them as opaque keys.

use crate::config::Configuration;
use crate::task::MetricsSnapshot;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

/// A message that did not decode.
#[derive(Debug, thiserror::Error)]
#[error("malformed {what} from {peer}: {reason}")]
pub struct ProtocolError {
    /// Which message kind was expected.
    pub what: &'static str,
    /// Who sent it.
    pub peer: String,
    /// serde's explanation.
    pub reason: String,
}

/// Encodes a message (cannot fail for these types).
pub fn encode<T: Serialize>(msg: &T) -> Vec<u8> {
    serde_json::to_vec(msg).unwrap_or_default()
}

/// Decodes a message of kind `what` sent by `peer`.
pub fn decode<T: for<'de> Deserialize<'de>>(
    body: &[u8],
    what: &'static str,
    peer: impl ToString,
) -> Result<T, ProtocolError> {
    serde_json::from_slice(body).map_err(|e| ProtocolError {
        what,
        peer: peer.to_string(),
        reason: e.to_string(),
    })
}

/// TaskManager → JobManager.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ToJobManager {
    /// First message on a connection (a request; answered with [`Registered`] or an error).
    Register(Registration),
    /// Periodic: "alive", with the counters of every running task.
    Heartbeat(TaskManagerHeartbeat),
    /// A task changed state.
    TaskState(TaskStateUpdate),
}

/// What a TaskManager offers when it registers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Registration {
    /// Fingerprint of its binary (hex); must equal the JobManager's.
    pub fingerprint: String,
    /// Its version (`strom x.y.z`).
    pub version: String,
    /// Slots it offers.
    pub slots: u32,
    /// Its network stack's address.
    pub data_address: SocketAddr,
    /// CPUs of its machine.
    pub cpu_cores: u32,
    /// Physical memory of its machine (bytes).
    pub physical_memory: u64,
    /// Its network buffer memory (bytes).
    pub network_memory: u64,
}

/// The JobManager's answer to a registration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Registered {
    /// The id the JobManager gave it.
    pub task_manager_id: String,
    /// How often to send heartbeats (ms).
    pub heartbeat_interval_ms: u64,
    /// After how long without a heartbeat from the JobManager it is considered lost (ms).
    pub heartbeat_timeout_ms: u64,
}

/// A TaskManager's heartbeat.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TaskManagerHeartbeat {
    /// Free memory of its machine (bytes).
    pub free_memory: u64,
    /// Counters of the tasks it runs.
    pub tasks: Vec<TaskCounters>,
}

/// One task's counters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskCounters {
    /// The job (32 hex digits).
    pub job: String,
    /// The vertex.
    pub vertex: u32,
    /// The subtask.
    pub subtask: u32,
    /// The counters.
    pub metrics: MetricsSnapshot,
}

/// A task's state as its TaskManager reports it (CREATED to INITIALIZING are the
/// JobManager's own bookkeeping).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReportedState {
    /// Built on its slot and running.
    Running,
    /// Ended: its input ended and everything was emitted.
    Finished,
    /// Ended on cancellation.
    Canceled,
    /// Ended with an error.
    Failed,
}

/// A task's state change.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskStateUpdate {
    /// The job (32 hex digits).
    pub job: String,
    /// The vertex.
    pub vertex: u32,
    /// The subtask.
    pub subtask: u32,
    /// The new state.
    pub state: ReportedState,
    /// For `Failed`: the error, naming the operator.
    pub error: Option<String>,
    /// The counters at that moment.
    pub metrics: MetricsSnapshot,
}

/// JobManager → TaskManager.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ToTaskManager {
    /// Periodic: "alive".
    Heartbeat,
    /// Run a job's subtasks (a request; answered with an empty body or an error).
    Deploy(Box<DeployJob>),
    /// Cancel a job's tasks here.
    Cancel {
        /// The job.
        job: String,
    },
    /// The job is over everywhere: release its partitions and forget it.
    Release {
        /// The job.
        job: String,
    },
}

/// Everything a TaskManager needs to run its part of a job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeployJob {
    /// The job (32 hex digits).
    pub job: String,
    /// Key for the job's partition ids (the same on every TaskManager).
    pub job_key: u64,
    /// Display name.
    pub name: String,
    /// The registered builder's name.
    pub builder: String,
    /// The builder's arguments.
    pub args: Vec<String>,
    /// The job's configuration.
    pub config: Configuration,
    /// Default parallelism the graph was built with.
    pub parallelism: u32,
    /// Max parallelism the graph was built with.
    pub max_parallelism: u32,
    /// The graph's fingerprint: the TaskManager must rebuild exactly this graph.
    pub graph_fingerprint: u64,
    /// For each logical slot of the job: which TaskManager (index into `data_addresses`).
    pub slot_task_managers: Vec<usize>,
    /// For each logical slot placed on this TaskManager: its local slot (others: ignored).
    pub local_slots: Vec<u32>,
    /// The data addresses of the job's TaskManagers.
    pub data_addresses: Vec<SocketAddr>,
    /// This TaskManager's index in `data_addresses`.
    pub me: usize,
}
