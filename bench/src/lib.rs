//! `strom-bench`: throughput benchmarks for strom and its peer engines.
//!
//! * [`peer_timely`] — the timely-dataflow side of the `chained`,
//!   `keyed_count` and `wordcount` workloads.
//! * [`strom_jobs`] — the same workloads on strom's DataStream API.
//! * [`compare`] — the strom-vs-timely runner behind `strom_bench core`.
//! * [`machine`] — a JSON description of the host, embedded in result files.
//! * [`net`] — the network stack between two processes against `std::net`
//!   (`strom_bench net`).

pub mod compare;
pub mod machine;
pub mod net;
pub mod peer_timely;
pub mod strom_jobs;
