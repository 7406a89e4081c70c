//! # The TaskManager process
//!
//! A TaskManager offers its slots to a JobManager and runs the subtasks it is told to:
//!
//! - [`protocol`]: the JobManager ↔ TaskManager messages (JSON over `strom_net::rpc`);
//! - [`service`]: the control loop (registration, heartbeats, deploy, cancel, release);
//! - `jobs`: one job's part here: rebuilt from its registered builder, checked against the
//!   JobManager's graph fingerprint, planned for the local slots, and its task reports
//!   forwarded.
//!
//! Invariants: a TaskManager only runs jobs whose binary fingerprint matched at
//! registration and whose rebuilt graph matches the JobManager's; everything a job holds
//! here (tasks, partitions) is given back when the JobManager releases the job or is lost.

mod jobs;
pub mod protocol;
pub mod service;

pub use service::{TaskManager, TaskManagerOptions};

use std::net::SocketAddr;
use std::time::Duration;

/// Why a TaskManager could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum TaskManagerError {
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The slots did not start.
    #[error(transparent)]
    Slot(#[from] crate::slot::SlotError),
    /// The network stack did not start.
    #[error("the network stack did not start: {0}")]
    Network(String),
    /// Talking to the JobManager failed (a retry may help).
    #[error("JobManager connection: {0}")]
    Rpc(String),
    /// The JobManager refused the registration (a retry will not help).
    #[error("the JobManager refused this TaskManager: {0}")]
    Refused(String),
    /// No JobManager took the registration in time.
    #[error("no JobManager at {jobmanager} accepted the registration within {waited:?} (taskmanager.registration.timeout); last error: {last}")]
    RegistrationTimeout {
        /// Where it tried.
        jobmanager: SocketAddr,
        /// How long.
        waited: Duration,
        /// The last error.
        last: String,
    },
}
