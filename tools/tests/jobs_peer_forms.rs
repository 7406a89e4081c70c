//! The jobs that mirror the Flink peer's workloads (`ds-w1`, `ds-w2` and the SQL forms `w1`,
//! `w2`) run to the end through the real binary: every generated record is read, and every
//! record of the keyed forms crosses the exchange at parallelism 2 (none of the stateless
//! forms does; at parallelism 1 the key-by edge is chained, so nothing crosses one).

mod common;

use common::run_strom;

fn summary(job: &str, records: u64, p: u32) -> serde_json::Value {
    let out = run_strom(
        &[
            "run",
            "-p",
            &p.to_string(),
            "--json",
            job,
            "--records",
            &records.to_string(),
        ],
        None,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "strom run {job}: {stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{job}: summary {last:?}: {e}"))
}

#[test]
fn peer_workloads_read_every_record() {
    for (job, keyed) in [
        ("ds-w1", false),
        ("ds-w2", true),
        ("w1", false),
        ("w2", true),
    ] {
        for p in [1, 2] {
            let s = summary(job, 100_003, p);
            assert_eq!(s["status"], "FINISHED", "{job} -p {p}: {s}");
            assert_eq!(s["records_in"], 100_003, "{job} -p {p}: {s}");
            let exchanged = if keyed && p > 1 { 100_003 } else { 0 };
            assert_eq!(s["records_exchanged"], exchanged, "{job} -p {p}: {s}");
        }
    }
}

#[test]
fn peer_workloads_reject_bad_arguments() {
    for job in ["ds-w1", "ds-w2", "w1", "w2"] {
        let out = run_strom(&["run", job, "--records", "many"], None);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{job}: {stderr}");
        assert!(
            stderr.contains("--records") && stderr.contains("many"),
            "{job}: the error names the argument and the value: {stderr}"
        );
    }
}
