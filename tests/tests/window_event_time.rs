//! Event-time windows against a sequential replay: tumbling, sliding and session windows;
//! reduce, aggregate and process functions; out-of-order input; allowed lateness and the
//! late side output; window join; windowAll.

use std::time::Duration;
use strom_runtime::api::{AggregateFunction, OutputTag, StreamEnv, WatermarkStrategy};
use strom_runtime::cluster::JobError;
use strom_runtime::sink::CollectHandle;
use strom_runtime::window::{
    EventTimeSessionWindows, SlidingEventTimeWindows, TumblingEventTimeWindows, WindowContext,
};
use strom_tests::cluster;
use strom_tests::reference::{jittered_records, replay_event_time, sessions, Firing, Rec};
use strom_tests::tagging::{sorted, tag_window};

fn per_record_watermarks(bound_ms: u64) -> WatermarkStrategy<Rec> {
    WatermarkStrategy::for_bounded_out_of_orderness_per_record(Duration::from_millis(bound_ms))
        .with_timestamp_assigner(|r: &Rec, _| r.1)
}

#[test]
fn tumbling_reduce_over_out_of_order_input_matches_replay() {
    let input = jittered_records(20_000, 13, 40, 1);
    let (expected, late) = replay_event_time(&input, 100, 100, 50, 0);
    assert!(late.is_empty(), "the jitter stays within the bound");
    let out = CollectHandle::<Firing>::new();
    let o = out.clone();
    cluster(3)
        .execute("tumbling-reduce", move |env: &mut StreamEnv| {
            env.from_collection(input.clone())
                .assign_timestamps_and_watermarks(per_record_watermarks(50))
                .map(|(k, _, v)| (k, 1u64, v))
                .key_by(|r: &(u64, u64, u64)| r.0)
                .window(TumblingEventTimeWindows::of(Duration::from_millis(100)))
                .reduce_with(|a, b| (a.0, a.1 + b.1, a.2 + b.2), tag_window)
                .set_parallelism(3)
                .collect(&o);
            Ok(())
        })
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(sorted(out.items()), sorted(expected));
}

/// Count and sum of values: an aggregate with a separate accumulator type.
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

/// Tags a (count, sum) aggregate with its key and window.
fn tag_count_sum(
    k: &u64,
    ctx: &WindowContext,
    r: &[(u64, u64)],
    out: &mut strom_runtime::api::Collector<'_, Firing>,
) -> Result<(), strom_runtime::api::UserError> {
    out.collect((*k, ctx.window().start, ctx.window().end, r[0].0, r[0].1));
    Ok(())
}

#[test]
fn sliding_aggregate_with_parallel_sources_matches_replay() {
    // Two source subtasks each read half of the (time-ordered) collection; the window
    // operator's watermark is the minimum of both, so nothing is late.
    let input = jittered_records(12_000, 7, 30, 2);
    let (expected, _) = replay_event_time(&input, 200, 50, 40, 0);
    let out = CollectHandle::<Firing>::new();
    let o = out.clone();
    cluster(2)
        .execute("sliding-aggregate", move |env: &mut StreamEnv| {
            let data = input.clone();
            env.from_sequence(0, data.len() as u64)
                .set_parallelism(2)
                .map(move |i| data[i as usize])
                .assign_timestamps_and_watermarks(per_record_watermarks(40))
                .key_by(|r: &Rec| r.0)
                .window(SlidingEventTimeWindows::of(
                    Duration::from_millis(200),
                    Duration::from_millis(50),
                ))
                .aggregate_with(CountSum, tag_count_sum)
                .collect(&o);
            Ok(())
        })
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(sorted(out.items()), sorted(expected));
}

