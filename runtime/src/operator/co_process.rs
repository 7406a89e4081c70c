//! Two-input operators (connect + co-process, joins): two typed inputs, one output.
//!
//! A two-input operator is reached through two [`Output`] adapters, one per input, sharing
//! the operator on the slot (`Rc<RefCell<..>>`). The operator's watermark is the minimum of
//! its two inputs' watermarks (an idle input does not count); it finishes when both inputs
//! have finished.

use super::basic::UserError;
use super::context::guarded;
use super::{Collector, Millis, Output};
use crate::error::{TaskError, TaskResult};
use std::cell::RefCell;
use std::rc::Rc;

/// An operator with two inputs.
pub trait TwoInputOperator<I1, I2, O: 'static>: 'static {
    /// A record on the first input.
    fn process1(
        &mut self,
        value: I1,
        timestamp: Option<Millis>,
        out: &mut dyn Output<O>,
    ) -> TaskResult;
    /// A record on the second input.
    fn process2(
        &mut self,
        value: I2,
        timestamp: Option<Millis>,
        out: &mut dyn Output<O>,
    ) -> TaskResult;
    /// The combined watermark advanced.
    fn watermark(&mut self, watermark: Millis, out: &mut dyn Output<O>) -> TaskResult {
        out.watermark(watermark)
    }
    /// Processing time advanced.
    fn processing_time(&mut self, now: Millis, out: &mut dyn Output<O>) -> TaskResult {
        out.processing_time(now)
    }
    /// Both inputs ended.
    fn finish(&mut self, out: &mut dyn Output<O>) -> TaskResult {
        out.finish()
    }
}

struct Shared<Op, O: 'static> {
    op: Op,
    out: Box<dyn Output<O>>,
    watermarks: [Millis; 2],
    idle: [bool; 2],
    emitted: Millis,
    finished: [bool; 2],
    all_idle: bool,
}

impl<Op, O: 'static> Shared<Op, O> {
    /// The minimum over active inputs; when both are idle, the larger of the two (as
    /// Flink's CombinedWatermarkStatus), so event time is not held back by idleness.
    fn combined(&self) -> Option<Millis> {
        if self.idle[0] && self.idle[1] {
            return self.watermarks.iter().copied().max();
        }
        (0..2)
            .filter(|i| !self.idle[*i])
            .map(|i| self.watermarks[i])
            .min()
    }
}

/// One input of a two-input operator.
pub struct TwoInputAdapter<Op, I1, I2, O: 'static, const N: usize> {
    shared: Rc<RefCell<Shared<Op, O>>>,
    _inputs: std::marker::PhantomData<fn(I1, I2)>,
}

/// Splits a two-input operator into its two inputs.
pub fn two_inputs<I1: 'static, I2: 'static, O: 'static, Op: TwoInputOperator<I1, I2, O>>(
    op: Op,
    out: Box<dyn Output<O>>,
) -> (Box<dyn Output<I1>>, Box<dyn Output<I2>>) {
    let shared = Rc::new(RefCell::new(Shared {
        op,
        out,
        watermarks: [Millis::MIN; 2],
        idle: [false; 2],
        emitted: Millis::MIN,
        finished: [false; 2],
        all_idle: false,
    }));
    (
        Box::new(TwoInputAdapter::<Op, I1, I2, O, 0> {
            shared: shared.clone(),
            _inputs: std::marker::PhantomData,
        }),
        Box::new(TwoInputAdapter::<Op, I1, I2, O, 1> {
            shared,
            _inputs: std::marker::PhantomData,
        }),
    )
}

macro_rules! adapter {
    ($n:literal, $input:ident, $other:ident, $process:ident) => {
        impl<I1: 'static, I2: 'static, O: 'static, Op: TwoInputOperator<I1, I2, O>> Output<$input>
            for TwoInputAdapter<Op, I1, I2, O, $n>
        {
            #[inline]
            fn emit(&mut self, value: $input, timestamp: Option<Millis>) -> TaskResult {
                let s = &mut *self.shared.borrow_mut();
                s.op.$process(value, timestamp, &mut *s.out)
            }
            fn watermark(&mut self, watermark: Millis) -> TaskResult {
                let s = &mut *self.shared.borrow_mut();
                s.watermarks[$n] = s.watermarks[$n].max(watermark);
                s.idle[$n] = false;
                advance(s)
            }
            fn processing_time(&mut self, now: Millis) -> TaskResult {
                // Both inputs' tasks are one task: only input 0 forwards the clock.
                if $n == 0 {
                    let s = &mut *self.shared.borrow_mut();
                    s.op.processing_time(now, &mut *s.out)
                } else {
                    Ok(())
                }
            }
            fn watermark_status(&mut self, idle: bool) -> TaskResult {
                let s = &mut *self.shared.borrow_mut();
                s.idle[$n] = idle;
                let all = s.idle[0] && s.idle[1];
                if all != s.all_idle {
                    s.all_idle = all;
                    s.out.watermark_status(all)?;
                }
                advance(s)
            }
            fn finish(&mut self) -> TaskResult {
                let s = &mut *self.shared.borrow_mut();
                s.finished[$n] = true;
                if s.finished[0] && s.finished[1] {
                    s.op.finish(&mut *s.out)
                } else {
                    Ok(())
                }
            }
        }
    };
}
adapter!(0, I1, I2, process1);
adapter!(1, I2, I1, process2);

fn advance<I1, I2, O: 'static, Op: TwoInputOperator<I1, I2, O>>(
    s: &mut Shared<Op, O>,
) -> TaskResult {
    match s.combined() {
        Some(w) if w > s.emitted => {
            s.emitted = w;
            s.op.watermark(w, &mut *s.out)
        }
        _ => Ok(()),
    }
}

/// Flink's CoProcessFunction (non-keyed): a function per input, one output.
pub trait CoProcessFunction<I1, I2, O: 'static>: 'static {
    /// A record on the first input.
    fn process_element1(&mut self, value: I1, out: &mut Collector<'_, O>) -> Result<(), UserError>;
    /// A record on the second input.
    fn process_element2(&mut self, value: I2, out: &mut Collector<'_, O>) -> Result<(), UserError>;
}

/// The operator behind `ConnectedStreams::process`.
pub struct CoProcess<F> {
    pub(crate) name: Rc<str>,
    pub(crate) f: F,
}

impl<I1: 'static, I2: 'static, O: 'static, F: CoProcessFunction<I1, I2, O>>
    TwoInputOperator<I1, I2, O> for CoProcess<F>
{
    fn process1(
        &mut self,
        value: I1,
        timestamp: Option<Millis>,
        out: &mut dyn Output<O>,
    ) -> TaskResult {
        let mut c = Collector::new(out, timestamp);
        let f = &mut self.f;
        let r = guarded(&self.name, || f.process_element1(value, &mut c))?;
        c.into_result()?;
        r.map_err(|e| TaskError::user(e).in_operator(&self.name))
    }
    fn process2(
        &mut self,
        value: I2,
        timestamp: Option<Millis>,
        out: &mut dyn Output<O>,
    ) -> TaskResult {
        let mut c = Collector::new(out, timestamp);
        let f = &mut self.f;
        let r = guarded(&self.name, || f.process_element2(value, &mut c))?;
        c.into_result()?;
        r.map_err(|e| TaskError::user(e).in_operator(&self.name))
    }
}
