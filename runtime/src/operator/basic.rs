//! Stateless one-input operators: map, filter, flat_map and their fallible forms.

use super::context::guarded;
use super::{Collector, Millis, Output};
use crate::error::{TaskError, TaskResult};
use std::rc::Rc;

/// An error returned by a user function.
pub type UserError = Box<dyn std::error::Error + Send + Sync>;

macro_rules! forward_lifecycle {
    () => {
        fn watermark(&mut self, watermark: Millis) -> TaskResult {
            self.out.watermark(watermark)
        }
        fn processing_time(&mut self, now: Millis) -> TaskResult {
            self.out.processing_time(now)
        }
        fn watermark_status(&mut self, idle: bool) -> TaskResult {
            self.out.watermark_status(idle)
        }
        fn finish(&mut self) -> TaskResult {
            self.out.finish()
        }
    };
}
pub(crate) use forward_lifecycle;

/// Forwards `watermark_status` and `finish` (for operators that handle watermarks and
/// processing time themselves).
macro_rules! forward_lifecycle_no_watermark {
    () => {
        fn watermark_status(&mut self, idle: bool) -> TaskResult {
            self.out.watermark_status(idle)
        }
        fn finish(&mut self) -> TaskResult {
            self.out.finish()
        }
    };
}
pub(crate) use forward_lifecycle_no_watermark;

/// `map`: one record in, one out.
pub struct Map<F, O> {
    pub(crate) name: Rc<str>,
    pub(crate) f: F,
    pub(crate) out: Box<dyn Output<O>>,
    /// The mapped records of a batch (reused).
    pub(crate) mapped: Vec<O>,
}

impl<I: 'static, O: 'static, F: FnMut(I) -> O + 'static> Output<I> for Map<F, O> {
    #[inline]
    fn emit(&mut self, value: I, timestamp: Option<Millis>) -> TaskResult {
        let v = guarded(&self.name, || (self.f)(value))?;
        self.out.emit(v, timestamp)
    }
    fn emit_batch(&mut self, batch: &mut Vec<I>, timestamp: Option<Millis>) -> TaskResult {
        let (f, mapped) = (&mut self.f, &mut self.mapped);
        guarded(&self.name, || mapped.extend(batch.drain(..).map(f)))?;
        let r = self.out.emit_batch(&mut self.mapped, timestamp);
        self.mapped.clear();
        r
    }
    forward_lifecycle!();
}

/// `try_map`: a map whose function may fail the job with an error.
pub struct TryMap<F, O> {
    pub(crate) name: Rc<str>,
    pub(crate) f: F,
    pub(crate) out: Box<dyn Output<O>>,
}

impl<I: 'static, O: 'static, F: FnMut(I) -> Result<O, UserError> + 'static> Output<I>
    for TryMap<F, O>
{
    #[inline]
    fn emit(&mut self, value: I, timestamp: Option<Millis>) -> TaskResult {
        match guarded(&self.name, || (self.f)(value))? {
            Ok(v) => self.out.emit(v, timestamp),
            Err(e) => Err(TaskError::user(e).in_operator(&self.name)),
        }
    }
    forward_lifecycle!();
}

/// `filter`: keeps the records for which the predicate holds.
pub struct Filter<F, T> {
    pub(crate) name: Rc<str>,
    pub(crate) f: F,
    pub(crate) out: Box<dyn Output<T>>,
}

impl<T: 'static, F: FnMut(&T) -> bool + 'static> Output<T> for Filter<F, T> {
    #[inline]
    fn emit(&mut self, value: T, timestamp: Option<Millis>) -> TaskResult {
        if guarded(&self.name, || (self.f)(&value))? {
            self.out.emit(value, timestamp)
        } else {
            Ok(())
        }
    }
    fn emit_batch(&mut self, batch: &mut Vec<T>, timestamp: Option<Millis>) -> TaskResult {
        let f = &mut self.f;
        guarded(&self.name, || batch.retain(|v| f(v)))?;
        self.out.emit_batch(batch, timestamp)
    }
    forward_lifecycle!();
}

/// `flat_map`: any number of records out per record in, through a [`Collector`].
pub struct FlatMap<F, O> {
    pub(crate) name: Rc<str>,
    pub(crate) f: F,
    pub(crate) out: Box<dyn Output<O>>,
}

impl<I: 'static, O: 'static, F: FnMut(I, &mut Collector<'_, O>) + 'static> Output<I>
    for FlatMap<F, O>
{
    #[inline]
    fn emit(&mut self, value: I, timestamp: Option<Millis>) -> TaskResult {
        let mut c = Collector::new(&mut *self.out, timestamp);
        let f = &mut self.f;
        guarded(&self.name, || f(value, &mut c))?;
        c.into_result()
    }
    forward_lifecycle!();
}
