//! Keyed state in a KeyedProcessFunction, across 3 slots with parallelism 3 and many keys:
//! value, list, map, reducing and aggregating state give, record by record, what a
//! sequential per-key replay gives; one key never sees another key's state; clear() empties
//! a key's state; two states with one name fail the job with the StateError message; state
//! used outside a keyed call (in open) is a NoKey error, not a panic.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use strom_runtime::api::{
    AggregateFunction, KeyedContext, KeyedProcessFunction, KeyedStateStore, StreamEnv, UserError,
};
use strom_runtime::cluster::{JobError, JobStatus};
use strom_runtime::sink::CollectHandle;
use strom_runtime::state::{
    AggregatingState, ListState, MapState, ReducingState, StateError, ValueState,
};
use strom_tests::cluster;
use strom_tests::reference::lcg;

/// An input record: (key, value). Values are `key * 1_000_000 + i`, so every value names
/// the key it belongs to.
type In = (u64, u64);

/// What the function emits after every record (and once more per key from a timer at the
/// end of input, with `seq == u64::MAX`):
/// (key, seq, value state, list state, map entries sorted, reduced sum, aggregate).
type Snapshot = (
    u64,
    u64,
    Option<u64>,
    Vec<u64>,
    Vec<(u64, u64)>,
    Option<u64>,
    Option<(u64, u64)>,
);

const SPAN: u64 = 1_000_000;

/// Count and maximum of the low part of the values.
#[derive(Clone)]
struct CountMax;

impl AggregateFunction<u64, (u64, u64), (u64, u64)> for CountMax {
    fn create_accumulator(&self) -> (u64, u64) {
        (0, 0)
    }
    fn add(&self, v: u64, acc: (u64, u64)) -> (u64, u64) {
        (acc.0 + 1, acc.1.max(v % SPAN))
    }
    fn get_result(&self, acc: &(u64, u64)) -> (u64, u64) {
        *acc
    }
    fn merge(&self, a: (u64, u64), b: (u64, u64)) -> (u64, u64) {
        (a.0 + b.0, a.1.max(b.1))
    }
}

/// What a command byte of a value asks for (the same rule in the function and the replay).
fn command(v: u64) -> u64 {
    (v % SPAN) % 23
}

/// The aggregating state of [`AllStates`].
type CountMaxState = AggregatingState<u64, u64, (u64, u64), (u64, u64)>;

/// Uses all five kinds of keyed state.
#[derive(Clone, Default)]
struct AllStates {
    last: Option<ValueState<u64, u64>>,
    recent: Option<ListState<u64, u64>>,
    buckets: Option<MapState<u64, u64, u64>>,
    sum: Option<ReducingState<u64, u64>>,
    // AggregatingState is not Clone (the other handles are), so it is shared by an Rc.
    count_max: Option<Rc<CountMaxState>>,
    seq: Option<ValueState<u64, u64>>,
}

fn opened<T>(s: &Option<T>) -> Result<&T, UserError> {
    s.as_ref().ok_or_else(|| "state used before open".into())
}

impl AllStates {
    fn snapshot(&self, key: u64, seq: u64) -> Result<Snapshot, UserError> {
        let mut entries = opened(&self.buckets)?.entries()?;
        entries.sort();
        let recent = opened(&self.recent)?.get()?;
        // Isolation: nothing of another key is visible.
        let last = opened(&self.last)?.value()?;
        let sum = opened(&self.sum)?.get()?;
        for v in recent.iter().chain(last.iter()) {
            if v / SPAN != key {
                return Err(format!("key {key} sees value {v} of key {}", v / SPAN).into());
            }
        }
        if let Some(s) = sum {
            // Every value of key k is at least k * SPAN, so the sum of n values of this key
            // lies in [n * k * SPAN, n * (k + 1) * SPAN).
            let n = opened(&self.count_max)?.get()?.map(|a| a.0).unwrap_or(0);
            if s < n * key * SPAN || s >= n * (key + 1) * SPAN {
                return Err(format!("key {key}: sum {s} of {n} values is not this key's").into());
            }
        }
        Ok((
            key,
            seq,
            last,
            recent,
            entries,
            sum,
            opened(&self.count_max)?.get()?,
        ))
    }
}

