//! Keyed process functions: user code with keyed state and event/processing-time timers.

use super::basic::{forward_lifecycle_no_watermark, UserError};
use super::context::guarded;
use super::{Millis, OperatorContext, Output};
use crate::error::{TaskError, TaskResult};
use crate::state::{Key, KeyContext, KeyedStateStore};
use crate::time::TimerQueue;
use std::rc::Rc;

/// Which clock fired a timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeDomain {
    /// Event time (watermarks).
    EventTime,
    /// Wall-clock time.
    ProcessingTime,
}

/// Flink's KeyedProcessFunction.
///
/// Closures `FnMut(I, &mut KeyedContext<K, O>) -> Result<(), UserError>` implement it with no
/// state and no timers callbacks.
pub trait KeyedProcessFunction<K: Key, I, O: 'static>: 'static {
    /// Called once per subtask before any record: create state handles here.
    fn open(&mut self, state: &mut KeyedStateStore<K>) -> Result<(), UserError> {
        let _ = state;
        Ok(())
    }
    /// Called for every record, with its key current.
    fn process_element(
        &mut self,
        value: I,
        ctx: &mut KeyedContext<'_, K, O>,
    ) -> Result<(), UserError>;
    /// Called when a timer registered by this function fires, with its key current.
    fn on_timer(
        &mut self,
        timestamp: Millis,
        ctx: &mut KeyedContext<'_, K, O>,
    ) -> Result<(), UserError> {
        let _ = (timestamp, ctx);
        Ok(())
    }
}

