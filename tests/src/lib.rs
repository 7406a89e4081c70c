//! Helpers for strom's end-to-end tests.
#![warn(missing_docs)]

use std::time::{Duration, Instant};
use strom_runtime::cluster::{JobError, JobHandle, JobResult, LocalCluster};
use strom_runtime::config::Configuration;

/// A local cluster with `slots` slots (more than this machine's CPUs is fine: they share).
pub fn cluster(slots: usize) -> LocalCluster {
    let mut c = Configuration::new();
    c.set("taskmanager.numberOfTaskSlots", &slots.to_string(), "test")
        .expect("valid slots");
    LocalCluster::start(c).expect("cluster starts")
}

/// A local cluster with extra configuration.
pub fn cluster_with(slots: usize, settings: &[(&str, &str)]) -> LocalCluster {
    let mut c = Configuration::new();
    c.set("taskmanager.numberOfTaskSlots", &slots.to_string(), "test")
        .expect("valid slots");
    for (k, v) in settings {
        c.set(k, v, "test").expect("valid setting");
    }
    LocalCluster::start(c).expect("cluster starts")
}

/// Waits (20 s at most: deploying takes a while on a loaded machine) until `job`'s sources
/// have read something, and returns how much; panics if they read nothing.
pub fn wait_until_reading(job: &JobHandle) -> u64 {
    let until = Instant::now() + Duration::from_secs(20);
    let mut read = job.progress().0;
    while read == 0 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
        read = job.progress().0;
    }
    assert!(read > 0, "the sources read nothing in 20 s");
    read
}

/// Waits for `job` to end on another thread and panics if it has not within `limit`, so a
/// wait that would block for ever fails its test instead of hanging it.
pub fn wait_within(job: JobHandle, limit: Duration) -> Result<JobResult, JobError> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(job.wait());
    });
    rx.recv_timeout(limit)
        .unwrap_or_else(|_| panic!("the job's wait still blocks after {limit:?}"))
}

/// Drops `cluster` while `job` still runs on its slots, and checks that the job's wait then
/// ends, within 30 s, with the error that its tasks never reported: they were dropped on
/// their slots' threads, so the job learns it rather than waiting for ever.
pub fn assert_job_ends_when_its_cluster_goes(cluster: LocalCluster, job: JobHandle) {
    drop(cluster);
    let e = wait_within(job, Duration::from_secs(30))
        .map(|r| r.status)
        .expect_err("a job whose slots went cannot have finished");
    assert!(e.to_string().contains("never reported"), "{e}");
}

pub mod reference;
pub mod tagging;
