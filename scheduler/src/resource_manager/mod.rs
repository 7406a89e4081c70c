//! The ResourceManager: TaskManagers that registered, their slots, and their heartbeats.
//!
//! - [`registry`]: registration (binary fingerprint check), heartbeats, lost TaskManagers;
//! - [`slots`]: slot allocation to jobs and release.
//!
//! Lives on the JobManager's main thread (plain `&mut` access, no locks). Invariants: a
//! slot belongs to at most one job; a TaskManager that is lost takes its slots with it; a
//! TaskManager is reachable only through the connection it registered on.

pub(crate) mod registry;
pub(crate) mod slots;

pub(crate) use registry::{ConnId, ResourceManager};
