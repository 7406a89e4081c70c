//! Source idleness (`WatermarkStrategy::with_idleness`): with two source subtasks of which
//! one goes quiet (stops emitting but does not end), downstream event time still advances
//! with the active subtask, so event-time windows and timers fire while the job runs; the
//! same for the two inputs of a keyed connect. Without idleness the quiet subtask holds the
//! watermark back and nothing fires before the end of input. Every run's results are
//! compared with a sequential count of exactly the records the sources emitted.
//!
//! The sources end when the sink has seen the windows it waits for (or at a deadline), so a
//! run is as short as the mechanism under test allows: idleness 50 ms, watermarks every
//! 10 ms, 20 ms windows.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use strom_runtime::api::{
    Collector, DataStream, KeyedCoProcessFunction, KeyedContext, KeyedProcessFunction,
    KeyedStateStore, StreamEnv, UserError, WatermarkStrategy,
};
use strom_runtime::cluster::JobStatus;
use strom_runtime::error::TaskResult;
use strom_runtime::operator::{Millis, Output};
use strom_runtime::source::{LocalFuture, SourceReader, SourceStatus};
use strom_runtime::state::MapState;
use strom_runtime::window::{TumblingEventTimeWindows, WindowContext};
use strom_tests::cluster_with;

/// (key, event timestamp, value)
type Rec = (u64, i64, u64);
/// (key, window start, window end, count)
type Counted = (u64, i64, i64, u64);

const KEYS: u64 = 4;
const WINDOW: i64 = 20;

/// What the sources, the sink and the test share.
#[derive(Default)]
struct Shared {
    /// The window starts the sink waits for (every key) before it lets the sources end.
    early: Vec<i64>,
    /// Set by the sink once every early window fired: the sources may end.
    stop: AtomicBool,
    /// Set by the first source subtask that ends.
    ended: AtomicBool,
    /// Every record the sources emitted.
    emitted: Mutex<Vec<Rec>>,
    /// Every firing the sink saw, and whether all sources were still running then.
    firings: Mutex<Vec<(Counted, bool)>>,
}

/// How one source subtask behaves.
#[derive(Clone, Copy, Debug)]
enum Role {
    /// One record per millisecond, timestamp = its index (event time follows the clock),
    /// never idle.
    Paced,
    /// `n` records with timestamps `0..n` at once, then quiet. With `late: (from, every,
    /// times)`, `times` more records with the old timestamp `n - 1`, one per `every` from
    /// `from` on.
    Burst {
        n: u64,
        late: Option<(Duration, Duration, u32)>,
    },
}

/// A quiet subtask: 10 records at the start, then nothing (but it does not end).
const QUIET: Role = Role::Burst { n: 10, late: None };

/// A source subtask in a [`Role`]; it ends once `stop` is set or `deadline` passed.
struct Scripted {
    role: Role,
    deadline: Duration,
    shared: Arc<Shared>,
    started: Option<Instant>,
    next: u64,
    late_sent: u32,
}

impl Scripted {
    fn send(&mut self, out: &mut dyn Output<Rec>, r: Rec) -> TaskResult {
        self.shared.emitted.lock().unwrap().push(r);
        out.emit(r, None)
    }
}

impl SourceReader<Rec> for Scripted {
    fn poll_batch(
        &mut self,
        out: &mut dyn Output<Rec>,
        max: usize,
    ) -> TaskResult<(SourceStatus, usize)> {
        let started = *self.started.get_or_insert_with(Instant::now);
        let elapsed = started.elapsed();
        if self.shared.stop.load(Ordering::SeqCst) || elapsed >= self.deadline {
            self.shared.ended.store(true, Ordering::SeqCst);
            return Ok((SourceStatus::Finished, 0));
        }
        let due = match self.role {
            Role::Paced => elapsed.as_millis() as u64 + 1,
            Role::Burst { n, .. } => n,
        };
        let stop = due.min(self.next + max as u64);
        let mut sent = 0;
        while self.next < stop {
            let i = self.next;
            self.send(out, (i % KEYS, i as i64, 1))?;
            self.next += 1;
            sent += 1;
        }
        if let Role::Burst {
            n,
            late: Some((from, every, times)),
        } = self.role
        {
            let due = if elapsed >= from {
                let steps = (elapsed - from).as_millis() / every.as_millis().max(1);
                (1 + steps as u32).min(times)
            } else {
                0
            };
            if self.late_sent < due {
                self.late_sent += 1;
                self.send(out, (0, n as i64 - 1, 1))?;
                sent += 1;
            }
        }
        let status = if sent >= max {
            SourceStatus::More
        } else {
            SourceStatus::Pending
        };
        Ok((status, sent))
    }

