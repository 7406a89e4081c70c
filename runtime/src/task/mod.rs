//! Tasks: one subtask of a chain, running as a future on its slot's executor.
//!
//! - [`deploy`]: what a slot is told to run ([`deploy::TaskDeployment`], `Send`), and how it
//!   instantiates the chain from the job's factories ([`build`]).
//! - [`run`]: the task loops. A source task polls its reader in batches; an input task reads
//!   its gate. Both check, between batches/buffers, whether their outputs are available
//!   (back-pressure), whether the job was cancelled, and whether timers or the buffer
//!   timeout are due: Flink's mailbox model, on a thread-per-core executor.
//! - [`latency`]: latency markers from sources to sinks (`metrics.latency.interval`).

pub mod build;
pub mod deploy;
pub mod latency;
pub mod metrics;
pub mod run;

pub use latency::LatencySummary;
pub use metrics::{MetricsSnapshot, TaskMetrics};
