//! The core of the window operators: assigns records to windows, fires them as time passes,
//! clears them.
//!
//! [`WindowCore`] holds the windows of one subtask and is driven by records, watermarks and
//! processing time; it writes results to the output it is given, so the one-input
//! [`WindowOperator`](super::operator::WindowOperator) and the two-input window join share
//! it.
//!
//! Timers (per key and window, Flink's EventTimeTrigger / ProcessingTimeTrigger):
//! - a *fire* timer at the window's max timestamp, registered when the window gets its
//!   first record, if that time has not passed yet;
//! - a *cleanup* timer at the cleanup time (event time: max timestamp + allowed lateness;
//!   processing time: the max timestamp), always registered.
//!
//! A record is late for a window when the window's cleanup time has passed (≤ watermark);
//! a record late for every window it belongs to goes to the late side output (or is
//! dropped and counted). A record added to a window whose max timestamp has passed (but
//! not its cleanup time) fires the window again at once with the updated contents.
//!
//! At the end of a bounded input the event-time windows have fired (the runtime sends the
//! final watermark first) and the still-open processing-time windows fire, so no record is
//! silently lost. (Flink drops pending processing-time timers at end of input.)

use super::function::{WindowContents, WindowContext};
use super::merging::SessionSet;
use super::store::WindowStore;
use super::{TimeWindow, WindowAssigner};
use crate::error::{Retry, TaskError, TaskResult};
use crate::operator::context::{guarded, guarded_unless};
use crate::operator::{Collector, Millis, Output, TimeService};
use crate::state::Key;
use crate::time::TimerQueue;
use rustc_hash::FxHashMap;
use std::rc::Rc;

fn user<R>(operator: &str, r: Result<R, crate::operator::basic::UserError>) -> TaskResult<R> {
    r.map_err(|e| TaskError::user(e).in_operator(operator))
}

/// The value for one more window: a clone, or the value itself for the last window.
fn take_or_clone<I: Clone>(value: &mut Option<I>, last: bool) -> Option<I> {
    if last {
        value.take()
    } else {
        value.clone()
    }
}

/// The windows of one subtask of a window operator (per-slot).
pub(crate) struct WindowCore<K, I, O: 'static, KF, C: WindowContents<K, I, O>> {
    pub(crate) name: Rc<str>,
    pub(crate) key_fn: KF,
    pub(crate) assigner: WindowAssigner,
    pub(crate) lateness: Millis,
    pub(crate) contents: C,
    windows: WindowStore<K, C::Acc>,
    sessions: FxHashMap<K, SessionSet>,
    event_timers: TimerQueue<(K, TimeWindow)>,
    processing_timers: TimerQueue<(K, TimeWindow)>,
    watermark: Millis,
    time: Rc<TimeService>,
    scratch: Vec<TimeWindow>,
    /// The windows a record created (reused by `add_to_windows`).
    created: Vec<TimeWindow>,
    /// The keys a batch created in its window (reused by `add_batch_to_window`).
    created_keys: Vec<K>,
    /// Late records dropped because no late side output was set.
    pub(crate) late_dropped: u64,
    /// A batch is being added under one guard: user calls need none of their own.
    pub(crate) guard_held: bool,
    _io: std::marker::PhantomData<fn(I) -> O>,
}

