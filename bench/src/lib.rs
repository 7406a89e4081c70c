//! `strom-bench`: throughput benchmarks for strom and its peer engines.
//!
//! * [`peer_timely`] — the timely-dataflow side of the `chained`,
//!   `keyed_count` and `wordcount` workloads.
//! * [`strom_jobs`] — the same workloads on strom's DataStream API.
//! * [`compare`] — the strom-vs-timely runner behind `strom_bench core`.
//! * [`machine`] — a JSON description of the host, embedded in result files.
//! * [`net`] — the network stack between two processes against `std::net`
//!   (`strom_bench net`).
//! * [`cluster`] — a session cluster of real strom processes against Apache Flink 2.3
//!   (`strom_bench cluster`).
//! * [`keyed_net`] — the keyed count across two processes: strom against itself in one
//!   process and against timely across two processes (`strom_bench keyed-net`).
//! * [`report_file`] — where a benchmark's JSON report goes (`--out` or stdout).
//! * [`wake`] — what one sleep/wake cycle of a slot costs against a plain thread
//!   (`strom_bench wake`).
//! * [`verdict_cli`] — `strom_bench compare` and `strom_bench ab`: the regression verdict
//!   ([`strom_verdict`]).

pub mod cluster;
pub mod compare;
pub mod keyed_net;
pub mod machine;
pub mod net;
pub mod nexmark_harness;
pub mod peer_timely;
pub mod report_file;
pub mod strom_jobs;
pub mod verdict_cli;
pub mod wake;
