//! # strom-runtime: the dataflow core and the TaskManager
//!
//! - [`graph`]: the job graph as data (operators, edges, chains) and its validation;
//! - [`api`]: the DataStream API that builds job graphs;
//! - [`operator`], [`source`], [`sink`], [`state`], [`time`]: what runs inside tasks;
//! - [`exchange`]: bounded buffer channels between tasks;
//! - [`task`]: instantiating and running subtasks;
//! - [`slot`]: the executor seam (one glommio executor per slot, file and socket I/O);
//! - [`cluster`]: the embedded local cluster, and planning a job's part on one TaskManager;
//! - [`taskmanager`]: the TaskManager process and the JobManager ↔ TaskManager protocol;
//! - [`registry`]: jobs as named builder functions;
//! - [`config`]: Flink-named configuration keys.
//!
//! Placement of types: anything that runs a record lives on one slot's core (`Rc`, not
//! `Send`); channels and pools between slots are global handles over lock-free queues; the
//! job graph and deployments are plain `Send` data.
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod api;
pub mod cluster;
pub mod config;
pub mod error;
pub mod exchange;
pub mod graph;
pub mod operator;
pub mod registry;
pub mod sink;
pub mod slot;
pub mod source;
pub mod state;
pub mod task;
pub mod taskmanager;
pub mod time;
pub mod window;