    fn wait(&mut self) -> LocalFuture<'_, TaskResult> {
        Box::pin(async {
            strom_runtime::slot::sleep(Duration::from_millis(1)).await;
            Ok(())
        })
    }
}

/// Records every firing with whether the sources were all still running, and sets `stop`
/// once every key's early windows fired.
struct Watch {
    shared: Arc<Shared>,
    early_seen: BTreeSet<(u64, i64)>,
}

impl Output<Counted> for Watch {
    fn emit(&mut self, c: Counted, _ts: Option<Millis>) -> TaskResult {
        let running = !self.shared.ended.load(Ordering::SeqCst);
        self.shared.firings.lock().unwrap().push((c, running));
        if self.shared.early.contains(&c.1) {
            self.early_seen.insert((c.0, c.1));
            if self.early_seen.len() == KEYS as usize * self.shared.early.len() {
                self.shared.stop.store(true, Ordering::SeqCst);
            }
        }
        Ok(())
    }
    fn watermark(&mut self, _w: Millis) -> TaskResult {
        Ok(())
    }
    fn watermark_status(&mut self, _idle: bool) -> TaskResult {
        Ok(())
    }
    fn finish(&mut self) -> TaskResult {
        Ok(())
    }
}

/// Tumbling event-time counts kept in map state and emitted by event-time timers (the same
/// results as the window operator).
#[derive(Clone, Default)]
struct TimerWindows {
    counts: Option<MapState<u64, i64, u64>>,
}

impl TimerWindows {
    fn add(&mut self, r: Rec, ctx: &mut KeyedContext<'_, u64, Counted>) -> Result<(), UserError> {
        let ts = ctx.timestamp().ok_or("no timestamp")?;
        if ts != r.1 {
            return Err(format!("timestamp {ts} for record {r:?}").into());
        }
        let start = ts - ts.rem_euclid(WINDOW);
        let counts = self.counts.as_ref().ok_or("not opened")?;
        let n = counts.get(&start)?.unwrap_or(0);
        counts.put(start, n + 1)?;
        ctx.register_event_time_timer(start + WINDOW - 1);
        Ok(())
    }
    fn fire(&mut self, at: i64, ctx: &mut KeyedContext<'_, u64, Counted>) -> Result<(), UserError> {
        let start = at + 1 - WINDOW;
        let counts = self.counts.as_ref().ok_or("not opened")?;
        let n = counts.remove(&start)?.unwrap_or(0);
        ctx.collect((*ctx.key(), start, start + WINDOW, n));
        Ok(())
    }
}

impl KeyedProcessFunction<u64, Rec, Counted> for TimerWindows {
    fn open(&mut self, state: &mut KeyedStateStore<u64>) -> Result<(), UserError> {
        self.counts = Some(state.map_state("counts")?);
        Ok(())
    }
    fn process_element(
        &mut self,
        r: Rec,
        ctx: &mut KeyedContext<'_, u64, Counted>,
    ) -> Result<(), UserError> {
        self.add(r, ctx)
    }
    fn on_timer(
        &mut self,
        at: i64,
        ctx: &mut KeyedContext<'_, u64, Counted>,
    ) -> Result<(), UserError> {
        self.fire(at, ctx)
    }
}