impl KeyedProcessFunction<u64, In, Snapshot> for AllStates {
    fn open(&mut self, state: &mut KeyedStateStore<u64>) -> Result<(), UserError> {
        self.last = Some(state.value_state("last")?);
        self.recent = Some(state.list_state("recent")?);
        self.buckets = Some(state.map_state("buckets")?);
        self.sum = Some(state.reducing_state("sum", |a: u64, b: u64| a + b)?);
        self.count_max = Some(Rc::new(state.aggregating_state("count-max", CountMax)?));
        self.seq = Some(state.value_state("seq")?);
        Ok(())
    }

    fn process_element(
        &mut self,
        (k, v): In,
        ctx: &mut KeyedContext<'_, u64, Snapshot>,
    ) -> Result<(), UserError> {
        if *ctx.key() != k {
            return Err(format!("record of key {k} processed under key {}", ctx.key()).into());
        }
        let seq_state = opened(&self.seq)?;
        let seq = seq_state.value()?.unwrap_or(0) + 1;
        seq_state.update(seq)?;
        match command(v) {
            0 => {
                // Clear everything of this key.
                opened(&self.last)?.clear()?;
                opened(&self.recent)?.clear()?;
                opened(&self.buckets)?.clear()?;
                opened(&self.sum)?.clear()?;
                opened(&self.count_max)?.clear()?;
            }
            1 => {
                // Clear only the value state and the list.
                opened(&self.last)?.clear()?;
                opened(&self.recent)?.clear()?;
            }
            c => {
                opened(&self.last)?.update(v)?;
                let recent = opened(&self.recent)?;
                recent.add(v)?;
                let list = recent.get()?;
                if list.len() > 4 {
                    recent.update(list[list.len() - 2..].to_vec())?;
                }
                let buckets = opened(&self.buckets)?;
                let b = v % 5;
                if c % 7 == 0 {
                    buckets.remove(&b)?;
                } else {
                    let n = buckets.get(&b)?.unwrap_or(0);
                    buckets.put(b, n + 1)?;
                    if !buckets.contains(&b)? {
                        return Err("a put entry is missing".into());
                    }
                }
                opened(&self.sum)?.add(v)?;
                opened(&self.count_max)?.add(v)?;
            }
        }
        // One end-of-input timer per key (registered again on every record: kept once).
        ctx.register_event_time_timer(1_000_000);
        let snap = self.snapshot(k, seq)?;
        ctx.collect(snap);
        Ok(())
    }

    fn on_timer(
        &mut self,
        _at: i64,
        ctx: &mut KeyedContext<'_, u64, Snapshot>,
    ) -> Result<(), UserError> {
        let k = *ctx.key();
        let snap = self.snapshot(k, u64::MAX)?;
        ctx.collect(snap);
        Ok(())
    }
}

/// The same rules as [`AllStates`], one key at a time, written with plain collections.
#[derive(Default, Clone)]
struct RefState {
    seq: u64,
    last: Option<u64>,
    recent: Vec<u64>,
    buckets: BTreeMap<u64, u64>,
    sum: Option<u64>,
    count_max: Option<(u64, u64)>,
}

impl RefState {
    fn apply(&mut self, v: u64) {
        self.seq += 1;
        match command(v) {
            0 => {
                let seq = self.seq;
                *self = RefState {
                    seq,
                    ..Default::default()
                };
            }
            1 => {
                self.last = None;
                self.recent.clear();
            }
            c => {
                self.last = Some(v);
                self.recent.push(v);
                if self.recent.len() > 4 {
                    self.recent = self.recent[self.recent.len() - 2..].to_vec();
                }
                let b = v % 5;
                if c % 7 == 0 {
                    self.buckets.remove(&b);
                } else {
                    *self.buckets.entry(b).or_default() += 1;
                }
                self.sum = Some(self.sum.unwrap_or(0) + v);
                let (n, m) = self.count_max.unwrap_or((0, 0));
                self.count_max = Some((n + 1, m.max(v % SPAN)));
            }
        }
    }

    fn snapshot(&self, key: u64, seq: u64) -> Snapshot {
        (
            key,
            seq,
            self.last,
            self.recent.clone(),
            self.buckets.iter().map(|(a, b)| (*a, *b)).collect(),
            self.sum,
            self.count_max,
        )
    }
}

