//! # strom-scheduler: the JobManager
//!
//! This crate will hold the Dispatcher (REST API, web UI), the ResourceManager (TaskManager
//! registry, slots, heartbeats) and one JobMaster per job. Until the cluster work lands, jobs
//! run on the embedded local cluster of `strom_runtime::cluster`, and this crate is empty on
//! purpose: nothing here pretends to schedule.
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