impl KeyedCoProcessFunction<u64, Rec, Rec, Counted> for TimerWindows {
    fn open(&mut self, state: &mut KeyedStateStore<u64>) -> Result<(), UserError> {
        self.counts = Some(state.map_state("counts")?);
        Ok(())
    }
    fn process_element1(
        &mut self,
        r: Rec,
        ctx: &mut KeyedContext<'_, u64, Counted>,
    ) -> Result<(), UserError> {
        self.add(r, ctx)
    }
    fn process_element2(
        &mut self,
        r: Rec,
        ctx: &mut KeyedContext<'_, u64, Counted>,
    ) -> Result<(), UserError> {
        self.add(r, ctx)
    }
    fn on_timer(
        &mut self,
        at: i64,
        ctx: &mut KeyedContext<'_, u64, Counted>,
    ) -> Result<(), UserError> {
        self.fire(at, ctx)
    }
}

/// What counts the records downstream of the source(s).
#[derive(Clone, Copy, Debug)]
enum Downstream {
    /// One source with a subtask per role; a tumbling event-time window.
    Window,
    /// One source with a subtask per role; a keyed process function with timers.
    Timers,
    /// One source per role (parallelism 1 each), keyed and connected; a keyed
    /// co-process function with timers.
    Connected,
}

/// One run: the roles of the source subtasks, idleness, what counts, when the sources end
/// at the latest, and the windows that let them end earlier.
struct Setup {
    roles: [Role; 2],
    idleness: Option<Duration>,
    downstream: Downstream,
    deadline: Duration,
    early: Vec<i64>,
}

/// A scripted source with one subtask per role, timestamps and watermarks assigned.
fn scripted(
    env: &mut StreamEnv,
    name: &str,
    roles: Vec<Role>,
    setup: (Option<Duration>, Duration),
    shared: &Arc<Shared>,
) -> DataStream<Rec> {
    let (idleness, deadline) = setup;
    let mut strategy =
        WatermarkStrategy::for_monotonous_timestamps().with_timestamp_assigner(|r: &Rec, _| r.1);
    if let Some(d) = idleness {
        strategy = strategy.with_idleness(d);
    }
    let parallelism = roles.len() as u32;
    let shared = shared.clone();
    env.add_source(name, move |ctx| {
        Box::new(Scripted {
            role: roles[ctx.subtask as usize],
            deadline,
            shared: shared.clone(),
            started: None,
            next: 0,
            late_sent: 0,
        })
    })
    .set_parallelism(parallelism)
    .assign_timestamps_and_watermarks(strategy)
}

fn run(name: &str, setup: Setup) -> Arc<Shared> {
    let shared = Arc::new(Shared {
        early: setup.early.clone(),
        ..Default::default()
    });
    let sh = shared.clone();
    let cluster = cluster_with(
        2,
        &[
            ("pipeline.auto-watermark-interval", "10 ms"),
            ("execution.buffer-timeout", "0"),
        ],
    );
    let (roles, downstream) = (setup.roles, setup.downstream);
    let times = (setup.idleness, setup.deadline);
    let job = cluster
        .execute(name, move |env: &mut StreamEnv| {
            let key = |r: &Rec| r.0;
            let counted = match downstream {
                Downstream::Window => scripted(env, "Scripted", roles.to_vec(), times, &sh)
                    .key_by(key)
                    .window(TumblingEventTimeWindows::of(Duration::from_millis(
                        WINDOW as u64,
                    )))
                    .reduce_with(
                        |a: Rec, b: Rec| (a.0, a.1, a.2 + b.2),
                        |k: &u64,
                         ctx: &WindowContext,
                         e: &[Rec],
                         out: &mut Collector<'_, Counted>|
                         -> Result<(), UserError> {
                            out.collect((*k, ctx.window().start, ctx.window().end, e[0].2));
                            Ok(())
                        },
                    ),
                Downstream::Timers => scripted(env, "Scripted", roles.to_vec(), times, &sh)
                    .key_by(key)
                    .process(TimerWindows::default()),
                Downstream::Connected => {
                    let a = scripted(env, "First", vec![roles[0]], times, &sh).key_by(key);
                    let b = scripted(env, "Second", vec![roles[1]], times, &sh).key_by(key);
                    a.connect(&b).process(TimerWindows::default())
                }
            }
            .set_parallelism(2);
            let watch = sh.clone();
            counted
                .sink_to("Watch", move |_| {
                    Box::new(Watch {
                        shared: watch.clone(),
                        early_seen: BTreeSet::new(),
                    })
                })
                .set_parallelism(1);
            Ok(())
        })
        .unwrap();
    // Bounded: the sources end by their deadline; cancel well after it just in case.
    let limit = setup.deadline + Duration::from_secs(5);
    let start = Instant::now();
    let r = job
        .wait_with_progress(Duration::from_millis(50), move |h| {
            if start.elapsed() > limit {
                h.cancel();
            }
        })
        .unwrap();
    assert_eq!(r.status, JobStatus::Finished, "{name}");
    shared
}

