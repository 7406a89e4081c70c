//! Latency markers (`metrics.latency.interval`): sources send them, every task forwards them
//! behind the records written before them, sinks histogram `now − stamp`, and the job's
//! result carries the merged quantiles.

use std::time::Duration;
use strom_runtime::api::StreamEnv;
use strom_runtime::cluster::{JobResult, LocalCluster};
use strom_runtime::sink::CollectHandle;
use strom_tests::cluster_with;

/// `records` numbers paced at `rate` per second over 2 source subtasks, keyed over 2
/// subtasks, rolling counts collected: its result, and how many rows arrived.
fn paced_keyed_count(c: &LocalCluster, records: u64, rate: f64) -> (JobResult, usize) {
    let out = CollectHandle::<(u64, u64)>::new();
    let o = out.clone();
    let result = c
        .execute("latency", move |env: &mut StreamEnv| {
            env.from_generator(records, Some(rate), |i| i)
                .set_parallelism(2)
                .map(|x: u64| (x % 10, 1u64))
                .key_by(|r: &(u64, u64)| r.0)
                .reduce(|a: (u64, u64), b: (u64, u64)| (a.0, a.1 + b.1))
                .set_parallelism(2)
                .collect(&o);
            Ok(())
        })
        .expect("job starts")
        .wait()
        .expect("job finishes");
    (result, out.items().len())
}

#[test]
fn sinks_histogram_the_markers_of_every_source() {
    let c = cluster_with(2, &[("metrics.latency.interval", "5 ms")]);
    // 4,000 records at 8,000/s: about half a second.
    let (result, rows) = paced_keyed_count(&c, 4_000, 8_000.0);
    assert_eq!(rows, 4_000, "markers must not disturb the records");
    let l = result.latency.expect("markers were recorded");
    // Two sources, one marker per 5 ms each while they emit (≈ 0.5 s): about 200. Fewer
    // than 20 would mean markers are lost; more than 2 per source per ms cannot be sent.
    assert!(
        (20..=2 * 1_000).contains(&l.count),
        "markers recorded: {l:?}"
    );
    assert!(l.p50_us <= l.p99_us && l.p99_us <= l.p999_us && l.p999_us <= l.max_us);
    // A paced job on an idle-most-of-the-time cluster: well under a second.
    assert!(l.p50_us < 1_000_000, "{l:?}");
    // The sink tasks report their own share.
    let per_task: u64 = result
        .tasks
        .iter()
        .filter_map(|(_, _, m)| m.latency.map(|s| s.count))
        .sum();
    assert_eq!(per_task, l.count, "{:?}", result.tasks);
}

#[test]
fn no_markers_unless_an_interval_is_set() {
    let c = cluster_with(2, &[]);
    let (result, rows) = paced_keyed_count(&c, 2_000, 20_000.0);
    assert_eq!(rows, 2_000);
    assert_eq!(result.latency, None);
    assert!(result.tasks.iter().all(|(_, _, m)| m.latency.is_none()));
}

/// A marker leaves with the partly filled buffer ahead of it: with a long buffer timeout
/// and no flush when idle, it waits for that timeout as the records do; flushing when idle
/// (the default) sends it at once.
#[test]
fn markers_wait_behind_partly_filled_buffers() {
    let settings = |flush_on_idle: &'static str| {
        [
            ("metrics.latency.interval", "10 ms"),
            ("execution.buffer-timeout", "300 ms"),
            ("execution.flush-on-idle", flush_on_idle),
        ]
    };
    // 300 records at 250/s: 1.2 s, one record every 4 ms, so every marker follows a record
    // into a partly filled buffer.
    let c = cluster_with(2, &settings("false"));
    let (result, rows) = paced_keyed_count(&c, 300, 250.0);
    assert_eq!(rows, 300);
    let held = result.latency.expect("markers recorded");
    // Buffers leave every 300 ms: a marker waits 150 ms on average.
    assert!(held.p50_us >= 50_000, "markers did not wait: {held:?}");
    assert!(held.max_us >= 200_000, "{held:?}");
    drop(c);

    let c = cluster_with(2, &settings("true"));
    let (result, rows) = paced_keyed_count(&c, 300, 250.0);
    assert_eq!(rows, 300);
    let flushed = result.latency.expect("markers recorded");
    assert!(
        flushed.p50_us < held.p50_us / 2 && flushed.p50_us < 50_000,
        "flushing when idle should not hold markers: {flushed:?} vs {held:?}"
    );
}

/// Between TaskManagers the markers cross the network stack as events.
#[test]
fn markers_cross_taskmanagers() {
    let c = cluster_with(
        4,
        &[
            ("minicluster.number-of-taskmanagers", "2"),
            ("metrics.latency.interval", "2 ms"),
        ],
    );
    let out = CollectHandle::<(u64, u64)>::new();
    let o = out.clone();
    let result = c
        .execute("latency-net", move |env: &mut StreamEnv| {
            env.from_generator(8_000, Some(16_000.0), |i| i)
                .set_parallelism(4)
                .map(|x: u64| (x % 100, 1u64))
                .key_by(|r: &(u64, u64)| r.0)
                .reduce(|a: (u64, u64), b: (u64, u64)| (a.0, a.1 + b.1))
                .set_parallelism(4)
                .collect(&o);
            Ok(())
        })
        .expect("job starts")
        .wait()
        .expect("job finishes");
    assert_eq!(out.items().len(), 8_000);
    let l = result.latency.expect("markers recorded");
    // Four sources, a marker each per 2 ms for about half a second, each to one of four
    // sinks: all of them arrive, so every sink subtask saw some.
    assert!(l.count >= 100, "{l:?}");
    let sinks_with_markers = result
        .tasks
        .iter()
        .filter(|(_, _, m)| m.latency.is_some_and(|s| s.count > 0))
        .count();
    assert_eq!(sinks_with_markers, 4, "{:?}", result.tasks);
    assert!(
        l.p50_us < Duration::from_secs(1).as_micros() as u64,
        "{l:?}"
    );
}

#[test]
fn bad_latency_settings_are_refused_with_the_key() {
    for (key, value) in [
        ("metrics.latency.interval", "often"),
        ("execution.flush-on-idle", "sometimes"),
        ("taskmanager.slot.preempt-interval", "10 us"),
        ("taskmanager.slot.preempt-interval", "5 s"),
    ] {
        let mut config = strom_runtime::config::Configuration::new();
        config
            .set("taskmanager.numberOfTaskSlots", "1", "test")
            .expect("valid");
        let err = match config.set(key, value, "test") {
            Err(e) => e.to_string(),
            Ok(()) => match LocalCluster::start(config) {
                Err(e) => e.to_string(),
                Ok(c) => c
                    .execute("bad", |env: &mut StreamEnv| {
                        env.from_sequence(0, 10).discard();
                        Ok(())
                    })
                    .and_then(|h| h.wait())
                    .err()
                    .map(|e| e.to_string())
                    .unwrap_or_default(),
            },
        };
        assert!(
            err.contains(key) && err.contains(value),
            "{key}={value}: {err}"
        );
    }
}
