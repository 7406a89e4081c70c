//! Timers of keyed process functions: processing-time timers fire on the wall clock with the
//! right key and domain (deleted and duplicate timers do not fire twice); event-time timers
//! fire in timestamp order exactly as the watermark of a bounded out-of-order source passes
//! them, checked against a sequential simulation.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use strom_runtime::api::{KeyedContext, KeyedProcessFunction, TimeDomain, UserError};
use strom_runtime::cluster::{JobHandle, JobResult, JobStatus};
use strom_runtime::error::TaskResult;
use strom_runtime::operator::{Millis, Output};
use strom_runtime::sink::CollectHandle;
use strom_runtime::source::{LocalFuture, SourceReader, SourceStatus};
use strom_runtime::time::WatermarkStrategy;
use strom_tests::cluster;

/// Waits for `job`, cancelling it if it runs longer than `limit`.
fn wait_bounded(job: JobHandle, limit: Duration) -> JobResult {
    let start = Instant::now();
    job.wait_with_progress(Duration::from_millis(50), move |h| {
        if start.elapsed() > limit {
            h.cancel();
        }
    })
    .unwrap()
}

fn domain_code(d: Option<TimeDomain>) -> u8 {
    match d {
        None => 0,
        Some(TimeDomain::ProcessingTime) => 1,
        Some(TimeDomain::EventTime) => 2,
    }
}

// ---------------------------------------------------------------------------------------
// Processing time
// ---------------------------------------------------------------------------------------

/// Emits `keys` once, then stays open (pending, without spinning) until `fired` reaches
/// `expect` or 5 s pass, then finishes: processing-time timers get the chance to fire
/// before the end of input.
struct SlowKeys {
    keys: Vec<u64>,
    emitted: bool,
    fired: Arc<AtomicUsize>,
    expect: usize,
    started: Instant,
}

impl SourceReader<u64> for SlowKeys {
    fn poll_batch(
        &mut self,
        out: &mut dyn Output<u64>,
        _max: usize,
    ) -> TaskResult<(SourceStatus, usize)> {
        if !self.emitted {
            self.emitted = true;
            for k in &self.keys {
                out.emit(*k, None)?;
            }
            return Ok((SourceStatus::Pending, self.keys.len()));
        }
        // Linger 200 ms at least, so that extra (wrong) firings would show up.
        let elapsed = self.started.elapsed();
        let done = (self.fired.load(Ordering::SeqCst) >= self.expect
            && elapsed > Duration::from_millis(200))
            || elapsed > Duration::from_secs(5);
        Ok((
            if done {
                SourceStatus::Finished
            } else {
                SourceStatus::Pending
            },
            0,
        ))
    }

    fn wait(&mut self) -> LocalFuture<'_, TaskResult> {
        // Never ready: the source task sleeps for its budget (at most 50 ms), then polls.
        Box::pin(std::future::pending())
    }
}

/// What the timer function reports: (kind, key, timer time or registration time, now,
/// timestamp of the context, domain code).
type Event = (u8, u64, i64, i64, i64, u8);
const REGISTERED: u8 = 0;
const FIRED: u8 = 1;

#[derive(Clone)]
struct ProcessingTimers {
    fired: Arc<AtomicUsize>,
}

impl KeyedProcessFunction<u64, u64, Event> for ProcessingTimers {
    fn process_element(
        &mut self,
        key: u64,
        ctx: &mut KeyedContext<'_, u64, Event>,
    ) -> Result<(), UserError> {
        assert_eq!(*ctx.key(), key);
        let now = ctx.current_processing_time();
        let at = now + 50 + key as i64; // distinct per key
        ctx.register_processing_time_timer(at);
        // Registering the same timer twice keeps one.
        ctx.register_processing_time_timer(at);
        // A deleted timer does not fire.
        ctx.register_processing_time_timer(at + 5);
        ctx.delete_processing_time_timer(at + 5);
        ctx.collect((REGISTERED, key, at, now, -1, domain_code(ctx.time_domain())));
        Ok(())
    }

