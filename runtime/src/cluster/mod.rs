//! The embedded local cluster: a JobManager's job lifecycle and one TaskManager's slots, in
//! one process. `strom run` uses it by default.
//!
//! - [`plan`]: subtasks to slots (slot sharing) and the channels between them;
//! - [`local`]: starting the slots and running jobs on them;
//! - [`job`]: a running job's handle, its status and result;
//! - [`network`]: with several TaskManagers in the embedded cluster, their network stacks.

pub mod job;
pub mod local;
pub mod network;
pub mod plan;
pub(crate) mod slot_deploy;

pub use job::{JobCounters, JobError, JobHandle, JobResult, JobStatus};
pub use local::{JobBuilder, LocalCluster};
