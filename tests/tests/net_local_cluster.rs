//! The runtime's exchanges over the network stack: the embedded cluster with two
//! TaskManagers, whose slots exchange records over TCP on loopback exactly as separate
//! TaskManager processes would, while slots of one TaskManager keep in-process channels.

use std::collections::HashMap;
use std::time::{Duration, Instant};
use strom_runtime::api::StreamEnv;
use strom_runtime::cluster::{JobError, LocalCluster};
use strom_runtime::sink::CollectHandle;
use strom_tests::cluster_with;

fn two_taskmanagers(extra: &[(&str, &str)]) -> LocalCluster {
    let mut settings = vec![("minicluster.number-of-taskmanagers", "2")];
    settings.extend_from_slice(extra);
    cluster_with(4, &settings)
}

/// Every network buffer of every TaskManager is back in its pool.
fn assert_no_leak(c: &LocalCluster) {
    let net = c.network().expect("two TaskManagers have network stacks");
    let start = Instant::now();
    loop {
        let stats = net.pool_stats();
        if stats.iter().all(|s| s.available == s.capacity) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "network buffers leaked: {stats:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Rolling per-key counts of `n` records over 1,000 keys, keyed across all 4 subtasks.
fn keyed_counts(c: &LocalCluster, n: u64) -> HashMap<u64, u64> {
    let out = CollectHandle::<(u64, u64)>::new();
    let o = out.clone();
    let result = c
        .execute("keyed-count", move |env: &mut StreamEnv| {
            env.from_sequence(0, n)
                .set_parallelism(4)
                .map(|x: u64| (x % 1000, 1u64))
                .key_by(|r: &(u64, u64)| r.0)
                .reduce(|a: (u64, u64), b: (u64, u64)| (a.0, a.1 + b.1))
                .set_parallelism(4)
                .collect(&o);
            Ok(())
        })
        .unwrap()
        .wait()
        .unwrap();
    assert!(
        result.exchanged_records >= n,
        "{} exchanged",
        result.exchanged_records
    );
    let mut last = HashMap::new();
    for (k, count) in out.items() {
        let e = last.entry(k).or_insert(0);
        *e = (*e).max(count);
    }
    last
}

#[test]
fn keyed_counts_across_two_taskmanagers_are_exact() {
    let c = two_taskmanagers(&[]);
    let counts = keyed_counts(&c, 200_000);
    assert_eq!(counts.len(), 1000);
    assert!(
        counts.values().all(|v| *v == 200),
        "every key counted 200 times"
    );
    assert_no_leak(&c);
    // Again on the same cluster: partitions of the first job are gone.
    let counts = keyed_counts(&c, 50_000);
    assert!(counts.values().all(|v| *v == 50));
    assert_no_leak(&c);
}

#[test]
fn every_record_flushed_alone_still_arrives_exactly_once() {
    let c = two_taskmanagers(&[("execution.buffer-timeout", "0 ms")]);
    let counts = keyed_counts(&c, 20_000);
    assert_eq!(counts.values().sum::<u64>(), 20_000);
    assert_no_leak(&c);
}

#[test]
fn records_larger_than_a_buffer_cross_taskmanagers() {
    let c = two_taskmanagers(&[("taskmanager.memory.segment-size", "4kb")]);
    let out = CollectHandle::<(u64, usize)>::new();
    let o = out.clone();
    c.execute("big-records", move |env: &mut StreamEnv| {
        env.from_sequence(0, 200)
            .set_parallelism(4)
            .map(|x: u64| (x, "x".repeat(1000 + (x as usize % 7) * 3000)))
            .rebalance()
            .map(|r: (u64, String)| (r.0, r.1.len()))
            .set_parallelism(4)
            .collect(&o);
        Ok(())
    })
    .unwrap()
    .wait()
    .unwrap();
    let mut got = out.items();
    got.sort();
    let want: Vec<(u64, usize)> = (0..200)
        .map(|x| (x, 1000 + (x as usize % 7) * 3000))
        .collect();
    assert_eq!(got, want);
    assert_no_leak(&c);
}

#[test]
fn a_failure_on_one_taskmanager_fails_the_job_and_frees_the_network() {
    let c = two_taskmanagers(&[]);
    let err = c
        .execute("fails-remotely", move |env: &mut StreamEnv| {
            env.from_sequence(0, 100_000)
                .set_parallelism(4)
                .rebalance()
                .try_map(|x: u64| {
                    if x == 77_777 {
                        Err(format!("bad record {x}"))
                    } else {
                        Ok(x)
                    }
                })
                .set_parallelism(4)
                .name("Picky")
                .discard();
            Ok(())
        })
        .unwrap()
        .wait()
        .unwrap_err();
    match &err {
        JobError::Failed { error, .. } => {
            assert_eq!(error.operator(), Some("Picky"), "{err}");
            assert!(error.message().contains("bad record 77777"), "{err}");
        }
        other => panic!("expected the user error, got {other}"),
    }
    assert_no_leak(&c);
    // The cluster and its network stacks still run jobs.
    let counts = keyed_counts(&c, 10_000);
    assert!(counts.values().all(|v| *v == 10));
    assert_no_leak(&c);
}