    fn on_timer(
        &mut self,
        timestamp: Millis,
        ctx: &mut KeyedContext<'_, u64, Event>,
    ) -> Result<(), UserError> {
        let now = ctx.current_processing_time();
        let ts = ctx.timestamp().unwrap_or(-2);
        let key = *ctx.key();
        ctx.collect((
            FIRED,
            key,
            timestamp,
            now,
            ts,
            domain_code(ctx.time_domain()),
        ));
        self.fired.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[test]
fn processing_time_timer_fires_with_its_key() {
    let c = cluster(2);
    let keys: Vec<u64> = (0..8).collect();
    let fired = Arc::new(AtomicUsize::new(0));
    let out = CollectHandle::<Event>::new();
    let o = out.clone();
    let (f, k) = (fired.clone(), keys.clone());
    let job = c
        .execute("processing-timers", move |env| {
            let (f2, k2) = (f.clone(), k.clone());
            env.add_source("Slow Keys", move |_| {
                Box::new(SlowKeys {
                    keys: k2.clone(),
                    emitted: false,
                    fired: f2.clone(),
                    expect: k2.len(),
                    started: Instant::now(),
                })
            })
            .set_parallelism(1)
            .key_by(|x: &u64| *x)
            .process(ProcessingTimers { fired: f.clone() })
            .set_parallelism(2)
            .collect(&o);
            Ok(())
        })
        .unwrap();
    let r = wait_bounded(job, Duration::from_secs(10));
    assert_eq!(r.status, JobStatus::Finished);
    let events = out.items();
    let mut registered: BTreeMap<u64, (i64, i64)> = BTreeMap::new();
    let mut firings: BTreeMap<u64, Vec<Event>> = BTreeMap::new();
    for e in &events {
        match e.0 {
            REGISTERED => {
                assert_eq!(e.5, 0, "no time domain while processing a record: {e:?}");
                assert!(registered.insert(e.1, (e.2, e.3)).is_none(), "{e:?}");
            }
            FIRED => firings.entry(e.1).or_default().push(*e),
            _ => unreachable!(),
        }
    }
    assert_eq!(registered.keys().copied().collect::<Vec<_>>(), keys);
    assert_eq!(
        firings.keys().copied().collect::<Vec<_>>(),
        keys,
        "every key's timer fired: {events:?}"
    );
    for (key, fs) in &firings {
        assert_eq!(
            fs.len(),
            1,
            "key {key}: one firing (duplicate kept once, deleted gone): {fs:?}"
        );
        let (_, k, at, now, ts, domain) = fs[0];
        let (reg_at, reg_now) = registered[key];
        assert_eq!(k, *key);
        assert_eq!(at, reg_at, "key {key} fired for its own timer");
        assert_eq!(at, reg_now + 50 + *key as i64);
        assert_eq!(ts, at, "the context timestamp is the timer's time");
        assert_eq!(domain, 1, "TimeDomain::ProcessingTime");
        assert!(now >= at, "key {key}: fired at {now}, before its time {at}");
        assert!(now - at < 2_000, "key {key}: fired {} ms late", now - at);
    }
}

// ---------------------------------------------------------------------------------------
// Event time
// ---------------------------------------------------------------------------------------

/// Registers an event-time timer at each record's timestamp; reports (key, timer time,
/// watermark when it fired, domain code).
#[derive(Clone)]
struct EventTimers;

type Firing = (u64, i64, i64, u8);

impl KeyedProcessFunction<u64, (u64, i64), Firing> for EventTimers {
    fn process_element(
        &mut self,
        (key, ts): (u64, i64),
        ctx: &mut KeyedContext<'_, u64, Firing>,
    ) -> Result<(), UserError> {
        if ctx.timestamp() != Some(ts) {
            return Err(format!("record timestamp {:?}, want {ts}", ctx.timestamp()).into());
        }
        assert_eq!(*ctx.key(), key);
        ctx.register_event_time_timer(ts);
        Ok(())
    }

    fn on_timer(
        &mut self,
        timestamp: Millis,
        ctx: &mut KeyedContext<'_, u64, Firing>,
    ) -> Result<(), UserError> {
        let wm = ctx.current_watermark();
        let key = *ctx.key();
        let d = domain_code(ctx.time_domain());
        ctx.collect((key, timestamp, wm, d));
        Ok(())
    }
}

const DELAY: i64 = 20;

/// Out-of-order events: unique timestamps 1000, 1005, ... shuffled by up to 60 ms, and every
/// 50th event held back 300 ms (late: behind the watermark when it arrives).
fn events() -> Vec<(u64, i64)> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut v: Vec<(i64, u64, i64)> = (0..3_000i64)
        .map(|i| {
            let ts = 1_000 + i * 5;
            let r = next();
            let delay = if i % 50 == 7 { 300 } else { (r % 60) as i64 };
            (ts + delay, r >> 32 & 0xff, ts)
        })
        .collect();
    v.sort();
    v.into_iter().map(|(_, r, ts)| (r % 5, ts)).collect()
}

fn fire_due(wm: i64, timers: &mut BTreeSet<(i64, u64)>, out: &mut Vec<Firing>) {
    while let Some(&(t, k)) = timers.first() {
        if t > wm {
            break;
        }
        timers.pop_first();
        out.push((k, t, wm, 2));
    }
}

/// Sequential model: per-record watermark = max timestamp - DELAY - 1 (emitted after the
/// record, when it advances); on each advance, every timer at or before it fires, in
/// timestamp order; at the end of input the watermark jumps to MAX.
fn reference_firings(events: &[(u64, i64)]) -> Vec<Firing> {
    let mut wm = i64::MIN;
    let mut max_ts = i64::MIN;
    let mut timers: BTreeSet<(i64, u64)> = BTreeSet::new();
    let mut out = Vec::new();
    for &(k, ts) in events {
        timers.insert((ts, k));
        max_ts = max_ts.max(ts);
        let cand = max_ts - DELAY - 1;
        if cand > wm {
            wm = cand;
            fire_due(wm, &mut timers, &mut out);
        }
    }
    fire_due(i64::MAX, &mut timers, &mut out);
    out
}

fn run_event_time(parallelism: u32) -> Vec<Firing> {
    let c = cluster(2);
    let out = CollectHandle::<Firing>::new();
    let o = out.clone();
    let evs = events();
    let job = c
        .execute("event-timers", move |env| {
            env.from_collection(evs.clone())
                .assign_timestamps_and_watermarks(
                    WatermarkStrategy::for_bounded_out_of_orderness_per_record(
                        Duration::from_millis(DELAY as u64),
                    )
                    .with_timestamp_assigner(|e: &(u64, i64), _| e.1),
                )
                .set_parallelism(1)
                .key_by(|e: &(u64, i64)| e.0)
                .process(EventTimers)
                .set_parallelism(parallelism)
                .collect(&o)
                .set_parallelism(1);
            Ok(())
        })
        .unwrap();
    let r = wait_bounded(job, Duration::from_secs(10));
    assert_eq!(r.status, JobStatus::Finished);
    out.items()
}

#[test]
fn event_time_timers_fire_in_timestamp_order_as_the_watermark_passes() {
    let evs = events();
    let want = reference_firings(&evs);
    // The model itself: every timer fires once, some before the end of input, some late ones.
    assert_eq!(want.len(), evs.len());
    let before_end = want.iter().filter(|f| f.2 != i64::MAX).count();
    assert!(before_end > evs.len() / 2, "{before_end}");
    let late = evs
        .iter()
        .enumerate()
        .filter(|(i, (_, ts))| evs[..*i].iter().any(|(_, t)| *t - DELAY > *ts))
        .count();
    assert!(late > 10, "late events in the input: {late}");

    // One subtask: the whole firing sequence is determined.
    let got = run_event_time(1);
    assert_eq!(got.len(), want.len(), "each timer fires once");
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "firing {i} (key, time, watermark, domain)");
    }
}

#[test]
fn event_time_timers_per_key_order_with_two_subtasks() {
    let want = reference_firings(&events());
    let got = run_event_time(2);
    let per_key = |v: &[Firing]| {
        let mut m: BTreeMap<u64, Vec<Firing>> = BTreeMap::new();
        for f in v {
            m.entry(f.0).or_default().push(*f);
        }
        m
    };
    // Each subtask sees the same watermarks, so every key fires exactly as in the model.
    assert_eq!(per_key(&got), per_key(&want));
}
