//! Processing-time windows: every record counted exactly once, windows aligned to their
//! size, sliding windows holding exactly the records that arrived within them, sessions
//! split by a pause in the input, and windows still open at the end of a bounded input fire.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use strom_runtime::api::{Collector, StreamEnv, UserError};
use strom_runtime::error::TaskResult;
use strom_runtime::operator::context::now_millis;
use strom_runtime::operator::Output;
use strom_runtime::sink::CollectHandle;
use strom_runtime::source::{LocalFuture, SourceReader, SourceStatus};
use strom_runtime::window::{
    ProcessingTimeSessionWindows, SlidingProcessingTimeWindows, TumblingProcessingTimeWindows,
    WindowContext,
};
use strom_tests::cluster_with;
use strom_tests::reference::sliding_windows;

/// (key, window start, window end, count)
type Counted = (u64, i64, i64, u64);

fn count(
    k: &u64,
    ctx: &WindowContext,
    e: &[(u64, u64)],
    out: &mut Collector<'_, Counted>,
) -> Result<(), UserError> {
    out.collect((*k, ctx.window().start, ctx.window().end, e[0].1));
    Ok(())
}

/// `n` records of `keys` keys with one pause of `pause` after the first `before` records.
/// The pause is a real source wait (the task sleeps on its slot's timer and flushes
/// meanwhile), not a blocked thread.
struct Paused {
    next: u64,
    n: u64,
    keys: u64,
    before: u64,
    pause: Duration,
    /// When the pause ends, once it has begun. The task may drop a `wait` future early (to
    /// flush or fire timers), so the pause is kept here, not in the future.
    resume_at: Option<Instant>,
}

impl SourceReader<(u64, u64)> for Paused {
    fn poll_batch(
        &mut self,
        out: &mut dyn Output<(u64, u64)>,
        max: usize,
    ) -> TaskResult<(SourceStatus, usize)> {
        if self.next == self.before {
            let resume = *self
                .resume_at
                .get_or_insert_with(|| Instant::now() + self.pause);
            if Instant::now() < resume {
                return Ok((SourceStatus::Pending, 0));
            }
        }
        let stop = if self.next < self.before {
            self.before
        } else {
            self.n
        };
        let stop = stop.min(self.next + max as u64);
        for i in self.next..stop {
            out.emit((i % self.keys, 1), None)?;
        }
        let emitted = (stop - self.next) as usize;
        self.next = stop;
        let status = if self.next == self.n {
            SourceStatus::Finished
        } else {
            SourceStatus::More
        };
        Ok((status, emitted))
    }

    fn wait(&mut self) -> LocalFuture<'_, TaskResult> {
        let left = self
            .resume_at
            .map(|r| r.saturating_duration_since(Instant::now()))
            .unwrap_or_default();
        Box::pin(async move {
            strom_runtime::slot::sleep(left).await;
            Ok(())
        })
    }
}

#[test]
fn tumbling_processing_time_counts_every_record_once() {
    let out = CollectHandle::<Counted>::new();
    let o = out.clone();
    cluster_with(2, &[("execution.buffer-timeout", "0")])
        .execute("proc-tumbling", move |env: &mut StreamEnv| {
            // 20 000 records at 200 000 per second: about 100 ms, so several windows.
            env.from_generator(20_000, Some(200_000.0), |i| (i % 5, 1u64))
                .set_parallelism(1)
                .key_by(|r: &(u64, u64)| r.0)
                .window(TumblingProcessingTimeWindows::of(Duration::from_millis(10)))
                .reduce_with(|a, b| (a.0, a.1 + b.1), count)
                .set_parallelism(2)
                .collect(&o);
            Ok(())
        })
        .unwrap()
        .wait()
        .unwrap();
    let items = out.items();
    let mut per_key: BTreeMap<u64, u64> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for &(k, start, end, n) in &items {
        assert_eq!(end - start, 10, "window size");
        assert_eq!(start.rem_euclid(10), 0, "windows align to the epoch");
        assert!(seen.insert((k, start)), "window ({k}, {start}) fired twice");
        *per_key.entry(k).or_default() += n;
    }
    assert_eq!(
        per_key,
        (0..5).map(|k| (k, 4_000)).collect(),
        "every record once"
    );
    let windows: BTreeSet<i64> = items.iter().map(|i| i.1).collect();
    assert!(
        windows.len() >= 2,
        "the input spans ~100 ms, so several windows"
    );
}

/// (key, arrival time, count)
type Stamped = (u64, i64, u64);