/// Tumbling 20 ms counts of exactly the records the sources emitted.
fn reference(emitted: &[Rec]) -> Vec<Counted> {
    let mut counts: BTreeMap<(u64, i64), u64> = BTreeMap::new();
    for &(k, ts, v) in emitted {
        *counts.entry((k, ts - ts.rem_euclid(WINDOW))).or_default() += v;
    }
    counts
        .into_iter()
        .map(|((k, s), n)| (k, s, s + WINDOW, n))
        .collect()
}

/// Checks the firings against the reference; returns them with their `running` flags.
fn check_results(shared: &Shared, what: &str) -> Vec<(Counted, bool)> {
    let firings = shared.firings.lock().unwrap().clone();
    let mut got: Vec<Counted> = firings.iter().map(|f| f.0).collect();
    got.sort();
    let want = reference(&shared.emitted.lock().unwrap());
    assert_eq!(
        got, want,
        "{what}: every window once, with exactly its records"
    );
    firings
}

/// The active subtask paces event time with the clock; the other emits a little at the
/// start and then goes quiet without ending.
const ACTIVE_AND_QUIET: [Role; 2] = [Role::Paced, QUIET];

fn idle_input_does_not_hold_back(downstream: Downstream) {
    let what = format!("{downstream:?} with idleness");
    let deadline = Duration::from_secs(3);
    let t = Instant::now();
    let shared = run(
        "idleness",
        Setup {
            roles: ACTIVE_AND_QUIET,
            idleness: Some(Duration::from_millis(50)),
            downstream,
            deadline,
            early: vec![0, 20],
        },
    );
    let took = t.elapsed();
    assert!(
        shared.stop.load(Ordering::SeqCst),
        "{what}: the early windows never fired while the job ran ({took:?})"
    );
    assert!(took < deadline, "{what}: ended by the deadline ({took:?})");
    let firings = check_results(&shared, &what);
    for k in 0..KEYS {
        for s in [0, 20] {
            let f = firings.iter().find(|f| f.0 .0 == k && f.0 .1 == s).unwrap();
            assert!(
                f.1,
                "{what}: window ({k}, {s}) fired only after a source ended"
            );
        }
    }
    // The quiet subtask's 10 records (sent before it went idle) count in the first window,
    // next to the active subtask's 20.
    let first_window: u64 = firings.iter().filter(|f| f.0 .1 == 0).map(|f| f.0 .3).sum();
    assert_eq!(first_window, 30, "{what}");
}

#[test]
fn idle_subtask_does_not_hold_back_event_time_windows() {
    idle_input_does_not_hold_back(Downstream::Window);
}

#[test]
fn idle_subtask_does_not_hold_back_event_time_timers() {
    idle_input_does_not_hold_back(Downstream::Timers);
}

#[test]
fn idle_input_of_a_keyed_connect_does_not_hold_back_its_timers() {
    idle_input_does_not_hold_back(Downstream::Connected);
}