impl<K: Key, I, O: 'static, F> KeyedProcessFunction<K, I, O> for F
where
    F: FnMut(I, &mut KeyedContext<'_, K, O>) -> Result<(), UserError> + 'static,
{
    fn process_element(
        &mut self,
        value: I,
        ctx: &mut KeyedContext<'_, K, O>,
    ) -> Result<(), UserError> {
        self(value, ctx)
    }
}

/// Timers of one keyed operator, both domains.
pub struct Timers<K> {
    pub(crate) event: TimerQueue<K>,
    pub(crate) processing: TimerQueue<K>,
    pub(crate) watermark: Millis,
    pub(crate) time: Rc<super::TimeService>,
}

impl<K: Key> Timers<K> {
    pub(crate) fn new(time: Rc<super::TimeService>) -> Self {
        Timers {
            event: TimerQueue::default(),
            processing: TimerQueue::default(),
            watermark: Millis::MIN,
            time,
        }
    }
}

/// What a keyed function sees while it processes a record or a timer.
pub struct KeyedContext<'a, K, O: 'static> {
    pub(crate) key: &'a K,
    pub(crate) timestamp: Option<Millis>,
    pub(crate) domain: Option<TimeDomain>,
    pub(crate) timers: &'a mut Timers<K>,
    pub(crate) out: &'a mut dyn Output<O>,
    pub(crate) result: TaskResult,
}

impl<K: Key, O: 'static> KeyedContext<'_, K, O> {
    /// The current key.
    pub fn key(&self) -> &K {
        self.key
    }
    /// The event timestamp of the record (or the time of the firing timer).
    pub fn timestamp(&self) -> Option<Millis> {
        self.timestamp
    }
    /// In `on_timer`: which clock fired.
    pub fn time_domain(&self) -> Option<TimeDomain> {
        self.domain
    }
    /// The operator's current event time.
    pub fn current_watermark(&self) -> Millis {
        self.timers.watermark
    }
    /// Wall-clock time.
    pub fn current_processing_time(&self) -> Millis {
        self.timers.time.now()
    }
    /// Calls `on_timer` when the watermark passes `at` (for the current key).
    pub fn register_event_time_timer(&mut self, at: Millis) {
        self.timers.event.register(self.key.clone(), at);
    }
    /// Calls `on_timer` when wall-clock time reaches `at` (for the current key).
    pub fn register_processing_time_timer(&mut self, at: Millis) {
        self.timers.processing.register(self.key.clone(), at);
        self.timers.time.request(at);
    }
    /// Deletes an event-time timer of the current key.
    pub fn delete_event_time_timer(&mut self, at: Millis) {
        self.timers.event.delete(self.key, at);
    }
    /// Deletes a processing-time timer of the current key.
    pub fn delete_processing_time_timer(&mut self, at: Millis) {
        self.timers.processing.delete(self.key, at);
    }
    /// Emits a record with the current timestamp.
    pub fn collect(&mut self, value: O) {
        if self.result.is_ok() {
            self.result = self.out.emit(value, self.timestamp);
        }
    }
    /// Emits a record with an explicit timestamp.
    pub fn collect_with_timestamp(&mut self, value: O, timestamp: Millis) {
        if self.result.is_ok() {
            self.result = self.out.emit(value, Some(timestamp));
        }
    }
}

/// The operator behind `KeyedStream::process`.
pub struct KeyedProcess<K, I, O, KF, F> {
    name: Rc<str>,
    key_fn: KF,
    f: F,
    key: Rc<KeyContext<K>>,
    timers: Timers<K>,
    out: Box<dyn Output<O>>,
    _i: std::marker::PhantomData<fn(I)>,
}

impl<K, I, O, KF, F> KeyedProcess<K, I, O, KF, F>
where
    K: Key,
    I: 'static,
    O: 'static,
    KF: Fn(&I) -> K + 'static,
    F: KeyedProcessFunction<K, I, O>,
{
    pub(crate) fn new(
        ctx: &OperatorContext,
        key_fn: KF,
        mut f: F,
        out: Box<dyn Output<O>>,
    ) -> TaskResult<Self> {
        let key = KeyContext::new();
        let mut store = KeyedStateStore::new(key.clone());
        guarded(&ctx.name, || f.open(&mut store))?
            .map_err(|e| TaskError::user(e).in_operator(&ctx.name))?;
        Ok(KeyedProcess {
            name: ctx.name.clone(),
            key_fn,
            f,
            key,
            timers: Timers::new(ctx.time.clone()),
            out,
            _i: std::marker::PhantomData,
        })
    }

    fn fire(&mut self, domain: TimeDomain, until: Millis) -> TaskResult {
        let f = &mut self.f;
        fire_timers(
            &self.name,
            &self.key,
            &mut self.timers,
            domain,
            until,
            &mut *self.out,
            |at, ctx| f.on_timer(at, ctx),
        )
    }
}

/// Fires the timers of `domain` due by `until`, each with its key current, calling
/// `on_timer`; then asks the time service for the next processing-time wake-up.
pub(crate) fn fire_timers<K: Key, O: 'static>(
    name: &str,
    key: &KeyContext<K>,
    timers: &mut Timers<K>,
    domain: TimeDomain,
    until: Millis,
    out: &mut dyn Output<O>,
    mut on_timer: impl FnMut(Millis, &mut KeyedContext<'_, K, O>) -> Result<(), UserError>,
) -> TaskResult {
    loop {
        let queue = match domain {
            TimeDomain::EventTime => &mut timers.event,
            TimeDomain::ProcessingTime => &mut timers.processing,
        };
        let Some((at, k)) = queue.pop_due(until) else {
            break;
        };
        key.set(k.clone());
        let mut ctx = KeyedContext {
            key: &k,
            timestamp: Some(at),
            domain: Some(domain),
            timers: &mut *timers,
            out: &mut *out,
            result: Ok(()),
        };
        let r = guarded(name, || on_timer(at, &mut ctx))?;
        ctx.result?;
        r.map_err(|e| TaskError::user(e).in_operator(name))?;
    }
    key.clear();
    if let Some(next) = timers.processing.next() {
        timers.time.request(next);
    }
    Ok(())
}

impl<K, I, O, KF, F> Output<I> for KeyedProcess<K, I, O, KF, F>
where
    K: Key,
    I: 'static,
    O: 'static,
    KF: Fn(&I) -> K + 'static,
    F: KeyedProcessFunction<K, I, O>,
{
    fn emit(&mut self, value: I, timestamp: Option<Millis>) -> TaskResult {
        let k = guarded(&self.name, || (self.key_fn)(&value))?;
        self.key.set(k.clone());
        let mut ctx = KeyedContext {
            key: &k,
            timestamp,
            domain: None,
            timers: &mut self.timers,
            out: &mut *self.out,
            result: Ok(()),
        };
        let f = &mut self.f;
        let r = guarded(&self.name, || f.process_element(value, &mut ctx))?;
        ctx.result?;
        r.map_err(|e| TaskError::user(e).in_operator(&self.name))
    }

    fn watermark(&mut self, watermark: Millis) -> TaskResult {
        self.timers.watermark = watermark;
        self.fire(TimeDomain::EventTime, watermark)?;
        self.out.watermark(watermark)
    }

    fn processing_time(&mut self, now: Millis) -> TaskResult {
        self.fire(TimeDomain::ProcessingTime, now)?;
        self.out.processing_time(now)
    }

    forward_lifecycle_no_watermark!();
}
