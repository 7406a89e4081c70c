//! # strom-tools: the command line
//!
//! `strom run <job> [args]` runs a registered job on the embedded local cluster. A user's own
//! binary registers its jobs and calls [`main`] to get the same CLI:
//!
//! ```no_run
//! use strom_runtime::registry::JobRegistry;
//!
//! fn main() -> std::process::ExitCode {
//!     let mut jobs = strom_tools::jobs::builtin();
//!     jobs.register("my-job", "what it does", |_args| {
//!         Ok(std::sync::Arc::new(|env: &mut strom_runtime::api::StreamEnv| {
//!             env.from_sequence(0, 10).map(|x| x + 1).print();
//!             Ok(())
//!         }))
//!     });
//!     strom_tools::main(jobs)
//! }
//! ```
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

mod cli;
pub mod client;
pub mod jobs;
mod modes;
mod private_cluster;
mod processes;
mod remote;
mod run;

pub use cli::main;
