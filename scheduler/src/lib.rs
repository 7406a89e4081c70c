//! # strom-scheduler: the JobManager
//!
//! - [`view`]: read-only snapshots of jobs, tasks and TaskManagers, and the [`view::ClusterApi`]
//!   seam between the Dispatcher's REST layer and the JobManager;
//! - [`dispatcher`]: the REST API (Flink-compatible paths and shapes) on axum;
//! - [`job_manager`]: the JobManager process: main thread, TaskManager connections;
//! - `resource_manager`: registered TaskManagers, their slots and heartbeats;
//! - `job_master`: one state machine per job, over its execution graph.
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod dispatcher;
pub mod job_manager;
mod job_master;
mod resource_manager;
pub mod view;

pub use job_manager::{JobManager, JobManagerError, JobManagerOptions};
