//! Keyed co-process functions: two keyed inputs sharing keyed state and timers
//! (Flink's `keyedA.connect(keyedB).process(KeyedCoProcessFunction)`).
//!
//! Both inputs are partitioned by the same key type, so all records of a key — from either
//! input — reach one subtask, where they see the same state and timers.

use super::basic::UserError;
use super::co_process::TwoInputOperator;
use super::context::guarded;
use super::keyed_process::{fire_timers, KeyedContext, TimeDomain, Timers};
use super::{Millis, OperatorContext, Output};
use crate::error::{TaskError, TaskResult};
use crate::state::{Key, KeyContext, KeyedStateStore};
use std::rc::Rc;

/// Flink's KeyedCoProcessFunction.
pub trait KeyedCoProcessFunction<K: Key, I1, I2, O: 'static>: 'static {
    /// Called once per subtask before any record: create state handles here.
    fn open(&mut self, state: &mut KeyedStateStore<K>) -> Result<(), UserError> {
        let _ = state;
        Ok(())
    }
    /// A record of the first input, with its key current.
    fn process_element1(
        &mut self,
        value: I1,
        ctx: &mut KeyedContext<'_, K, O>,
    ) -> Result<(), UserError>;
    /// A record of the second input, with its key current.
    fn process_element2(
        &mut self,
        value: I2,
        ctx: &mut KeyedContext<'_, K, O>,
    ) -> Result<(), UserError>;
    /// A timer registered by this function fired, with its key current.
    fn on_timer(
        &mut self,
        timestamp: Millis,
        ctx: &mut KeyedContext<'_, K, O>,
    ) -> Result<(), UserError> {
        let _ = (timestamp, ctx);
        Ok(())
    }
}

/// The operator behind `KeyedConnectedStreams::process`.
pub(crate) struct KeyedCoProcess<K, I1, I2, F> {
    name: Rc<str>,
    key1: Rc<dyn Fn(&I1) -> K>,
    key2: Rc<dyn Fn(&I2) -> K>,
    f: F,
    key: Rc<KeyContext<K>>,
    timers: Timers<K>,
}

impl<K: Key, I1: 'static, I2: 'static, F> KeyedCoProcess<K, I1, I2, F> {
    pub(crate) fn new<O: 'static>(
        ctx: &OperatorContext,
        key1: Rc<dyn Fn(&I1) -> K>,
        key2: Rc<dyn Fn(&I2) -> K>,
        mut f: F,
    ) -> TaskResult<Self>
    where
        F: KeyedCoProcessFunction<K, I1, I2, O>,
    {
        let key = KeyContext::new();
        let mut store = KeyedStateStore::new(key.clone());
        guarded(&ctx.name, || f.open(&mut store))?
            .map_err(|e| TaskError::user(e).in_operator(&ctx.name))?;
        Ok(KeyedCoProcess {
            name: ctx.name.clone(),
            key1,
            key2,
            f,
            key,
            timers: Timers::new(ctx.time.clone()),
        })
    }

    fn call<O: 'static>(
        &mut self,
        k: K,
        timestamp: Option<Millis>,
        out: &mut dyn Output<O>,
        call: impl FnOnce(&mut F, &mut KeyedContext<'_, K, O>) -> Result<(), UserError>,
    ) -> TaskResult {
        self.key.set(k.clone());
        let mut ctx = KeyedContext {
            key: &k,
            timestamp,
            domain: None,
            timers: &mut self.timers,
            out,
            result: Ok(()),
        };
        let f = &mut self.f;
        let r = guarded(&self.name, || call(f, &mut ctx))?;
        ctx.result?;
        r.map_err(|e| TaskError::user(e).in_operator(&self.name))
    }
}

impl<K, I1, I2, O, F> TwoInputOperator<I1, I2, O> for KeyedCoProcess<K, I1, I2, F>
where
    K: Key,
    I1: 'static,
    I2: 'static,
    O: 'static,
    F: KeyedCoProcessFunction<K, I1, I2, O>,
{
    fn process1(
        &mut self,
        value: I1,
        timestamp: Option<Millis>,
        out: &mut dyn Output<O>,
    ) -> TaskResult {
        let k = guarded(&self.name, || (self.key1)(&value))?;
        self.call(k, timestamp, out, |f, ctx| f.process_element1(value, ctx))
    }

    fn process2(
        &mut self,
        value: I2,
        timestamp: Option<Millis>,
        out: &mut dyn Output<O>,
    ) -> TaskResult {
        let k = guarded(&self.name, || (self.key2)(&value))?;
        self.call(k, timestamp, out, |f, ctx| f.process_element2(value, ctx))
    }

    fn watermark(&mut self, watermark: Millis, out: &mut dyn Output<O>) -> TaskResult {
        self.timers.watermark = watermark;
        let f = &mut self.f;
        fire_timers(
            &self.name,
            &self.key,
            &mut self.timers,
            TimeDomain::EventTime,
            watermark,
            out,
            |at, ctx| f.on_timer(at, ctx),
        )?;
        out.watermark(watermark)
    }

    fn processing_time(&mut self, now: Millis, out: &mut dyn Output<O>) -> TaskResult {
        let f = &mut self.f;
        fire_timers(
            &self.name,
            &self.key,
            &mut self.timers,
            TimeDomain::ProcessingTime,
            now,
            out,
            |at, ctx| f.on_timer(at, ctx),
        )?;
        out.processing_time(now)
    }
}