#[test]
fn process_window_sees_every_record_of_its_window() {
    let input = jittered_records(5_000, 5, 20, 3);
    let (expected, _) = replay_event_time(&input, 250, 250, 30, 0);
    let out = CollectHandle::<Firing>::new();
    let o = out.clone();
    cluster(2)
        .execute("process-window", move |env: &mut StreamEnv| {
            env.from_collection(input.clone())
                .assign_timestamps_and_watermarks(per_record_watermarks(30))
                .key_by(|r: &Rec| r.0)
                .window(TumblingEventTimeWindows::of(Duration::from_millis(250)))
                .process(
                    |k: &u64,
                     ctx: &WindowContext,
                     rs: &[Rec],
                     out: &mut strom_runtime::api::Collector<'_, Firing>| {
                        let w = ctx.window();
                        for r in rs {
                            assert!(w.start <= r.1 && r.1 < w.end, "record outside its window");
                        }
                        let sum = rs.iter().map(|r| r.2).sum();
                        out.collect((*k, w.start, w.end, rs.len() as u64, sum));
                        Ok(())
                    },
                )
                .set_parallelism(2)
                .collect(&o);
            Ok(())
        })
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(sorted(out.items()), sorted(expected));
}

#[test]
fn allowed_lateness_refires_and_late_records_reach_the_side_output() {
    // Jitter of 400 ms against a bound of 50 ms: many records are late; 150 ms of allowed
    // lateness keeps some of them (each re-fires its window), the rest go to the side output.
    let input = jittered_records(6_000, 4, 400, 4);
    let (expected, expected_late) = replay_event_time(&input, 100, 100, 50, 150);
    assert!(
        !expected_late.is_empty(),
        "the data must exercise the side output"
    );
    let windows: std::collections::BTreeSet<(u64, i64)> =
        expected.iter().map(|f| (f.0, f.1)).collect();
    assert!(
        expected.len() > windows.len(),
        "the data must exercise re-firing"
    );
    let out = CollectHandle::<Firing>::new();
    let late = CollectHandle::<Rec>::new();
    let (o, l) = (out.clone(), late.clone());
    cluster(2)
        .execute("lateness", move |env: &mut StreamEnv| {
            let tag = OutputTag::<Rec>::new("late");
            let windows = env
                .from_collection(input.clone())
                .assign_timestamps_and_watermarks(per_record_watermarks(50))
                // One watermark generator sees every record in order: the replay's model.
                .set_parallelism(1)
                .key_by(|r: &Rec| r.0)
                .window(TumblingEventTimeWindows::of(Duration::from_millis(100)))
                .allowed_lateness(Duration::from_millis(150))
                .side_output_late_data(&tag)
                .aggregate_with(CountSum, tag_count_sum)
                .set_parallelism(2);
            windows.collect(&o);
            windows.side_output(&tag).collect(&l);
            Ok(())
        })
        .unwrap()
        .wait()
        .unwrap();
    let (got_late, got) = (sorted(late.items()), sorted(out.items()));
    assert_eq!(got_late.len(), expected_late.len(), "late records");
    assert!(
        got_late == sorted(expected_late),
        "late side output differs"
    );
    assert_eq!(got.len(), expected.len(), "firings");
    assert!(got == sorted(expected), "firings differ");
}

#[test]
fn session_windows_merge_when_a_record_bridges_them() {
    // Hand-made, gap 60: key 1 gets sessions [0,60) and [100,160) that the record at 50
    // bridges (it arrives last); key 2 has two sessions 400 ms apart that stay separate.
    let mut input: Vec<Rec> = vec![(1, 0, 1), (2, 0, 10), (1, 100, 2), (2, 400, 20), (1, 50, 4)];
    // Plus a random part: timestamps jittered by up to 80 ms with a 60 ms gap, so sessions
    // split and bridge often; the bound is large, so no record is late.
    input.extend(
        jittered_records(4_000, 9, 80, 5)
            .into_iter()
            .map(|(k, ts, v)| (k + 10, ts * 4, v)),
    );
    let expected = sessions(&input, 60);
    let out = CollectHandle::<Firing>::new();
    let o = out.clone();
    cluster(2)
        .execute("sessions", move |env: &mut StreamEnv| {
            env.from_collection(input.clone())
                .assign_timestamps_and_watermarks(per_record_watermarks(1_000))
                .key_by(|r: &Rec| r.0)
                .window(EventTimeSessionWindows::with_gap(Duration::from_millis(60)))
                .aggregate_with(CountSum, tag_count_sum)
                .set_parallelism(2)
                .collect(&o);
            Ok(())
        })
        .unwrap()
        .wait()
        .unwrap();
    let got = sorted(out.items());
    assert!(
        got.contains(&(1, 0, 160, 3, 7)),
        "bridged session: {:?}",
        &got[..4]
    );
    assert!(got.contains(&(2, 0, 60, 1, 10)) && got.contains(&(2, 400, 460, 1, 20)));
    assert_eq!(got, sorted(expected));
}

