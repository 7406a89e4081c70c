//! `strom-bench`: throughput benchmarks for strom and its peer engines.
//!
//! * [`peer_timely`] — the timely-dataflow side of the `chained`,
//!   `keyed_count` and `wordcount` workloads.
//! * [`machine`] — a JSON description of the host, embedded in result files.

pub mod machine;
pub mod peer_timely;
