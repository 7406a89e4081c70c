//! The batch path through a chain (`Output::emit_batch`): the data generator hands its
//! records to the chain 32 at a time; filter, map, the timestamp assigner and exchange
//! writers work on whole batches. The results must be those of records one by one: same
//! records, same order per channel, and every watermark after exactly the records it
//! followed (checked through lateness against a sequential replay).

use std::sync::Arc;
use std::time::Duration;
use strom_runtime::api::{
    AggregateFunction, OutputTag, StreamEnv, WatermarkStrategy, WindowedStream,
};
use strom_runtime::operator::Millis;
use strom_runtime::sink::CollectHandle;
use strom_runtime::time::WatermarkGenerator;
use strom_runtime::window::TumblingEventTimeWindows;
use strom_tests::cluster;
use strom_tests::reference::{lcg, replay_event_time, Firing, Rec};

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

#[test]
fn filter_and_map_on_batches_keep_every_record_in_order() {
    let got = through_latest_per_key("batch-map", 100_003, |s| {
        s.filter(|x: &u64| !x.is_multiple_of(3))
            .set_parallelism(1)
            .map(|x: u64| (x % 7, x * 2))
            .set_parallelism(1)
    });
    let want: Vec<(u64, u64)> = (0..100_003u64)
        .filter(|x| !x.is_multiple_of(3))
        .map(|x| (x % 7, x * 2))
        .collect();
    assert_eq!(sorted(got.clone()), sorted(want.clone()));
    same_order_per_key(&got, &want, 7);
}

/// Runs `stages` on a one-subtask generator of `0..n`, then passes every record through a
/// keyed reduce that keeps the latest record (two subtasks), and returns what arrived.
fn through_latest_per_key(
    name: &str,
    n: u64,
    stages: fn(strom_runtime::api::DataStream<u64>) -> strom_runtime::api::DataStream<(u64, u64)>,
) -> Vec<(u64, u64)> {
    let out = CollectHandle::<(u64, u64)>::new();
    let o = out.clone();
    cluster(2)
        .execute(name, move |env: &mut StreamEnv| {
            stages(env.from_generator(n, None, |i| i).set_parallelism(1))
                .key_by(|r: &(u64, u64)| r.0)
                // Passes each record on as it comes (the latest one wins).
                .reduce(|_, latest| latest)
                .set_parallelism(2)
                .collect(&o);
            Ok(())
        })
        .expect("job starts")
        .wait()
        .expect("job finishes");
    out.items()
}

/// Records of `got` and `want` with key `k`, in order, are the same for every key below
/// `keys` (one channel per key each way keeps their order).
fn same_order_per_key(got: &[(u64, u64)], want: &[(u64, u64)], keys: u64) {
    for k in 0..keys {
        let g: Vec<_> = got.iter().filter(|r| r.0 == k).collect();
        let w: Vec<_> = want.iter().filter(|r| r.0 == k).collect();
        assert_eq!(g, w, "order of key {k}");
    }
}

/// (count, sum) of the values in a window.
#[derive(Clone)]
struct CountSum;

impl AggregateFunction<Rec, (u64, u64), (u64, u64)> for CountSum {
    fn create_accumulator(&self) -> (u64, u64) {
        (0, 0)
    }
    fn add(&self, r: Rec, acc: (u64, u64)) -> (u64, u64) {
        (acc.0 + 1, acc.1 + r.2)
    }
    fn get_result(&self, acc: &(u64, u64)) -> (u64, u64) {
        *acc
    }
    fn merge(&self, a: (u64, u64), b: (u64, u64)) -> (u64, u64) {
        (a.0 + b.0, a.1 + b.1)
    }
}

/// A watermark after every record: the largest timestamp so far plus `offset` (negative:
/// behind; positive: ahead of event time, so that following records can be late at once).
struct PerRecord {
    max: i64,
    offset: i64,
}

impl WatermarkGenerator for PerRecord {
    fn on_event(&mut self, timestamp: Millis) -> Option<Millis> {
        self.max = self.max.max(timestamp);
        Some(self.max + self.offset)
    }
    fn on_periodic_emit(&mut self) -> Option<Millis> {
        None
    }
}