#[test]
fn window_join_pairs_equal_keys_in_the_same_window() {
    let left = jittered_records(3_000, 20, 10, 6);
    let right: Vec<Rec> = jittered_records(2_000, 20, 10, 7);
    let mut expected = Vec::new();
    for l in &left {
        for r in &right {
            if l.0 == r.0 && l.1.div_euclid(100) == r.1.div_euclid(100) {
                expected.push((l.0, l.2, r.2));
            }
        }
    }
    let out = CollectHandle::<(u64, u64, u64)>::new();
    let o = out.clone();
    cluster(2)
        .execute("window-join", move |env: &mut StreamEnv| {
            let a = env
                .from_collection(left.clone())
                .assign_timestamps_and_watermarks(per_record_watermarks(20));
            let b = env
                .from_collection(right.clone())
                .assign_timestamps_and_watermarks(per_record_watermarks(20));
            a.join(&b)
                .where_key(|l: &Rec| l.0)
                .equal_to(|r: &Rec| r.0)
                .window(TumblingEventTimeWindows::of(Duration::from_millis(100)))
                .apply(|l: &Rec, r: &Rec| (l.0, l.2, r.2))
                .set_parallelism(2)
                .collect(&o);
            Ok(())
        })
        .unwrap()
        .wait()
        .unwrap();
    assert!(expected.len() > 1_000);
    assert_eq!(sorted(out.items()), sorted(expected));
}

#[test]
fn window_all_counts_every_record_once() {
    let input = jittered_records(10_000, 3, 0, 8);
    let (expected, _) = replay_event_time(
        &input.iter().map(|r| (0, r.1, r.2)).collect::<Vec<_>>(),
        500,
        500,
        0,
        0,
    );
    let out = CollectHandle::<Firing>::new();
    let o = out.clone();
    cluster(2)
        .execute("window-all", move |env: &mut StreamEnv| {
            env.from_collection(input.clone())
                .assign_timestamps_and_watermarks(per_record_watermarks(0))
                .map(|r| (0u64, 1u64, r.2))
                .window_all(TumblingEventTimeWindows::of(Duration::from_millis(500)))
                .reduce_with(
                    |a, b| (0, a.1 + b.1, a.2 + b.2),
                    |_: &(),
                     ctx: &WindowContext,
                     e: &[(u64, u64, u64)],
                     out: &mut strom_runtime::api::Collector<'_, Firing>| {
                        out.collect((0, ctx.window().start, ctx.window().end, e[0].1, e[0].2));
                        Ok(())
                    },
                )
                .collect(&o);
            Ok(())
        })
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(sorted(out.items()), sorted(expected));
}

#[test]
fn event_time_window_without_timestamps_fails_naming_the_operator() {
    let c = cluster(1);
    let err = c
        .execute("no-timestamps", |env: &mut StreamEnv| {
            env.from_sequence(0, 10)
                .key_by(|x: &u64| x % 2)
                .window(TumblingEventTimeWindows::of(Duration::from_secs(1)))
                .reduce(|a, b| a + b)
                .discard();
            Ok(())
        })
        .unwrap()
        .wait()
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("without a timestamp") && msg.contains("Window("),
        "{msg}"
    );
    // The cluster still runs jobs.
    c.execute("after", |env: &mut StreamEnv| {
        env.from_sequence(0, 10).discard();
        Ok(())
    })
    .unwrap()
    .wait()
    .unwrap();
}

#[test]
fn bad_window_sizes_are_build_errors() {
    let c = cluster(1);
    let err = c
        .execute("zero-size", |env: &mut StreamEnv| {
            env.from_sequence(0, 10)
                .key_by(|x: &u64| x % 2)
                .window(SlidingEventTimeWindows::of(
                    Duration::from_secs(1),
                    Duration::ZERO,
                ))
                .reduce(|a, b| a + b)
                .discard();
            Ok(())
        })
        .err()
        .expect("build fails");
    assert!(matches!(err, JobError::Build(_)), "{err}");
    assert!(err.to_string().contains("slide"), "{err}");
}