impl<K, I, O, KF, C> WindowCore<K, I, O, KF, C>
where
    K: Key,
    I: Clone + 'static,
    O: 'static,
    KF: Fn(&I) -> K + 'static,
    C: WindowContents<K, I, O>,
{
    pub(crate) fn new(
        name: Rc<str>,
        key_fn: KF,
        assigner: WindowAssigner,
        lateness: Millis,
        contents: C,
        time: Rc<TimeService>,
    ) -> Self {
        WindowCore {
            name,
            key_fn,
            assigner,
            lateness: if assigner.is_event_time() {
                lateness.max(0)
            } else {
                0
            },
            contents,
            windows: WindowStore::for_assigner(&assigner),
            sessions: FxHashMap::default(),
            // Tumbling and sliding windows register a window's timers once, when the window
            // is created, and never delete them: no set of pending timers is needed.
            // Sessions may register the same window again as they merge.
            event_timers: Self::timers(assigner),
            processing_timers: Self::timers(assigner),
            watermark: Millis::MIN,
            time,
            scratch: Vec::new(),
            created: Vec::new(),
            created_keys: Vec::new(),
            late_dropped: 0,
            guard_held: false,
            _io: std::marker::PhantomData,
        }
    }

    /// A timer queue for windows of `assigner` (see the comment in [`WindowCore::new`]).
    fn timers(assigner: WindowAssigner) -> TimerQueue<(K, TimeWindow)> {
        if assigner.is_merging() {
            TimerQueue::default()
        } else {
            TimerQueue::unique()
        }
    }

    fn cleanup_time(&self, w: &TimeWindow) -> Millis {
        w.max_timestamp().saturating_add(self.lateness)
    }

    fn is_late(&self, w: &TimeWindow) -> bool {
        self.assigner.is_event_time() && self.cleanup_time(w) <= self.watermark
    }

    /// The time that assigns a record to windows: its timestamp (event time) or now.
    fn time_of(&self, timestamp: Option<Millis>) -> TaskResult<Millis> {
        if !self.assigner.is_event_time() {
            return Ok(self.time.now());
        }
        timestamp.ok_or_else(|| {
            TaskError::new(
                format!(
                    "window operator '{}' got a record without a timestamp; event-time windows need assign_timestamps_and_watermarks() upstream",
                    self.name
                ),
                Retry::Never,
            )
        })
    }

    /// Adds a batch of records that share `timestamp`, in order. Without merging, their
    /// windows are assigned once for the whole batch (the watermark cannot move within
    /// it); sessions take the records one by one. Late records go to `late`, or are
    /// counted as dropped.
    pub(crate) fn elements(
        &mut self,
        batch: &mut Vec<I>,
        timestamp: Option<Millis>,
        out: &mut dyn Output<O>,
        late: &mut Option<Box<dyn Output<I>>>,
    ) -> TaskResult {
        if self.assigner.is_merging() {
            for value in batch.drain(..) {
                if let Some((v, ts)) = self.element(value, timestamp, out)? {
                    self.late_record(v, ts, late)?;
                }
            }
            return Ok(());
        }
        let ts = self.time_of(timestamp)?;
        let mut windows = std::mem::take(&mut self.scratch);
        windows.clear();
        self.assigner.assign(ts, &mut windows);
        windows.retain(|w| !self.is_late(w));
        let r = self.add_all(batch, ts, &windows, out, late);
        self.scratch = windows;
        r
    }

    fn add_all(
        &mut self,
        batch: &mut Vec<I>,
        ts: Millis,
        windows: &[TimeWindow],
        out: &mut dyn Output<O>,
        late: &mut Option<Box<dyn Output<I>>>,
    ) -> TaskResult {
        if windows.is_empty() {
            let element_late = ts.saturating_add(self.lateness) <= self.watermark;
            for value in batch.drain(..) {
                if element_late {
                    self.late_record(value, ts, late)?;
                } else {
                    self.late_dropped += 1;
                }
            }
            return Ok(());
        }
        if let [w] = windows {
            let fires_at_once =
                self.assigner.is_event_time() && w.max_timestamp() <= self.watermark;
            if !fires_at_once && matches!(self.windows, WindowStore::ByWindow(_)) {
                return self.add_batch_to_window(batch, *w);
            }
        }
        for value in batch.drain(..) {
            let key = guarded_unless(self.guard_held, &self.name, || (self.key_fn)(&value))?;
            self.add_to_windows(&key, windows, value, out)?;
        }
        Ok(())
    }

    /// Adds a batch to the one window all its records fall into, in the window-major layout:
    /// the window's key table is found once, then each record costs one probe of it. New
    /// keys get their timers after the batch. The window has not fired yet (the caller
    /// checks), so nothing fires here.
    fn add_batch_to_window(&mut self, batch: &mut Vec<I>, w: TimeWindow) -> TaskResult {
        let WindowStore::ByWindow(store) = &mut self.windows else {
            return Ok(());
        };
        if batch.is_empty() {
            // A window is made live only with a key in it (an empty one would never leave).
            return Ok(());
        }
        let mut created = std::mem::take(&mut self.created_keys);
        created.clear();
        let table = store.table_mut(w);
        let (name, guard, contents, key_fn) = (
            &self.name,
            self.guard_held,
            &mut self.contents,
            &self.key_fn,
        );
        for value in batch.drain(..) {
            let key = guarded_unless(guard, name, || key_fn(&value))?;
            let new_key = table.upsert(key, |acc| match acc {
                Some(acc) => {
                    user(
                        name,
                        guarded_unless(guard, name, || contents.add(acc, value))?,
                    )?;
                    Ok::<_, TaskError>(None)
                }
                None => Ok(Some(user(
                    name,
                    guarded_unless(guard, name, || contents.create(value))?,
                )?)),
            })?;
            if let Some(k) = new_key {
                created.push(k.clone());
            }
        }
        for key in &created {
            self.register_timers(key, w);
        }
        self.created_keys = created;
        Ok(())
    }

    /// Adds `value` to each of its (tumbling or sliding) `windows`, which are not empty and
    /// not late: the key's windows are found with one lookup, new windows get their timers,
    /// and windows the watermark has passed (within the allowed lateness) fire at once.
    fn add_to_windows(
        &mut self,
        key: &K,
        windows: &[TimeWindow],
        value: I,
        out: &mut dyn Output<O>,
    ) -> TaskResult {
        let mut created = std::mem::take(&mut self.created);
        created.clear();
        let (name, guard, contents) = (&self.name, self.guard_held, &mut self.contents);
        let mut value = Some(value);
        let mut slots = self.windows.key_windows(key);
        for (i, w) in windows.iter().enumerate() {
            let Some(v) = take_or_clone(&mut value, i + 1 == windows.len()) else {
                break;
            };
            match slots.get_mut(w) {
                Some(acc) => user(name, guarded_unless(guard, name, || contents.add(acc, v))?)?,
                None => {
                    let acc = user(name, guarded_unless(guard, name, || contents.create(v))?)?;
                    slots.insert(*w, acc);
                    created.push(*w);
                }
            }
        }
        for w in &created {
            self.register_timers(key, *w);
        }
        self.created = created;
        if self.assigner.is_event_time() {
            let watermark = self.watermark;
            for w in windows.iter().filter(|w| w.max_timestamp() <= watermark) {
                self.fire(key, *w, out)?;
            }
        }
        Ok(())
    }

    /// A record late for all its windows: to the late side output, or counted.
    fn late_record(
        &mut self,
        value: I,
        ts: Millis,
        late: &mut Option<Box<dyn Output<I>>>,
    ) -> TaskResult {
        match late {
            Some(late) => late.emit(value, Some(ts)),
            None => {
                self.late_dropped += 1;
                Ok(())
            }
        }
    }

    /// Adds a record to its windows. Returns it, with its timestamp, if it is late for all
    /// of them (the caller sends it to the late side output).
    pub(crate) fn element(
        &mut self,
        value: I,
        timestamp: Option<Millis>,
        out: &mut dyn Output<O>,
    ) -> TaskResult<Option<(I, Millis)>> {
        let ts = self.time_of(timestamp)?;
        let key = guarded_unless(self.guard_held, &self.name, || (self.key_fn)(&value))?;
        let mut windows = std::mem::take(&mut self.scratch);
        windows.clear();
        self.assigner.assign(ts, &mut windows);
        let merging = self.assigner.is_merging();
        windows.retain(|w| {
            !self.is_late(w)
                || (merging && self.sessions.get(&key).is_some_and(|s| s.intersects_any(w)))
        });
        let late = if windows.is_empty() {
            Some((value, ts))
        } else if merging {
            let last = windows.len() - 1;
            for w in &windows[..last] {
                self.add_merging(&key, *w, value.clone(), out)?;
            }
            self.add_merging(&key, windows[last], value, out)?;
            None
        } else {
            self.add_to_windows(&key, &windows, value, out)?;
            None
        };
        self.scratch = windows;
        Ok(late.filter(|(_, ts)| {
            let element_late = ts.saturating_add(self.lateness) <= self.watermark;
            if !element_late {
                // Only merging can leave a not-late record without a window; Flink drops it.
                self.late_dropped += 1;
            }
            element_late
        }))
    }

    /// Adds `value` to session window `w` of `key`, merged with the key's sessions it
    /// overlaps, and fires the result at once if the watermark has passed it.
    fn add_merging(
        &mut self,
        key: &K,
        w: TimeWindow,
        value: I,
        out: &mut dyn Output<O>,
    ) -> TaskResult {
        let w = self.add_to_session(key, w, value)?;
        if self.assigner.is_event_time() && w.max_timestamp() <= self.watermark {
            self.fire(key, w, out)?;
        }
        Ok(())
    }

    /// Merges `w` into the key's sessions and adds `value`; returns the resulting window.
    fn add_to_session(&mut self, key: &K, w: TimeWindow, value: I) -> TaskResult<TimeWindow> {
        let (merged, absorbed) = self.sessions.entry(key.clone()).or_default().add(w);
        let mut acc: Option<C::Acc> = None;
        for a in absorbed {
            self.delete_timers(key, a);
            let Some(x) = self.windows.remove(key, &a) else {
                continue;
            };
            acc = Some(match acc {
                None => x,
                Some(mut m) => {
                    let contents = &mut self.contents;
                    let r =
                        guarded_unless(self.guard_held, &self.name, || contents.merge(&mut m, x))?;
                    user(&self.name, r)?;
                    m
                }
            });
        }
        let contents = &mut self.contents;
        let acc = match acc {
            Some(mut m) => {
                let r =
                    guarded_unless(self.guard_held, &self.name, || contents.add(&mut m, value))?;
                user(&self.name, r)?;
                m
            }
            None => {
                let r = guarded_unless(self.guard_held, &self.name, || contents.create(value))?;
                user(&self.name, r)?
            }
        };
        self.windows.insert(key, merged, acc);
        self.register_timers(key, merged);
        Ok(merged)
    }

    fn register_timers(&mut self, key: &K, w: TimeWindow) {
        let fire = w.max_timestamp();
        if self.assigner.is_event_time() {
            if fire > self.watermark {
                self.event_timers.register((key.clone(), w), fire);
            }
            let cleanup = self.cleanup_time(&w);
            if cleanup != fire {
                self.event_timers.register((key.clone(), w), cleanup);
            }
        } else {
            self.processing_timers.register((key.clone(), w), fire);
            self.time.request(fire.saturating_add(1));
        }
    }

    fn delete_timers(&mut self, key: &K, w: TimeWindow) {
        let kw = (key.clone(), w);
        if self.assigner.is_event_time() {
            self.event_timers.delete(&kw, w.max_timestamp());
            self.event_timers.delete(&kw, self.cleanup_time(&w));
        } else {
            self.processing_timers.delete(&kw, w.max_timestamp());
        }
    }

    /// Emits the results of one window.
    fn fire(&mut self, key: &K, w: TimeWindow, out: &mut dyn Output<O>) -> TaskResult {
        let ctx = self.context(w);
        let Some(acc) = self.windows.get(key, &w) else {
            return Ok(());
        };
        Self::emit_window(&self.name, &mut self.contents, key, &ctx, acc, out)
    }

    /// What a window function sees of window `w` now.
    fn context(&self, w: TimeWindow) -> WindowContext {
        WindowContext {
            window: w,
            watermark: self.watermark,
            processing_time: self.time.now(),
        }
    }

    /// Emits the results of the window in `ctx` from its contents `acc`.
    fn emit_window(
        name: &Rc<str>,
        contents: &mut C,
        key: &K,
        ctx: &WindowContext,
        acc: &C::Acc,
        out: &mut dyn Output<O>,
    ) -> TaskResult {
        let mut c = Collector::new(out, Some(ctx.window().max_timestamp()));
        let r = guarded(name, || contents.emit(key, ctx, acc, &mut c))?;
        c.into_result()?;
        user(name, r)
    }

    fn on_timer(
        &mut self,
        at: Millis,
        key: K,
        w: TimeWindow,
        out: &mut dyn Output<O>,
    ) -> TaskResult {
        let cleanup = if self.assigner.is_event_time() {
            self.cleanup_time(&w)
        } else {
            w.max_timestamp()
        };
        if at == w.max_timestamp() && at == cleanup {
            // Fire and purge (no allowed lateness): one lookup takes the contents out.
            if let Some(acc) = self.windows.remove(&key, &w) {
                let ctx = self.context(w);
                Self::emit_window(&self.name, &mut self.contents, &key, &ctx, &acc, out)?;
            }
        } else if at == w.max_timestamp() {
            self.fire(&key, w, out)?;
        }
        if at == cleanup {
            self.windows.remove(&key, &w);
            if let Some(s) = self.sessions.get_mut(&key) {
                s.remove(&w);
                if s.is_empty() {
                    self.sessions.remove(&key);
                }
            }
        }
        Ok(())
    }

    /// Event time advanced: fire and clean up what is due.
    pub(crate) fn advance_watermark(
        &mut self,
        watermark: Millis,
        out: &mut dyn Output<O>,
    ) -> TaskResult {
        self.watermark = self.watermark.max(watermark);
        while let Some((at, (key, w))) = self.event_timers.pop_due(self.watermark) {
            self.on_timer(at, key, w, out)?;
        }
        Ok(())
    }

    /// Processing time advanced: fire and clean up what is due, ask for the next wake-up.
    pub(crate) fn advance_processing_time(
        &mut self,
        now: Millis,
        out: &mut dyn Output<O>,
    ) -> TaskResult {
        // As Flink's processing-time service, fire only once the clock is past the window's
        // max timestamp: until then a record may still be assigned to the window.
        while let Some((at, (key, w))) = self.processing_timers.pop_due(now.saturating_sub(1)) {
            self.on_timer(at, key, w, out)?;
        }
        if let Some(next) = self.processing_timers.next() {
            self.time.request(next.saturating_add(1));
        }
        Ok(())
    }

    /// End of input: fire the processing-time windows still open.
    pub(crate) fn finish(&mut self, out: &mut dyn Output<O>) -> TaskResult {
        self.advance_processing_time(Millis::MAX, out)?;
        if self.late_dropped > 0 {
            tracing::info!(
                operator = %self.name,
                dropped = self.late_dropped,
                "window operator dropped late records (set side_output_late_data to keep them)"
            );
        }
        Ok(())
    }
}