/// `input` from the data generator (batches of 32) with a watermark `offset` from the
/// largest timestamp after every record, into 100 ms tumbling windows with 150 ms lateness:
/// the firings and late records must be those of the sequential replay.
fn check_against_replay(input: Vec<Rec>, offset: i64) {
    // The replay's watermark is `max − bound − 1`.
    let (expected, expected_late) = replay_event_time(&input, 100, 100, -offset - 1, 150);
    let out = CollectHandle::<Firing>::new();
    let late = CollectHandle::<Rec>::new();
    let (o, l) = (out.clone(), late.clone());
    let input = Arc::new(input);
    let n = input.len() as u64;
    cluster(2)
        .execute("batch-watermarks", move |env: &mut StreamEnv| {
            let tag = OutputTag::<Rec>::new("late");
            let input = input.clone();
            let windows = env
                .from_generator(n, None, move |i| input[i as usize])
                // One source, one watermark generator, chained: the replay's model.
                .set_parallelism(1)
                .assign_timestamps_and_watermarks(
                    WatermarkStrategy::for_generator(move || PerRecord {
                        max: i64::MIN / 2,
                        offset,
                    })
                    .with_timestamp_assigner(|r: &Rec, _| r.1),
                )
                .set_parallelism(1)
                .key_by(|r: &Rec| r.0)
                .window(TumblingEventTimeWindows::of(Duration::from_millis(100)))
                .allowed_lateness(Duration::from_millis(150))
                .side_output_late_data(&tag)
                .aggregate_with(
                    CountSum,
                    |k: &u64,
                     ctx: &strom_runtime::window::WindowContext,
                     e: &[(u64, u64)],
                     out: &mut strom_runtime::api::Collector<'_, Firing>| {
                        for (c, s) in e {
                            out.collect((*k, ctx.window().start, ctx.window().end, *c, *s));
                        }
                        Ok(())
                    },
                )
                .set_parallelism(2);
            windows.collect(&o);
            windows.side_output(&tag).collect(&l);
            Ok(())
        })
        .expect("job starts")
        .wait()
        .expect("job finishes");
    assert_eq!(sorted(late.items()), sorted(expected_late), "late records");
    assert_eq!(sorted(out.items()), sorted(expected), "window firings");
}

#[test]
fn watermarks_inside_a_batch_follow_their_record() {
    // Out of order by up to 400 ms against a 50 ms bound: many records are late, and which
    // ones depends on every watermark coming right after its record.
    let mut s = 7;
    let input: Vec<Rec> = (0..20_000u64)
        .map(|i| {
            let ts = (i * 3) as i64 + (lcg(&mut s) % 401) as i64;
            (lcg(&mut s) % 13, ts, lcg(&mut s) % 1000)
        })
        .collect();
    check_against_replay(input, -51);
}

#[test]
fn a_watermark_ahead_of_its_record_comes_after_it() {
    // Runs of 10 records per timestamp, and a watermark 160 ms ahead of the largest
    // timestamp after every record: the record that raised it is on time (it came first),
    // the records after it in the same run are late. A watermark sent ahead of the run it
    // ends would make the whole run late.
    let mut s = 11;
    let input: Vec<Rec> = (0..20_000u64)
        .map(|i| ((lcg(&mut s) % 5), (i / 10) as i64 * 7, i % 100))
        .collect();
    check_against_replay(input, 160);
}

#[test]
fn runs_of_equal_timestamps_stay_on_time() {
    let mut s = 13;
    let input: Vec<Rec> = (0..20_000u64)
        .map(|i| ((lcg(&mut s) % 5), (i / 10) as i64 * 7, i % 100))
        .collect();
    check_against_replay(input, -1);
}

/// Words of a record: `x` and, stamped with its own timestamp, `x + 1_000_000`.
fn two_per_record(x: u64, out: &mut strom_runtime::operator::Collector<'_, (u64, u64)>) {
    out.collect((x % 5, x));
    out.collect_with_timestamp((x % 5, x + 1_000_000), (x / 100) as Millis);
}

#[test]
fn flat_map_batches_keep_order_and_explicit_timestamps() {
    // Order: every record, per key in source order (one channel per key each way).
    let got = through_latest_per_key("batch-flat-map", 20_011, |s| {
        s.flat_map(two_per_record).set_parallelism(1)
    });
    let want: Vec<(u64, u64)> = (0..20_011u64)
        .flat_map(|x| [(x % 5, x), (x % 5, x + 1_000_000)])
        .collect();
    same_order_per_key(&got, &want, 5);

    // Timestamps: only the explicitly stamped records have one (x / 100 ms); windows
    // of 1 ms count exactly 100 records each (the last one 11).
    let counts = CollectHandle::<(u64, u64)>::new();
    let c = counts.clone();
    cluster(2)
        .execute("batch-flat-map-ts", move |env: &mut StreamEnv| {
            env.from_generator(20_011, None, |i| i)
                .set_parallelism(1)
                .flat_map(two_per_record)
                .set_parallelism(1)
                .filter(|r: &(u64, u64)| r.1 >= 1_000_000)
                .set_parallelism(1)
                .assign_timestamps_and_watermarks(WatermarkStrategy::for_monotonous_timestamps())
                .set_parallelism(1)
                .key_by(|_: &(u64, u64)| 0u64)
                .window(TumblingEventTimeWindows::of(Duration::from_millis(1)))
                .aggregate(CountOf)
                .set_parallelism(2)
                .collect(&c);
            Ok(())
        })
        .expect("job starts")
        .wait()
        .expect("job finishes");
    let mut got = counts.items();
    got.sort();
    let want: Vec<(u64, u64)> = (0..=200u64)
        .map(|w| (w, if w == 200 { 11 } else { 100 }))
        .collect();
    assert_eq!(got, want);
}

