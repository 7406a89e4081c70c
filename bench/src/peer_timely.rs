//! Peer benchmarks: the three strom throughput workloads written with
//! [timely-dataflow](https://crates.io/crates/timely), so strom's numbers have a
//! reference point on the same machine.
//!
//! Every workload runs as one timely dataflow under `timely::execute` with
//! `Config::process(W)`; records are generated *inside* a source operator (no
//! input handle, no pre-built data), and every stream ends in a counting sink
//! that folds a commutative checksum so nothing can be optimised away.
//!
//! * `chained` — per worker, a source emits its contiguous share of `u64`
//!   `0..N` in batches; `map(x*2+1)`; `filter(x % 3 != 0)`; a sink counts and
//!   sums the survivors. Pipeline pacts only, no exchange (meant for W = 1).
//! * `keyed_count` — per worker, a source emits its share of `0..N`; records
//!   are exchanged on a hash of `key = x % 10_000`; a unary operator keeps a
//!   `HashMap<u64,u64>` of counts and emits `(key, count)` for every input
//!   record (a rolling count, like Flink's keyed reduce) into a counting sink.
//! * `wordcount` — per worker, a source emits lines of [`WORDS_PER_LINE`] words
//!   drawn by an LCG seeded with the worker index from a vocabulary of
//!   [`VOCAB`] words `w0..w9999`; a splitter turns each line into owned
//!   `String` words; words are exchanged on their hash; a unary operator keeps
//!   a `HashMap<String,u64>` and emits `(word, count)` per word into a
//!   counting sink. `N` counts words, not lines.
//!
//! Hash maps and exchange hashes use `rustc_hash` (Fx, as in the workspace deps).
//! Timing: an `Instant` is taken just before `timely::execute` and read after
//! all worker threads are joined (i.e. every dataflow has completed).

use std::cell::Cell;
use std::rc::Rc;
use std::time::Instant;

use rustc_hash::{FxHashMap, FxHasher};
use std::hash::Hasher;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::generic::operator::source;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::vec::{Filter, Map};
use timely::dataflow::{Scope, StreamVec};
use timely::Config;

mod wordcount;
use wordcount::wordcount;
pub use wordcount::{hash_str, lcg_next, next_line, vocabulary, VOCAB, WORDS_PER_LINE};

/// Records a source emits per activation before yielding to the scheduler.
pub const SOURCE_BATCH: u64 = 8 * 1024;
/// Number of distinct keys in `keyed_count`.
pub const KEYS: u64 = 10_000;

/// The three workloads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    Chained,
    KeyedCount,
    WordCount,
}

impl Workload {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "chained" => Some(Self::Chained),
            "keyed_count" => Some(Self::KeyedCount),
            "wordcount" => Some(Self::WordCount),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Self::Chained => "chained",
            Self::KeyedCount => "keyed_count",
            Self::WordCount => "wordcount",
        }
    }
}

/// What one run measured: `records` is the input size `N` (the rate's
/// numerator); `sink_records` is what the sinks saw (fewer for `chained`).
#[derive(Clone, Debug)]
pub struct Outcome {
    pub workload: Workload,
    pub workers: usize,
    pub records: u64,
    pub sink_records: u64,
    pub checksum: u64,
    pub seconds: f64,
}

impl Outcome {
    pub fn records_per_sec(&self) -> f64 {
        self.records as f64 / self.seconds
    }
    /// The one-line JSON report.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "engine": "timely",
            "workload": self.workload.name(),
            "workers": self.workers,
            "records": self.records,
            "seconds": self.seconds,
            "records_per_sec": self.records_per_sec(),
            "sink_records": self.sink_records,
            "checksum": self.checksum,
        })
    }
}

/// Half-open share `[lo, hi)` of `0..n` for worker `index` of `peers`.
pub fn share(n: u64, index: usize, peers: usize) -> (u64, u64) {
    let (i, p) = (index as u64, peers as u64);
    (n * i / p, n * (i + 1) / p)
}

/// Mixing hash for `u64` keys (Exchange routes on the low bits, so mix).
#[inline]
pub fn hash_u64(k: u64) -> u64 {
    let mut h = FxHasher::default();
    h.write_u64(k);
    h.finish()
}

/// A source emitting `lo..hi` in batches of [`SOURCE_BATCH`], all at time 0.
fn range_source<'s>(scope: Scope<'s, u64>, lo: u64, hi: u64) -> StreamVec<'s, u64, u64> {
    source(scope, "RangeSource", move |cap, info| {
        let activator = scope.activator_for(info.address);
        let mut cap = Some(cap);
        let mut next = lo;
        move |output| {
            if let Some(c) = cap.as_ref() {
                let end = hi.min(next + SOURCE_BATCH);
                output.session(c).give_iterator(next..end);
                next = end;
                if next >= hi {
                    cap = None;
                } else {
                    activator.activate();
                }
            }
        }
    })
}

/// Where a worker's sink leaves `(records seen, wrapping checksum)`.
type SinkOut = Rc<Cell<(u64, u64)>>;

/// A sink counting records and folding `fold(record)` into a wrapping sum.
fn counting_sink<D: 'static, F>(stream: StreamVec<'_, u64, D>, out: SinkOut, fold: F)
where
    F: Fn(&D) -> u64 + 'static,
{
    stream.sink(Pipeline, "CountSink", move |(input, _frontier)| {
        let (mut n, mut sum) = out.get();
        input.for_each(|_time, data| {
            n += data.len() as u64;
            for d in data.iter() {
                sum = sum.wrapping_add(fold(d));
            }
        });
        out.set((n, sum));
    });
}

