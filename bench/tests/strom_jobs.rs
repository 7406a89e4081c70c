//! The strom jobs compute what the timely peer computes: for small inputs,
//! equal sink record counts and equal checksums, per workload and worker count.
//! One test (one cluster) so that parallel tests do not multiply slot threads.

use strom_bench::peer_timely::{self, Workload};
use strom_bench::strom_jobs;

#[test]
fn strom_matches_timely() {
    let cluster = strom_jobs::cluster(2).expect("cluster starts");
    let cases = [
        (Workload::Chained, 100_003, 1),
        (Workload::KeyedCount, 123_457, 1),
        (Workload::KeyedCount, 123_457, 2),
        (Workload::WordCount, 50_005, 1),
        (Workload::WordCount, 50_005, 2),
    ];
    for (workload, n, w) in cases {
        let s = strom_jobs::run(&cluster, workload, n, w).expect("strom runs");
        let t = peer_timely::run(workload, n, w).expect("timely runs");
        let what = format!("{} with {w} workers", workload.name());
        assert_eq!(s.records, t.records, "{what}: input size");
        assert!(s.sink_records > 0, "{what}: empty output");
        assert_eq!(
            (s.sink_records, s.checksum),
            (t.sink_records, t.checksum),
            "{what}: strom and timely disagree"
        );
    }
}