#[test]
fn every_state_kind_matches_a_sequential_replay_per_key() {
    let keys = 600u64;
    let mut s = 7u64;
    let mut counter: HashMap<u64, u64> = HashMap::new();
    let input: Vec<In> = (0..24_000)
        .map(|_| {
            let k = lcg(&mut s) % keys;
            let i = counter.entry(k).or_default();
            *i += 1;
            (k, k * SPAN + (*i * 31 + lcg(&mut s) % 17) % SPAN)
        })
        .collect();
    // The replay: the records of a key in input order.
    let mut states: BTreeMap<u64, RefState> = BTreeMap::new();
    let mut want: BTreeMap<u64, Vec<Snapshot>> = BTreeMap::new();
    for &(k, v) in &input {
        let st = states.entry(k).or_default();
        st.apply(v);
        want.entry(k).or_default().push(st.snapshot(k, st.seq));
    }
    for (k, st) in &states {
        want.get_mut(k).unwrap().push(st.snapshot(*k, u64::MAX));
    }

    let out = CollectHandle::<Snapshot>::new();
    let o = out.clone();
    let r = cluster(3)
        .execute("all-states", move |env: &mut StreamEnv| {
            // One source subtask: the records of a key reach their subtask in input order.
            env.from_collection(input.clone())
                .key_by(|r: &In| r.0)
                .process(AllStates::default())
                .set_parallelism(3)
                .name("All States")
                .collect(&o)
                .set_parallelism(3);
            Ok(())
        })
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(r.status, JobStatus::Finished);
    // Keys really spread over the three subtasks.
    let busy = r
        .tasks
        .iter()
        .filter(|(name, _, m)| name.contains("All States") && m.records_in > 1_000)
        .count();
    assert_eq!(busy, 3, "keys spread over 3 subtasks: {:?}", r.tasks);

    let mut got: BTreeMap<u64, Vec<Snapshot>> = BTreeMap::new();
    for snap in out.items() {
        got.entry(snap.0).or_default().push(snap);
    }
    assert_eq!(got.len(), want.len(), "keys");
    for (k, w) in &want {
        let g = &got[k];
        assert_eq!(
            g.len(),
            w.len(),
            "key {k}: one snapshot per record plus one timer"
        );
        if let Some(i) = (0..w.len()).find(|&i| g[i] != w[i]) {
            panic!(
                "key {k}: snapshot {i} differs\n got: {:?}\nwant: {:?}",
                g[i], w[i]
            );
        }
    }
}

/// Registers two states named `name` (of the kinds `first` and `second`).
#[derive(Clone)]
struct Duplicate {
    second: &'static str,
}

impl KeyedProcessFunction<u64, u64, u64> for Duplicate {
    fn open(&mut self, state: &mut KeyedStateStore<u64>) -> Result<(), UserError> {
        let _a: ValueState<u64, u64> = state.value_state("total")?;
        match self.second {
            "value" => {
                state.value_state::<u64>("total")?;
            }
            "list" => {
                state.list_state::<u64>("total")?;
            }
            "map" => {
                state.map_state::<u64, u64>("total")?;
            }
            "reducing" => {
                state.reducing_state::<u64>("total", |a, b| a + b)?;
            }
            _ => {
                state.aggregating_state("total", CountMax)?;
            }
        }
        Ok(())
    }
    fn process_element(
        &mut self,
        v: u64,
        ctx: &mut KeyedContext<'_, u64, u64>,
    ) -> Result<(), UserError> {
        ctx.collect(v);
        Ok(())
    }
}

#[test]
fn two_states_with_one_name_fail_the_job_with_the_state_error() {
    let c = cluster(3);
    let want = StateError::Duplicate("total".into()).to_string();
    for second in ["value", "list", "map", "reducing", "aggregating"] {
        let err = c
            .execute("duplicate-state", move |env: &mut StreamEnv| {
                env.from_sequence(0, 1_000)
                    .key_by(|x: &u64| x % 10)
                    .process(Duplicate { second })
                    .set_parallelism(3)
                    .name("Twice Named")
                    .discard();
                Ok(())
            })
            .unwrap()
            .wait()
            .unwrap_err();
        match &err {
            JobError::Failed { error, .. } => {
                assert_eq!(error.operator(), Some("Twice Named"), "{second}: {err}");
                assert_eq!(error.message(), want, "{second}: {err}");
            }
            other => panic!("{second}: expected a task failure, got {other}"),
        }
    }
    // The cluster still runs jobs.
    let out = CollectHandle::<u64>::new();
    let o = out.clone();
    c.execute("after", move |env: &mut StreamEnv| {
        env.from_sequence(0, 100)
            .key_by(|x: &u64| *x)
            .process(|x: u64, ctx: &mut KeyedContext<'_, u64, u64>| {
                ctx.collect(x);
                Ok(())
            })
            .collect(&o);
        Ok(())
    })
    .unwrap()
    .wait()
    .unwrap();
    assert_eq!(out.items().len(), 100);
}

