//! A failing user function fails its job (naming the operator) and leaves the cluster healthy;
//! cancellation stops unbounded jobs; a slow sink back-pressures without losing records.

use std::time::Duration;
use strom_runtime::api::StreamEnv;
use strom_runtime::cluster::{JobError, JobStatus};
use strom_runtime::graph::BuildError;
use strom_runtime::sink::CollectHandle;
use strom_tests::{
    assert_job_ends_when_its_cluster_goes, cluster, cluster_with, wait_until_reading,
};

#[test]
fn failing_function_fails_the_job_and_names_the_operator() {
    let c = cluster(2);
    let err = c
        .execute("fails", |env| {
            env.from_sequence(0, 1000)
                .key_by(|x: &u64| *x)
                .stream()
                .clone()
                .try_map(|x: u64| {
                    if x == 500 {
                        Err(format!("bad record {x}"))
                    } else {
                        Ok(x)
                    }
                })
                .name("Validator")
                .discard();
            Ok(())
        })
        .unwrap()
        .wait()
        .unwrap_err();
    match &err {
        JobError::Failed { error, .. } => {
            assert_eq!(error.operator(), Some("Validator"));
            assert!(error.message().contains("bad record 500"), "{err}");
        }
        other => panic!("{other}"),
    }
    // A panic is caught the same way.
    let err = c
        .execute("panics", |env| {
            env.from_sequence(0, 100)
                .map(|x: u64| if x == 42 { panic!("boom at {x}") } else { x })
                .name("Exploder")
                .discard();
            Ok(())
        })
        .unwrap()
        .wait()
        .unwrap_err();
    assert!(
        err.to_string().contains("Exploder") && err.to_string().contains("boom at 42"),
        "{err}"
    );
    // The cluster still runs jobs.
    let out = CollectHandle::<u64>::new();
    let o = out.clone();
    c.execute("after", move |env| {
        env.from_sequence(0, 10).collect(&o);
        Ok(())
    })
    .unwrap()
    .wait()
    .unwrap();
    assert_eq!(out.items().len(), 10);
}

/// A job that never ends: an unbounded sequence, a keyed max per key.
fn unbounded_keyed_max(env: &mut StreamEnv) -> Result<(), BuildError> {
    env.sequence_unbounded(0)
        .key_by(|x: &u64| x % 10)
        .reduce(|a, b| a.max(b))
        .discard();
    Ok(())
}

#[test]
fn unbounded_job_runs_until_cancelled() {
    let c = cluster(2);
    let job = c.execute("forever", unbounded_keyed_max).unwrap();
    let read = wait_until_reading(&job);
    job.cancel();
    let r = job.wait().unwrap();
    assert_eq!(r.status, JobStatus::Canceled);
    assert!(
        r.source_records >= read,
        "made progress before cancel: {read}"
    );
}

#[test]
fn a_job_still_running_when_its_cluster_goes_ends_with_an_error() {
    let c = cluster(2);
    let job = c.execute("orphan", unbounded_keyed_max).unwrap();
    wait_until_reading(&job);
    // The slots end with the cluster while the job runs: its tasks are dropped on their
    // slots' threads and its wait ends with an error rather than blocking.
    assert_job_ends_when_its_cluster_goes(c, job);
}

#[test]
fn slow_sink_back_pressures_and_loses_nothing() {
    // Tiny buffers and few of them, so the producer runs out of credit quickly.
    let c = cluster_with(
        2,
        &[
            ("taskmanager.memory.segment-size", "4kb"),
            ("taskmanager.network.memory.buffers-per-channel", "2"),
        ],
    );
    let out = CollectHandle::<u64>::new();
    let o = out.clone();
    let job = c
        .execute("slow", move |env| {
            env.from_sequence(0, 20_000)
                .set_parallelism(1)
                .rebalance()
                .map(|x| {
                    if x % 1000 == 0 {
                        std::thread::sleep(Duration::from_millis(2));
                    }
                    x
                })
                .set_parallelism(1)
                .collect(&o);
            Ok(())
        })
        .unwrap();
    let r = job.wait().unwrap();
    let mut got = out.items();
    got.sort();
    assert_eq!(got, (0..20_000).collect::<Vec<_>>());
    // The source task spent time blocked on output buffers.
    let src = r
        .tasks
        .iter()
        .find(|(name, _, _)| name.starts_with("Sequence"))
        .unwrap();
    assert!(
        src.2.backpressured_ns > 0,
        "source never back-pressured: {:?}",
        src.2
    );
}
