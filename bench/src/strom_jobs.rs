//! The strom side of the `chained`, `keyed_count` and `wordcount` workloads:
//! the same computations as [`crate::peer_timely`], written with strom's
//! DataStream API and run on an embedded [`LocalCluster`].
//!
//! * `chained` — `from_sequence(0, N)` → `map(x*2+1)` → `filter(x % 3 != 0)`
//!   → counting sink, all one chain in one slot (parallelism 1).
//! * `keyed_count` — `from_sequence(0, N)` → `map(x % 10_000)` → `key_by` →
//!   a rolling count per key (`KeyedStream::rolling_count`, emitting
//!   `(key, count)` after every record, as the timely peer does) → counting
//!   sink. Only a `u64` crosses the exchange, as in the peer.
//! * `wordcount` — a source per subtask generating its share of the lines
//!   with the peer's LCG generator (seeded with the subtask index, as timely
//!   seeds with the worker index) → `flat_map` into owned `String` words →
//!   `key_by(word)` → rolling count per word emitting `(word, count)` per word
//!   → counting sink.
//!
//! Every sink folds the same commutative checksum as the peer's sink, so the
//! two engines' `(sink_records, checksum)` must be equal for the same input
//! and worker count (see `tests/strom_jobs.rs`).
//!
//! Timing: an `Instant` is taken just before `LocalCluster::execute` (which
//! plans the job, rebuilds it on each slot and spawns the tasks) and read when
//! `JobHandle::wait` returns (every task has finished). The cluster's slot
//! threads are started once, before, like a running TaskManager.

mod wordcount;

use crate::peer_timely::{Outcome, Workload, KEYS, WORDS_PER_LINE};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;
use strom_runtime::api::StreamEnv;
use strom_runtime::cluster::{JobStatus, LocalCluster};
use strom_runtime::config::Configuration;
use strom_runtime::error::TaskResult;
use strom_runtime::operator::{Millis, Output};

/// An embedded cluster with `slots` slots and `parallelism.default = slots`.
pub fn cluster(slots: usize) -> Result<LocalCluster, String> {
    let mut config = Configuration::new();
    let n = slots.to_string();
    config
        .set("taskmanager.numberOfTaskSlots", &n, "strom-bench")
        .and_then(|_| config.set("parallelism.default", &n, "strom-bench"))
        .map_err(|e| e.to_string())?;
    LocalCluster::start(config).map_err(|e| format!("cannot start the strom cluster: {e}"))
}

/// Runs `workload` over `records` input records with parallelism
/// `parallelism` on `cluster` (which needs at least that many slots).
/// For `wordcount`, `records` (words) is rounded down to whole lines.
pub fn run(
    cluster: &LocalCluster,
    workload: Workload,
    records: u64,
    parallelism: usize,
) -> Result<Outcome, String> {
    let records = match workload {
        Workload::WordCount => records / WORDS_PER_LINE * WORDS_PER_LINE,
        _ => records,
    };
    let p = u32::try_from(parallelism).map_err(|_| "parallelism too large".to_string())?;
    let totals = Arc::new(Totals::default());
    let t = totals.clone();
    let name = format!("bench-{}", workload.name());
    let start = Instant::now();
    let handle = cluster
        .execute(&name, move |env: &mut StreamEnv| {
            env.set_parallelism(p);
            match workload {
                Workload::Chained => chained(env, records, &t),
                Workload::KeyedCount => keyed_count(env, records, &t),
                Workload::WordCount => wordcount::build(env, records / WORDS_PER_LINE, &t),
            }
            Ok(())
        })
        .map_err(|e| format!("strom {}: {e}", workload.name()))?;
    let result = handle
        .wait()
        .map_err(|e| format!("strom {}: {e}", workload.name()))?;
    let seconds = start.elapsed().as_secs_f64();
    if result.status != JobStatus::Finished {
        return Err(format!(
            "strom {}: job ended {:?}",
            workload.name(),
            result.status
        ));
    }
    Ok(Outcome {
        workload,
        workers: parallelism,
        records,
        sink_records: totals.records.load(Ordering::Relaxed),
        checksum: totals.checksum.load(Ordering::Relaxed),
        seconds,
    })
}

fn chained(env: &mut StreamEnv, records: u64, totals: &Arc<Totals>) {
    let survivors = env
        .from_sequence(0, records)
        .map(|x| x * 2 + 1)
        .filter(|x| x % 3 != 0);
    counting_sink(&survivors, totals, |x: &u64| *x);
}

fn keyed_count(env: &mut StreamEnv, records: u64, totals: &Arc<Totals>) {
    // The key is taken before the exchange (chained to the source), so the rolling count
    // keeps one `u64` per key, as the peer's map does, and emits `(key, count)`.
    let counts = env
        .from_sequence(0, records)
        .map(|x| x % KEYS)
        .key_by(|k: &u64| *k)
        .rolling_count();
    counting_sink(&counts, totals, |&(k, c): &(u64, u64)| {
        k.wrapping_mul(1_000_003).wrapping_add(c)
    });
}

/// What the sinks of one run saw, summed over subtasks.
#[derive(Default)]
pub struct Totals {
    records: AtomicU64,
    checksum: AtomicU64,
}

/// Ends `stream` in a sink (one per subtask) that counts records and folds
/// `fold(record)` into a wrapping sum, published into `totals` at the end.
fn counting_sink<T, F>(stream: &strom_runtime::api::DataStream<T>, totals: &Arc<Totals>, fold: F)
where
    T: strom_runtime::api::Data,
    F: Fn(&T) -> u64 + Clone + 'static,
{
    let totals = totals.clone();
    stream.sink_with("Count Sink", move |_ctx| CountingSink {
        records: 0,
        checksum: 0,
        fold: fold.clone(),
        totals: totals.clone(),
        _t: PhantomData,
    });
}

/// The counting sink of one subtask.
struct CountingSink<T, F> {
    records: u64,
    checksum: u64,
    fold: F,
    totals: Arc<Totals>,
    _t: PhantomData<fn(T)>,
}

impl<T: 'static, F: Fn(&T) -> u64 + 'static> Output<T> for CountingSink<T, F> {
    #[inline]
    fn emit(&mut self, value: T, _timestamp: Option<Millis>) -> TaskResult {
        self.records += 1;
        self.checksum = self.checksum.wrapping_add((self.fold)(&value));
        Ok(())
    }
    fn watermark(&mut self, _watermark: Millis) -> TaskResult {
        Ok(())
    }
    fn watermark_status(&mut self, _idle: bool) -> TaskResult {
        Ok(())
    }
    fn finish(&mut self) -> TaskResult {
        self.totals
            .records
            .fetch_add(self.records, Ordering::Relaxed);
        // fetch_add wraps on overflow, like the wrapping checksum.
        self.totals
            .checksum
            .fetch_add(self.checksum, Ordering::Relaxed);
        Ok(())
    }
}