#[test]
fn sliding_processing_time_windows_hold_the_records_that_arrived_within_them() {
    let stamps = CollectHandle::<Stamped>::new();
    let out = CollectHandle::<Counted>::new();
    let (s, o) = (stamps.clone(), out.clone());
    let c = cluster_with(2, &[("execution.buffer-timeout", "0")]);
    let job = c
        .execute("proc-sliding", move |env: &mut StreamEnv| {
            // 20 000 records at 200 000 per second: about 100 ms, so many 20 ms windows
            // sliding by 5 ms.
            let stamped = env
                .from_generator(20_000, Some(200_000.0), |i| i % 5)
                .set_parallelism(1)
                // The clock of the task step, the one the window operator reads to assign
                // the record: everything here has parallelism 1, so it is one chain.
                .map(|k| (k, now_millis(), 1u64))
                .set_parallelism(1);
            stamped.collect(&s).set_parallelism(1);
            stamped
                .key_by(|r: &Stamped| r.0)
                .window(SlidingProcessingTimeWindows::of(
                    Duration::from_millis(20),
                    Duration::from_millis(5),
                ))
                .reduce_with(
                    |a, b| (a.0, a.1, a.2 + b.2),
                    |k: &u64,
                     ctx: &WindowContext,
                     e: &[Stamped],
                     out: &mut Collector<'_, Counted>| {
                        out.collect((*k, ctx.window().start, ctx.window().end, e[0].2));
                        Ok(())
                    },
                )
                .set_parallelism(1)
                .collect(&o)
                .set_parallelism(1);
            Ok(())
        })
        .unwrap();
    assert_eq!(
        job.graph().vertices.len(),
        1,
        "the stamping map and the window operator share a chain (and so a step clock)"
    );
    job.wait().unwrap();
    // Independently: each record belongs to every 20 ms window, aligned to 5 ms, that
    // contains its arrival time; each window fires once with the count of its records.
    let mut want: BTreeMap<(u64, i64, i64), u64> = BTreeMap::new();
    for (k, t, _) in stamps.items() {
        for (start, end) in sliding_windows(t, 20, 5) {
            *want.entry((k, start, end)).or_default() += 1;
        }
    }
    assert_eq!(stamps.items().len(), 20_000);
    let mut got: BTreeMap<(u64, i64, i64), u64> = BTreeMap::new();
    for (k, start, end, n) in out.items() {
        assert!(
            got.insert((k, start, end), n).is_none(),
            "window ({k}, {start}, {end}) fired twice"
        );
    }
    assert_eq!(got, want);
    let arrivals: BTreeSet<i64> = stamps.items().iter().map(|r| r.1).collect();
    assert!(
        arrivals.len() >= 10,
        "the input spans ~100 ms, so records in many overlapping windows: {arrivals:?}"
    );
}

#[test]
fn processing_time_sessions_split_at_a_pause() {
    let out = CollectHandle::<Counted>::new();
    let o = out.clone();
    cluster_with(2, &[("execution.buffer-timeout", "0")])
        .execute("proc-sessions", move |env: &mut StreamEnv| {
            // 3 000 records, a 2 s pause, 3 000 more: with a 600 ms gap, two sessions per
            // key (the records on each side arrive well within the gap, even when a loaded
            // machine stalls the window task for a few hundred ms).
            env.add_source("Paused", |_| {
                Box::new(Paused {
                    next: 0,
                    n: 6_000,
                    keys: 3,
                    before: 3_000,
                    pause: Duration::from_millis(2000),
                    resume_at: None,
                })
            })
            .set_parallelism(1)
            .key_by(|r: &(u64, u64)| r.0)
            .window(ProcessingTimeSessionWindows::with_gap(
                Duration::from_millis(600),
            ))
            .reduce_with(|a, b| (a.0, a.1 + b.1), count)
            .collect(&o);
            Ok(())
        })
        .unwrap()
        .wait()
        .unwrap();
    let mut per_key: BTreeMap<u64, Vec<Counted>> = BTreeMap::new();
    for s in out.items() {
        per_key.entry(s.0).or_default().push(s);
    }
    assert_eq!(per_key.len(), 3);
    for (k, mut sessions) in per_key {
        sessions.sort_by_key(|s| s.1);
        let counts: Vec<u64> = sessions.iter().map(|s| s.3).collect();
        assert_eq!(counts, vec![1_000, 1_000], "key {k}: {sessions:?}");
        assert!(
            sessions[1].1 - sessions[0].2 >= 500,
            "the pause separates them"
        );
    }
}