/// The outcome of a state access.
type Access = Result<Option<u64>, StateError>;

/// Reads its state in `open`, where there is no current key: records what it got (or
/// fails with it when `propagate`), then counts per key as usual.
#[derive(Clone)]
struct ReadsInOpen {
    propagate: bool,
    seen: Arc<Mutex<Vec<Access>>>,
    count: Option<ValueState<u64, u64>>,
}

impl KeyedProcessFunction<u64, u64, (u64, u64)> for ReadsInOpen {
    fn open(&mut self, state: &mut KeyedStateStore<u64>) -> Result<(), UserError> {
        let count: ValueState<u64, u64> = state.value_state("count")?;
        let list: ListState<u64, u64> = state.list_state("list")?;
        self.seen.lock().unwrap().push(count.value());
        // Writes outside a keyed context fail too, and leave no entry behind.
        let w = list.add(1).and(count.update(5));
        self.seen.lock().unwrap().push(w.map(|_| None));
        if self.propagate {
            count.value()?;
        }
        self.count = Some(count);
        Ok(())
    }
    fn process_element(
        &mut self,
        x: u64,
        ctx: &mut KeyedContext<'_, u64, (u64, u64)>,
    ) -> Result<(), UserError> {
        let c = opened(&self.count)?;
        let n = c.value()?.unwrap_or(0) + 1;
        c.update(n)?;
        ctx.collect((x % 7, n));
        Ok(())
    }
}

#[test]
fn state_outside_a_keyed_call_is_a_no_key_error() {
    let c = cluster(3);
    // Not propagated: the job runs, and the counts start from zero (the write in open
    // reached no key).
    let seen = Arc::new(Mutex::new(Vec::new()));
    let out = CollectHandle::<(u64, u64)>::new();
    let (s, o) = (seen.clone(), out.clone());
    c.execute("state-in-open", move |env: &mut StreamEnv| {
        env.from_sequence(0, 700)
            .set_parallelism(1)
            .key_by(|x: &u64| x % 7)
            .process(ReadsInOpen {
                propagate: false,
                seen: s.clone(),
                count: None,
            })
            .set_parallelism(3)
            .collect(&o);
        Ok(())
    })
    .unwrap()
    .wait()
    .unwrap();
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    assert_eq!(seen.len(), 6, "open ran on 3 subtasks, two accesses each");
    for r in &seen {
        assert!(matches!(r, Err(StateError::NoKey(_))), "{r:?}");
    }
    assert_eq!(
        seen.iter()
            .filter(|r| **r == Err(StateError::NoKey("count".into())))
            .count(),
        3
    );
    let mut last: BTreeMap<u64, u64> = BTreeMap::new();
    for (k, n) in out.items() {
        let e = last.entry(k).or_default();
        assert_eq!(n, *e + 1, "key {k}: counts go 1, 2, 3, …");
        *e = n;
    }
    assert_eq!(last, (0..7).map(|k| (k, 100)).collect());

    // Propagated with `?`: the job fails with the NoKey message, not a panic.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let err = c
        .execute("state-in-open-fails", move |env: &mut StreamEnv| {
            env.from_sequence(0, 700)
                .key_by(|x: &u64| x % 7)
                .process(ReadsInOpen {
                    propagate: true,
                    seen: s.clone(),
                    count: None,
                })
                .set_parallelism(3)
                .name("Reads In Open")
                .discard();
            Ok(())
        })
        .unwrap()
        .wait()
        .unwrap_err();
    match &err {
        JobError::Failed { error, .. } => {
            assert_eq!(error.operator(), Some("Reads In Open"), "{err}");
            assert_eq!(
                error.message(),
                StateError::NoKey("count".into()).to_string(),
                "{err}"
            );
        }
        other => panic!("expected a task failure, got {other}"),
    }
    assert!(!err.to_string().contains("panicked"), "{err}");
}
