//! The basic DataStream operators end to end, each against a sequential computation in the
//! test: flat_map (one-to-many and zero outputs), filter, map, try_map failing on a bad
//! record, union of streams with different parallelisms (and of a stream with itself),
//! the in-memory and generator sources (with a rate limit), connect with a non-keyed
//! CoProcessFunction over inputs of different types, write_as_text and the rolling
//! KeyedStream::aggregate. The user functions and `part_files`: `operators_basic_fixture/`.

mod operators_basic_fixture;

use operators_basic_fixture::*;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use strom_runtime::api::{Collector, StreamEnv};
use strom_runtime::cluster::{JobError, JobStatus};
use strom_runtime::sink::CollectHandle;
use strom_tests::cluster;
use strom_tests::tagging::sorted;

// ---------------------------------------------------------------------------------------
// flat_map, filter, map
// ---------------------------------------------------------------------------------------

#[test]
fn flat_map_filter_map_match_a_sequential_pipeline() {
    let n = 30_000u64;
    let out = CollectHandle::<(u64, u64)>::new();
    let o = out.clone();
    let c = cluster(3);
    c.execute("flat-map-filter-map", move |env: &mut StreamEnv| {
        env.from_sequence(0, n)
            .set_parallelism(2)
            .flat_map(|x: u64, out: &mut Collector<'_, u64>| explode(x, out))
            .set_parallelism(2)
            .rebalance()
            .filter(|v: &u64| !v.is_multiple_of(7))
            .set_parallelism(3)
            .map(|v| (v % 11, v * 2 + 1))
            .collect(&o);
        Ok(())
    })
    .unwrap()
    .wait()
    .unwrap();
    let mut want = Vec::new();
    for x in 0..n {
        let mut exploded = Vec::new();
        match x % 3 {
            0 => {}
            1 => exploded.push(x * 10),
            _ => exploded.extend((0..3).map(|j| x * 10 + j)),
        }
        for v in exploded {
            if v % 7 != 0 {
                want.push((v % 11, v * 2 + 1));
            }
        }
    }
    assert_eq!(sorted(out.items()), sorted(want));

    // A flat_map that never emits: the job still finishes, with nothing downstream.
    let none = CollectHandle::<u64>::new();
    let o = none.clone();
    let r = c
        .execute("flat-map-nothing", move |env: &mut StreamEnv| {
            env.from_sequence(0, 5_000)
                .flat_map(|_x: u64, _out: &mut Collector<'_, u64>| {})
                .rebalance()
                .map(|x| x + 1)
                .collect(&o);
            Ok(())
        })
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(r.status, JobStatus::Finished);
    assert_eq!(r.source_records, 5_000);
    assert!(none.items().is_empty());
}

// ---------------------------------------------------------------------------------------
// try_map
// ---------------------------------------------------------------------------------------

#[test]
fn try_map_fails_the_job_on_one_bad_record_and_the_cluster_runs_the_next_job() {
    let c = cluster(2);
    let lines: Vec<String> = (0..2_000)
        .map(|i| {
            if i == 1_234 {
                "12x4".to_string()
            } else {
                i.to_string()
            }
        })
        .collect();
    let good = CollectHandle::<u64>::new();
    let g = good.clone();
    let l = lines.clone();
    let err = c
        .execute("parse-numbers", move |env: &mut StreamEnv| {
            env.from_collection(l.clone())
                .rebalance()
                .try_map(|s: String| s.parse::<u64>())
                .set_parallelism(2)
                .name("Parse Number")
                .collect(&g);
            Ok(())
        })
        .unwrap()
        .wait()
        .unwrap_err();
    match &err {
        JobError::Failed { job, error, .. } => {
            assert_eq!(job, "parse-numbers");
            assert_eq!(error.operator(), Some("Parse Number"), "{err}");
            assert!(
                error.message().contains("invalid digit"),
                "the parse error is reported: {err}"
            );
            assert!(!error.message().contains("panicked"), "{err}");
        }
        other => panic!("expected a task failure, got {other}"),
    }
    let text = err.to_string();
    assert!(text.contains("Parse Number"), "{text}");
    // Whatever got through before the failure is a subset of the good records.
    for v in good.items() {
        assert!(v < 2_000 && v != 1_234, "{v}");
    }

    // The same cluster runs the next job (the same pipeline without the bad line).
    let fixed: Vec<String> = (0..2_000).map(|i: u64| i.to_string()).collect();
    let out = CollectHandle::<u64>::new();
    let o = out.clone();
    let r = c
        .execute("parse-numbers-again", move |env: &mut StreamEnv| {
            env.from_collection(fixed.clone())
                .rebalance()
                .try_map(|s: String| s.parse::<u64>())
                .set_parallelism(2)
                .name("Parse Number")
                .collect(&o);
            Ok(())
        })
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(r.status, JobStatus::Finished);
    assert_eq!(sorted(out.items()), (0..2_000).collect::<Vec<u64>>());
}

// ---------------------------------------------------------------------------------------
// union
// ---------------------------------------------------------------------------------------

#[test]
fn union_of_three_streams_with_different_parallelisms() {
    let out = CollectHandle::<(u8, u64)>::new();
    let o = out.clone();
    cluster(3)
        .execute("union-three", move |env: &mut StreamEnv| {
            let a = env
                .from_sequence(0, 4_000)
                .set_parallelism(1)
                .map(|x| (b'a', x));
            let b = env
                .from_generator(3_001, None, |i| (b'b', i * 3))
                .set_parallelism(2);
            let c = env
                .from_sequence(100, 2_100)
                .set_parallelism(3)
                .map(|x| (b'c', x))
                .set_parallelism(3);
            a.union(&[b, c])
                .map(|(t, x)| (t, x + 1))
                .set_parallelism(3)
                .collect(&o);
            Ok(())
        })
        .unwrap()
        .wait()
        .unwrap();
    let mut want: Vec<(u8, u64)> = (0..4_000).map(|x| (b'a', x + 1)).collect();
    want.extend((0..3_001).map(|i| (b'b', i * 3 + 1)));
    want.extend((100..2_100).map(|x| (b'c', x + 1)));
    assert_eq!(sorted(out.items()), sorted(want));
}

#[test]
fn union_of_a_stream_with_itself_delivers_every_record_twice() {
    // Flink's documented behaviour: "If you union a data stream with itself you will get
    // each element twice in the resulting stream."
    for (name, consumer_parallelism) in [("self-union-forward", 2u32), ("self-union-rebalance", 3)]
    {
        let out = CollectHandle::<u64>::new();
        let o = out.clone();
        cluster(3)
            .execute(name, move |env: &mut StreamEnv| {
                let s = env
                    .from_sequence(0, 1_000)
                    .set_parallelism(2)
                    .map(|x| x * 5)
                    .set_parallelism(2);
                s.union(std::slice::from_ref(&s))
                    .map(|x| x + 1)
                    .set_parallelism(consumer_parallelism)
                    .collect(&o);
                Ok(())
            })
            .unwrap()
            .wait()
            .unwrap();
        let want: Vec<u64> = sorted((0..1_000u64).flat_map(|x| [x * 5 + 1, x * 5 + 1]).collect());
        assert_eq!(sorted(out.items()), want, "{name}");
    }
}

// ---------------------------------------------------------------------------------------
// Sources
// ---------------------------------------------------------------------------------------

#[test]
fn from_iter_and_from_collection_deliver_every_element() {
    let c = cluster(2);
    // from_iter: parallelism 1, chained to a parallelism-1 sink: order kept.
    let out = CollectHandle::<String>::new();
    let o = out.clone();
    c.execute("from-iter", move |env: &mut StreamEnv| {
        env.from_iter(|| (0..3_000u64).map(|i| format!("s{}", i * i)))
            .map(|s| s + "!")
            .set_parallelism(1)
            .collect(&o)
            .set_parallelism(1);
        Ok(())
    })
    .unwrap()
    .wait()
    .unwrap();
    let want: Vec<String> = (0..3_000u64).map(|i| format!("s{}!", i * i)).collect();
    assert_eq!(out.items(), want);

    // from_collection in order, then with two subtasks (each takes every other element).
    let items: Vec<(u32, String)> = (0..2_500u32).map(|i| (i, format!("x{i}"))).collect();
    for p in [1u32, 2] {
        let out = CollectHandle::<(u32, String)>::new();
        let o = out.clone();
        let it = items.clone();
        c.execute("from-collection", move |env: &mut StreamEnv| {
            env.from_collection(it.clone())
                .set_parallelism(p)
                .collect(&o)
                .set_parallelism(p);
            Ok(())
        })
        .unwrap()
        .wait()
        .unwrap();
        if p == 1 {
            assert_eq!(out.items(), items, "parallelism 1 keeps the order");
        } else {
            assert_eq!(sorted(out.items()), items, "parallelism {p}");
        }
    }

    // Empty inputs finish with nothing.
    let out = CollectHandle::<u64>::new();
    let o = out.clone();
    let r = c
        .execute("empty", move |env: &mut StreamEnv| {
            let a = env.from_collection(Vec::<u64>::new());
            let b = env.from_iter(std::iter::empty::<u64>);
            a.union(&[b]).rebalance().map(|x| x + 1).collect(&o);
            Ok(())
        })
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(r.status, JobStatus::Finished);
    assert!(out.items().is_empty());
}

#[test]
fn from_generator_covers_every_index_once_at_any_parallelism() {
    let c = cluster(3);
    for p in [1u32, 2, 3] {
        let out = CollectHandle::<(u64, u64)>::new();
        let o = out.clone();
        let r = c
            .execute("generator", move |env: &mut StreamEnv| {
                env.from_generator(10_001, None, |i| (i % 13, i * i))
                    .set_parallelism(p)
                    .collect(&o);
                Ok(())
            })
            .unwrap()
            .wait()
            .unwrap();
        assert_eq!(r.source_records, 10_001, "p = {p}");
        let want: Vec<(u64, u64)> = (0..10_001u64).map(|i| (i % 13, i * i)).collect();
        assert_eq!(sorted(out.items()), sorted(want), "p = {p}");
    }
    // Fewer records than subtasks.
    let out = CollectHandle::<u64>::new();
    let o = out.clone();
    c.execute("generator-tiny", move |env: &mut StreamEnv| {
        env.from_generator(2, None, |i| i + 40)
            .set_parallelism(3)
            .collect(&o);
        Ok(())
    })
    .unwrap()
    .wait()
    .unwrap();
    assert_eq!(sorted(out.items()), vec![40, 41]);
}

#[test]
fn rate_limited_generator_takes_its_time_and_delivers_exactly_once() {
    let c = cluster(2);
    for p in [1u32, 2] {
        let out = CollectHandle::<u64>::new();
        let o = out.clone();
        let t = Instant::now();
        let r = c
            .execute("generator-rate", move |env: &mut StreamEnv| {
                // 2 000 records at 20 000 per second (over all subtasks): about 100 ms.
                env.from_generator(2_000, Some(20_000.0), |i| i * 7)
                    .set_parallelism(p)
                    .rebalance()
                    .map(|x| x + 1)
                    .set_parallelism(2)
                    .collect(&o);
                Ok(())
            })
            .unwrap()
            .wait()
            .unwrap();
        let wall = t.elapsed();
        assert!(
            r.duration >= Duration::from_millis(90) && wall >= Duration::from_millis(90),
            "p = {p}: 2 000 records at 20 000/s took only {:?} (wall {wall:?})",
            r.duration
        );
        assert!(wall < Duration::from_secs(5), "p = {p}: {wall:?}");
        assert_eq!(
            sorted(out.items()),
            (0..2_000u64).map(|i| i * 7 + 1).collect::<Vec<_>>(),
            "p = {p}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// connect + CoProcessFunction
// ---------------------------------------------------------------------------------------

#[test]
fn connect_with_a_co_process_function_over_two_input_types() {
    let out = CollectHandle::<Labeled>::new();
    let o = out.clone();
    cluster(3)
        .execute("co-process", move |env: &mut StreamEnv| {
            let numbers = env.from_sequence(0, 6_000).set_parallelism(2);
            let words = env.from_iter(|| (0..900u64).map(|i| format!("w{}", i * 37)));
            numbers
                .connect(&words)
                .process(NumbersAndWords)
                .set_parallelism(3)
                .collect(&o);
            Ok(())
        })
        .unwrap()
        .wait()
        .unwrap();
    let mut want: Vec<Labeled> = Vec::new();
    for x in 0..6_000u64 {
        if x % 3 != 0 {
            want.push((1, x * 2, String::new()));
            if x % 5 == 0 {
                want.push((1, x * 2 + 1, "five".into()));
            }
        }
    }
    for i in 0..900u64 {
        let w = format!("w{}", i * 37);
        want.push((2, w.len() as u64, w.to_uppercase()));
    }
    assert_eq!(sorted(out.items()), sorted(want));
}

// ---------------------------------------------------------------------------------------
// write_as_text
// ---------------------------------------------------------------------------------------

#[test]
fn write_as_text_part_files_hold_exactly_the_records() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    let c = cluster(3);
    let d = dir.clone();
    c.execute("write-text", move |env: &mut StreamEnv| {
        env.from_sequence(0, 20_000)
            .set_parallelism(2)
            .filter(|x: &u64| x % 4 != 1)
            .write_as_text(d.clone(), |x: &u64| format!("line {x}"))
            .set_parallelism(3);
        Ok(())
    })
    .unwrap()
    .wait()
    .unwrap();
    let files = part_files(&dir);
    assert_eq!(
        files.keys().cloned().collect::<Vec<_>>(),
        vec!["part-0", "part-1", "part-2"],
        "one part file per sink subtask"
    );
    let all: Vec<String> = files.values().flatten().cloned().collect();
    let want: Vec<String> = (0..20_000u64)
        .filter(|x| x % 4 != 1)
        .map(|x| format!("line {x}"))
        .collect();
    assert_eq!(sorted(all), sorted(want));

    // A second job into the same directory replaces the part files.
    let d = dir.clone();
    c.execute("write-text-again", move |env: &mut StreamEnv| {
        env.from_sequence(0, 30)
            .write_as_text(d.clone(), |x: &u64| format!("again {x}"))
            .set_parallelism(3);
        Ok(())
    })
    .unwrap()
    .wait()
    .unwrap();
    let files = part_files(&dir);
    assert_eq!(files.len(), 3);
    let all: Vec<String> = files.values().flatten().cloned().collect();
    assert_eq!(
        sorted(all),
        sorted((0..30u64).map(|x| format!("again {x}")).collect())
    );
}

// ---------------------------------------------------------------------------------------
// KeyedStream::aggregate (rolling)
// ---------------------------------------------------------------------------------------

#[test]
fn rolling_aggregate_emits_prefix_aggregates_ending_in_the_total() {
    let n = 30_000u64;
    let value = |x: u64| (x * 7919) % 10_007;
    let out = CollectHandle::<Agg>::new();
    let o = out.clone();
    cluster(3)
        .execute("rolling-aggregate", move |env: &mut StreamEnv| {
            env.from_sequence(0, n)
                .set_parallelism(2)
                .map(move |x| (x % 17, value(x)))
                .key_by(|r: &(u64, u64)| r.0)
                .aggregate(CountSumMax)
                .set_parallelism(3)
                .collect(&o);
            Ok(())
        })
        .unwrap()
        .wait()
        .unwrap();
    let items = out.items();
    assert_eq!(items.len() as u64, n, "one result per record");
    // The reference: every key's records, and its final aggregate.
    let mut records: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for x in 0..n {
        records.entry(x % 17).or_default().push(value(x));
    }
    // Emissions per key, in emission order (a key lives in one subtask, whose records the
    // collect handle keeps in order).
    let mut emitted: BTreeMap<u64, Vec<Agg>> = BTreeMap::new();
    for a in items {
        emitted.entry(a.0).or_default().push(a);
    }
    assert_eq!(
        emitted.keys().collect::<Vec<_>>(),
        records.keys().collect::<Vec<_>>()
    );
    for (k, vals) in &records {
        let em = &emitted[k];
        let last = *em.last().unwrap();
        let total = (
            *k,
            vals.len() as u64,
            vals.iter().sum::<u64>(),
            *vals.iter().max().unwrap(),
        );
        assert_eq!(
            last, total,
            "key {k}: the last value is the whole aggregate"
        );
        // Every emitted value is the aggregate of a prefix of some interleaving of the
        // key's records: counts go 1, 2, 3, …; each step adds one record, and the added
        // records are exactly the key's records; max is the running max.
        let mut added = Vec::new();
        let (mut sum, mut max) = (0u64, 0u64);
        for (i, &(_, count, s, m)) in em.iter().enumerate() {
            assert_eq!(count, i as u64 + 1, "key {k}: step {i}");
            let v = s - sum;
            max = max.max(v);
            assert_eq!(m, max, "key {k}: step {i}");
            added.push(v);
            sum = s;
        }
        assert_eq!(sorted(added), sorted(vals.clone()), "key {k}");
    }
}
