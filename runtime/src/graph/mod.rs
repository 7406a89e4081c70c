//! The job graph: what a job is, as data.
//!
//! A job's builder function produces a [`JobGraph`]: operators ([`StreamNode`]) joined by
//! edges that say how records are partitioned, and the chains ([`JobVertex`]) that operator
//! chaining groups them into. The graph is plain data (serde and rkyv), so that it can be
//! shown, stored and sent to another process; the code of the operators is not in it, but
//! in the binary that registered the job's builder (see [`crate::registry`]).
//!
//! Invariants of a graph returned by `StreamEnv::build` (crate-internal):
//! - node ids are their index in `nodes`, and every edge points to an earlier node;
//! - every edge's partitioning is resolved (no `Default`);
//! - it passed [`validate`], and `vertices` is the result of [`chaining::chain`].

pub mod chaining;
pub mod key_groups;
mod model;
mod validate;

pub use model::*;
pub use validate::{validate, BuildError};
