//! `key_by_ref`: a key borrowed from the record. Same partitioning and same rolling results
//! (aggregate, reduce, `rolling_count`) as `key_by` with an owned key, across two subtasks (every record of a key reaches one
//! subtask: a key split across subtasks would count from 1 twice), against a sequential
//! reference; a panicking selector fails the job with its message.

use std::collections::HashMap;
use strom_runtime::api::{AggregateFunction, StreamEnv};
use strom_runtime::graph::key_groups::key_hash;
use strom_runtime::sink::CollectHandle;
use strom_tests::cluster;
use strom_tests::reference::lcg;

const WORDS: u64 = 60_000;

/// The i-th word of the input: one of 1,000, drawn by an LCG.
fn word(i: u64) -> String {
    let mut s = i;
    format!("w{}", lcg(&mut s) % 1_000)
}

/// Counts the records of each key; the result carries the key (taken once per key).
#[derive(Clone)]
struct CountWords;

impl AggregateFunction<String, (String, u64), (String, u64)> for CountWords {
    fn create_accumulator(&self) -> (String, u64) {
        (String::new(), 0)
    }
    fn add(&self, w: String, (k, n): (String, u64)) -> (String, u64) {
        if n == 0 {
            (w, 1)
        } else {
            (k, n + 1)
        }
    }
    fn get_result(&self, acc: &(String, u64)) -> (String, u64) {
        acc.clone()
    }
    fn merge(&self, a: (String, u64), b: (String, u64)) -> (String, u64) {
        (a.0, a.1 + b.1)
    }
    /// The record's word goes into the result; the accumulator keeps its own copy, taken
    /// from the word's first record.
    fn add_and_get_result(
        &self,
        w: String,
        (k, n): (String, u64),
    ) -> ((String, u64), (String, u64)) {
        if n == 0 {
            ((w.clone(), 1), (w, 1))
        } else {
            ((k, n + 1), (w, n + 1))
        }
    }
}

/// Every rolling count a sequential pass emits: (w, 1), (w, 2), … per word, sorted.
fn reference() -> Vec<(String, u64)> {
    let mut counts: HashMap<String, u64> = HashMap::new();
    let mut out: Vec<(String, u64)> = (0..WORDS)
        .map(|i| {
            let w = word(i);
            let c = counts.entry(w.clone()).or_insert(0);
            *c += 1;
            (w, *c)
        })
        .collect();
    out.sort();
    out
}

fn run(name: &str, build: fn(&mut StreamEnv, &CollectHandle<(String, u64)>)) -> Vec<(String, u64)> {
    let out = CollectHandle::<(String, u64)>::new();
    let o = out.clone();
    cluster(2)
        .execute(name, move |env: &mut StreamEnv| {
            build(env, &o);
            Ok(())
        })
        .expect("job starts")
        .wait()
        .expect("job finishes");
    let mut got = out.items();
    got.sort();
    got
}

#[test]
fn borrowed_keys_aggregate_reduce_and_count_like_owned_keys() {
    let want = reference();
    let aggregated = run("ref-aggregate", |env, o| {
        env.from_generator(WORDS, None, word)
            .set_parallelism(1)
            .key_by_ref(|w: &String| w.as_str())
            .aggregate(CountWords)
            .set_parallelism(2)
            .collect(o);
    });
    assert_eq!(aggregated, want, "aggregate with key_by_ref");
    let reduced = run("ref-reduce", |env, o| {
        env.from_generator(WORDS, None, |i| (word(i), 1u64))
            .set_parallelism(1)
            .key_by_ref(|(w, _): &(String, u64)| w.as_str())
            .reduce(|(w, a), (_, b)| (w, a + b))
            .set_parallelism(2)
            .collect(o);
    });
    assert_eq!(reduced, want, "reduce with key_by_ref");
    let owned = run("owned-reduce", |env, o| {
        env.from_generator(WORDS, None, |i| (word(i), 1u64))
            .set_parallelism(1)
            .key_by(|(w, _): &(String, u64)| w.clone())
            .reduce(|(w, a), (_, b)| (w, a + b))
            .set_parallelism(2)
            .collect(o);
    });
    assert_eq!(owned, want, "reduce with key_by");
    let counted = run("ref-count", |env, o| {
        env.from_generator(WORDS, None, word)
            .set_parallelism(1)
            .key_by_ref(|w: &String| w.as_str())
            .rolling_count()
            .set_parallelism(2)
            .collect(o);
    });
    assert_eq!(counted, want, "rolling_count with key_by_ref");
    let counted_owned = run("owned-count", |env, o| {
        env.from_generator(WORDS, None, word)
            .set_parallelism(1)
            .key_by(|w: &String| w.clone())
            .rolling_count()
            .set_parallelism(2)
            .collect(o);
    });
    assert_eq!(counted_owned, want, "rolling_count with key_by");
    // Same key groups: a borrowed key hashes as its owned form.
    assert_eq!(key_hash("w7"), key_hash(&"w7".to_string()));
}

#[test]
fn a_panicking_borrowed_selector_fails_the_routing_task_with_its_message() {
    let err = cluster(2)
        .execute("bad-selector", |env: &mut StreamEnv| {
            env.from_generator(WORDS, None, word)
                .set_parallelism(1)
                .key_by_ref(|w: &String| {
                    assert!(w != "w500", "word w500 is cursed");
                    w.as_str()
                })
                .aggregate(CountWords)
                .name("Bad Count")
                .set_parallelism(2)
                .discard();
            Ok(())
        })
        .expect("job starts")
        .wait()
        .expect_err("the selector panics");
    // The selector first runs where records are routed: in the source's task, as a Flink
    // KeySelector that throws fails the task of the partitioner.
    match &err {
        strom_runtime::cluster::JobError::Failed { error, .. } => {
            assert_eq!(error.operator(), Some("Data Generator Source"), "{err}");
            assert!(error.message().contains("cursed"), "{err}");
        }
        other => panic!("expected a task failure, got {other}"),
    }
}