fn without_idleness_nothing_fires_before_the_end(downstream: Downstream) {
    let what = format!("{downstream:?} without idleness");
    // The sources run until this deadline (the windows never let them stop earlier); the
    // paced source is due 1 record per ms, and catches up after a pause of its slot.
    let deadline = Duration::from_millis(400);
    let shared = run(
        "no-idleness",
        Setup {
            roles: ACTIVE_AND_QUIET,
            idleness: None,
            downstream,
            deadline,
            early: vec![0, 20],
        },
    );
    let firings = check_results(&shared, &what);
    let paced = shared
        .emitted
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.1 >= 10)
        .count();
    assert!(
        paced >= 100,
        "{what}: the active subtask emitted {paced} records in {deadline:?}, so several windows were complete long before the end"
    );
    for (f, running) in &firings {
        assert!(
            !running,
            "{what}: window {f:?} fired while the quiet subtask held the watermark back"
        );
    }
}

#[test]
fn without_idleness_windows_wait_for_the_end_of_input() {
    without_idleness_nothing_fires_before_the_end(Downstream::Window);
}

#[test]
fn without_idleness_timers_wait_for_the_end_of_input() {
    without_idleness_nothing_fires_before_the_end(Downstream::Timers);
}

#[test]
fn without_idleness_a_quiet_connected_input_holds_back_timers() {
    without_idleness_nothing_fires_before_the_end(Downstream::Connected);
}

/// Both subtasks emit at once; one goes quiet, the one with the smaller watermark emits a
/// record with its old timestamp every 20 ms until 100 ms, so it is the last to become
/// idle (~250 ms: the idleness timeout is 150 ms, so that a slot paused for a while on a
/// loaded machine between two of those records is not taken for idle). Flink's StatusWatermarkValve
/// then (every channel idle) emits the largest watermark over all channels, and the windows
/// that the other subtask's data completed fire before the end of input (strom's valve once
/// emitted nothing when every channel was idle).
#[test]
fn all_channels_idle_flushes_the_largest_watermark() {
    let behind = Role::Burst {
        n: 10,
        late: Some((Duration::from_millis(20), Duration::from_millis(20), 5)),
    };
    let shared = run(
        "all-idle",
        Setup {
            roles: [Role::Burst { n: 200, late: None }, behind],
            idleness: Some(Duration::from_millis(150)),
            downstream: Downstream::Window,
            deadline: Duration::from_millis(1500),
            early: vec![0, 20],
        },
    );
    let firings = check_results(&shared, "all idle");
    let early: Vec<_> = firings.iter().filter(|f| f.0 .1 <= 20).collect();
    assert!(
        early.iter().all(|f| f.1),
        "windows complete by the largest watermark fired only at the end of input: {early:?}"
    );
}

/// The quiet subtask goes idle (~60 ms), then from 120 ms on emits a record with its old
/// timestamp every 20 ms: active again, but its watermark is far behind what the valve
/// already emitted. Flink's StatusWatermarkValve leaves such a channel out of the minimum
/// until its watermark catches up ("aligned"), so the active subtask's windows keep firing
/// (strom's valve once took it into the minimum at once, stalling event time to the end).
#[test]
fn a_channel_back_from_idle_behind_the_watermark_does_not_stall_event_time() {
    let straggler = Role::Burst {
        n: 10,
        late: Some((
            Duration::from_millis(120),
            Duration::from_millis(20),
            u32::MAX,
        )),
    };
    let shared = run(
        "back-from-idle",
        Setup {
            roles: [Role::Paced, straggler],
            idleness: Some(Duration::from_millis(50)),
            downstream: Downstream::Window,
            deadline: Duration::from_millis(800),
            early: vec![160, 180],
        },
    );
    // The straggler's records are late for the first window (dropped), so the counts are
    // not compared here; only when the windows fired.
    let firings = shared.firings.lock().unwrap().clone();
    let late: Vec<_> = firings
        .iter()
        .filter(|f| f.0 .1 >= 160 && f.0 .1 <= 180)
        .collect();
    assert!(
        shared.stop.load(Ordering::SeqCst) && late.iter().all(|f| f.1),
        "windows [160, 200) fired only at the end of input: {late:?}"
    );
}