/// Counts a window's records, reporting the window by the timestamp of its first record.
#[derive(Clone)]
struct CountOf;

impl AggregateFunction<(u64, u64), (u64, u64), (u64, u64)> for CountOf {
    fn create_accumulator(&self) -> (u64, u64) {
        (u64::MAX, 0)
    }
    fn add(&self, r: (u64, u64), (w, n): (u64, u64)) -> (u64, u64) {
        (w.min((r.1 - 1_000_000) / 100), n + 1)
    }
    fn get_result(&self, acc: &(u64, u64)) -> (u64, u64) {
        *acc
    }
    fn merge(&self, a: (u64, u64), b: (u64, u64)) -> (u64, u64) {
        (a.0.min(b.0), a.1 + b.1)
    }
}

/// 50,000 records `(i, i)` stamped `i` ms, keyed by `i % 10`, in 100 ms tumbling windows.
fn windows_of_ten_keys(env: &mut StreamEnv) -> WindowedStream<u64, (u64, u64)> {
    env.from_generator(50_000, None, |i| (i, i))
        .assign_timestamps_and_watermarks(
            WatermarkStrategy::for_monotonous_timestamps()
                .with_timestamp_assigner(|r: &(u64, u64), _| r.0 as Millis),
        )
        .key_by(|r: &(u64, u64)| r.0 % 10)
        .window(TumblingEventTimeWindows::of(Duration::from_millis(100)))
}

/// Collects a window's records into a heap-owning accumulator; panics at record 31337.
#[derive(Clone)]
struct CursedList;

impl AggregateFunction<(u64, u64), Vec<u64>, usize> for CursedList {
    fn create_accumulator(&self) -> Vec<u64> {
        Vec::new()
    }
    fn add(&self, r: (u64, u64), mut acc: Vec<u64>) -> Vec<u64> {
        assert!(r.1 != 31_337, "record 31337 is cursed");
        acc.push(r.1);
        acc
    }
    fn get_result(&self, acc: &Vec<u64>) -> usize {
        acc.len()
    }
    fn merge(&self, mut a: Vec<u64>, b: Vec<u64>) -> Vec<u64> {
        a.extend(b);
        a
    }
}

/// A panic in the middle of a batch fails the job with the operator that raised it, and
/// the cluster runs the next job.
#[test]
fn a_panic_inside_a_batch_names_its_operator() {
    let c = cluster(2);
    type Build = fn(&mut StreamEnv);
    let jobs: [(&str, Build); 4] = [
        ("Bad Reduce", |env| {
            env.from_generator(50_000, None, |i| i)
                .key_by(|x: &u64| x % 10)
                .reduce(|a, b| {
                    assert!(b != 31_337, "record 31337 is cursed");
                    a + b
                })
                .name("Bad Reduce")
                .discard();
        }),
        ("Bad Split", |env| {
            env.from_generator(50_000, None, |i| i)
                .rebalance()
                .flat_map(|x: u64, out| {
                    assert!(x != 31_337, "record 31337 is cursed");
                    out.collect(x);
                })
                .name("Bad Split")
                .discard();
        }),
        ("Bad Window", |env| {
            windows_of_ten_keys(env)
                .reduce(|a, b| {
                    assert!(b.1 != 31_337, "record 31337 is cursed");
                    (a.0, a.1 + b.1)
                })
                .name("Bad Window")
                .discard();
        }),
        // The window's accumulator is moved out for `add` and back: a panic inside puts a
        // fresh one in its place while unwinding (nothing dropped twice, no abort).
        ("Bad Aggregate", |env| {
            windows_of_ten_keys(env)
                .aggregate(CursedList)
                .name("Bad Aggregate")
                .discard();
        }),
    ];
    for (operator, build) in jobs {
        let err = c
            .execute(operator, move |env: &mut StreamEnv| {
                build(env);
                Ok(())
            })
            .expect("job starts")
            .wait()
            .expect_err("the job fails");
        match &err {
            strom_runtime::cluster::JobError::Failed { error, .. } => {
                assert_eq!(error.operator(), Some(operator), "{err}");
                assert!(error.message().contains("cursed"), "{err}");
            }
            other => panic!("expected a task failure, got {other}"),
        }
    }
    // The cluster is still healthy.
    let out = CollectHandle::<u64>::new();
    let o = out.clone();
    c.execute("after", move |env: &mut StreamEnv| {
        env.from_generator(1_000, None, |i| i)
            .key_by(|x: &u64| *x)
            .reduce(|a, b| a + b)
            .collect(&o);
        Ok(())
    })
    .expect("job starts")
    .wait()
    .expect("job finishes");
    assert_eq!(out.items().len(), 1_000);
}