/// Runs `workload` over `records` input records with `workers` threads.
/// For `wordcount`, `records` (words) is rounded down to whole lines.
pub fn run(workload: Workload, records: u64, workers: usize) -> Result<Outcome, String> {
    let records = whole_lines(workload, records);
    let start = Instant::now();
    let guards = timely::execute(Config::process(workers), move |worker| {
        build_and_run(worker, workload, records)
    })?;
    let mut sink_records = 0u64;
    let mut checksum = 0u64;
    for r in guards.join() {
        let (n, sum) = r?;
        sink_records += n;
        checksum = checksum.wrapping_add(sum);
    }
    let seconds = start.elapsed().as_secs_f64();
    Ok(Outcome {
        workload,
        workers,
        records,
        sink_records,
        checksum,
        seconds,
    })
}

/// This process's part of a run across processes (`Config::Cluster`, one worker each).
#[derive(Clone, Debug)]
pub struct ProcessPart {
    /// Records this process's sink saw.
    pub sink_records: u64,
    /// Its wrapping checksum.
    pub checksum: u64,
    /// When its worker started (connections to the other processes established), Unix ns.
    pub start_ns: u128,
    /// When its worker's dataflow completed, Unix ns.
    pub end_ns: u128,
}

/// Runs this process's worker of `workload` across `addresses.len()` processes, one worker
/// each, over timely's TCP transport; `process` is this one's index into `addresses`. The
/// worker is timed from a barrier of all workers to the end of its dataflow, on the wall
/// clock, so that the launcher can span all processes.
pub fn run_process(
    workload: Workload,
    records: u64,
    process: usize,
    addresses: Vec<String>,
) -> Result<ProcessPart, String> {
    let records = whole_lines(workload, records);
    let config = Config {
        communication: timely::CommunicationConfig::Cluster {
            threads: 1,
            process,
            addresses,
            report: false,
            zerocopy: false,
        },
        worker: timely::WorkerConfig::default(),
    };
    let guards = timely::execute(config, move |worker| {
        barrier(worker);
        let start_ns = unix_ns();
        let (n, sum) = build_and_run(worker, workload, records);
        (n, sum, start_ns, unix_ns())
    })?;
    let mut parts = guards.join().into_iter();
    let (sink_records, checksum, start_ns, end_ns) =
        parts.next().ok_or("timely started no worker")??;
    Ok(ProcessPart {
        sink_records,
        checksum,
        start_ns,
        end_ns,
    })
}

/// Returns once every worker of every process has reached it: a dataflow exchanging one
/// record per worker, stepped until its frontier is empty. Timely connects the processes
/// one after another (a late one retries after a second), so a worker's start alone does
/// not say that the others are running.
fn barrier(worker: &mut timely::worker::Worker) {
    use timely::dataflow::operators::{Exchange, Probe, ToStream};
    let index = worker.index() as u64;
    let probe = worker.dataflow::<u64, _, _>(move |scope| {
        let (probe, _) = ToStream::<Vec<u64>>::to_stream(vec![index], scope)
            .exchange(|x: &u64| *x)
            .probe();
        probe
    });
    while !probe.done() {
        worker.step();
    }
}

fn unix_ns() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

fn whole_lines(workload: Workload, records: u64) -> u64 {
    match workload {
        Workload::WordCount => records / WORDS_PER_LINE * WORDS_PER_LINE,
        _ => records,
    }
}

/// Builds `workload`'s dataflow on `worker` (its share of the input by global worker index)
/// and steps it to completion; the sink's `(records, checksum)`.
fn build_and_run(
    worker: &mut timely::worker::Worker,
    workload: Workload,
    records: u64,
) -> (u64, u64) {
    let (index, peers) = (worker.index(), worker.peers());
    let result = Rc::new(Cell::new((0u64, 0u64)));
    let out = result.clone();
    worker.dataflow::<u64, _, _>(move |scope| match workload {
        Workload::Chained => chained(scope, share(records, index, peers), out),
        Workload::KeyedCount => keyed_count(scope, share(records, index, peers), out),
        Workload::WordCount => {
            let lines = share(records / WORDS_PER_LINE, index, peers);
            wordcount(scope, lines, index as u64, out)
        }
    });
    while worker.step() {}
    result.get()
}

fn chained(scope: Scope<'_, u64>, (lo, hi): (u64, u64), out: SinkOut) {
    let stream = range_source(scope, lo, hi)
        .map(|x| x * 2 + 1)
        .filter(|x| x % 3 != 0);
    counting_sink(stream, out, |x| *x);
}

fn keyed_count(scope: Scope<'_, u64>, (lo, hi): (u64, u64), out: SinkOut) {
    let counts = range_source(scope, lo, hi).unary(
        Exchange::new(|x: &u64| hash_u64(x % KEYS)),
        "KeyedCount",
        |_cap, _info| {
            let mut counts: FxHashMap<u64, u64> = FxHashMap::default();
            move |input, output| {
                input.for_each_time(|time, data| {
                    let mut session = output.session(&time);
                    for batch in data {
                        for x in batch.drain(..) {
                            let key = x % KEYS;
                            let c = counts.entry(key).or_insert(0);
                            *c += 1;
                            session.give((key, *c));
                        }
                    }
                });
            }
        },
    );
    counting_sink(counts, out, |&(k, c)| {
        k.wrapping_mul(1_000_003).wrapping_add(c)
    });
}
