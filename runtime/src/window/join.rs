//! Window join: the records of two keyed streams that share a key and a window, paired.
//!
//! As in Flink (where a window join is a co-group over the union of both inputs), both
//! inputs feed one [`WindowCore`] as [`Either`] records; a window keeps the records of each
//! side and, when it fires, the join function runs on every pair (an inner join: a window
//! with records on one side only emits nothing).

use super::core::WindowCore;
use super::function::{WindowContents, WindowContext};
use crate::error::TaskResult;
use crate::operator::basic::UserError;
use crate::operator::co_process::TwoInputOperator;
use crate::operator::{Collector, Millis, Output};
use crate::state::Key;

/// A record of either join input.
#[derive(Debug, Clone)]
pub(crate) enum Either<A, B> {
    Left(A),
    Right(B),
}

/// A window's records of both sides, and the join function.
pub(crate) struct JoinContents<F> {
    pub(crate) join: F,
}

impl<K, A, B, O, F> WindowContents<K, Either<A, B>, O> for JoinContents<F>
where
    A: 'static,
    B: 'static,
    O: 'static,
    F: FnMut(&A, &B) -> O + 'static,
{
    type Acc = (Vec<A>, Vec<B>);

    fn create(&mut self, value: Either<A, B>) -> Result<Self::Acc, UserError> {
        Ok(match value {
            Either::Left(a) => (vec![a], Vec::new()),
            Either::Right(b) => (Vec::new(), vec![b]),
        })
    }

    fn add(&mut self, acc: &mut Self::Acc, value: Either<A, B>) -> Result<(), UserError> {
        match value {
            Either::Left(a) => acc.0.push(a),
            Either::Right(b) => acc.1.push(b),
        }
        Ok(())
    }

    fn merge(&mut self, into: &mut Self::Acc, other: Self::Acc) -> Result<(), UserError> {
        into.0.extend(other.0);
        into.1.extend(other.1);
        Ok(())
    }

    fn emit(
        &mut self,
        _key: &K,
        _ctx: &WindowContext,
        acc: &Self::Acc,
        out: &mut Collector<'_, O>,
    ) -> Result<(), UserError> {
        for a in &acc.0 {
            for b in &acc.1 {
                out.collect((self.join)(a, b));
            }
        }
        Ok(())
    }
}

/// The two-input operator behind `JoinedStreams::apply`.
pub(crate) struct WindowJoin<K, A: 'static, B: 'static, O: 'static, KF, F>
where
    F: FnMut(&A, &B) -> O + 'static,
{
    pub(crate) core: WindowCore<K, Either<A, B>, O, KF, JoinContents<F>>,
}

impl<K, A, B, O, KF, F> TwoInputOperator<A, B, O> for WindowJoin<K, A, B, O, KF, F>
where
    K: Key,
    A: Clone + 'static,
    B: Clone + 'static,
    O: 'static,
    KF: Fn(&Either<A, B>) -> K + 'static,
    F: FnMut(&A, &B) -> O + 'static,
{
    fn process1(
        &mut self,
        value: A,
        timestamp: Option<Millis>,
        out: &mut dyn Output<O>,
    ) -> TaskResult {
        // Records too late for every window are dropped (and counted), as in Flink's join.
        if self
            .core
            .element(Either::Left(value), timestamp, out)?
            .is_some()
        {
            self.core.late_dropped += 1;
        }
        Ok(())
    }

    fn process2(
        &mut self,
        value: B,
        timestamp: Option<Millis>,
        out: &mut dyn Output<O>,
    ) -> TaskResult {
        if self
            .core
            .element(Either::Right(value), timestamp, out)?
            .is_some()
        {
            self.core.late_dropped += 1;
        }
        Ok(())
    }

    fn watermark(&mut self, watermark: Millis, out: &mut dyn Output<O>) -> TaskResult {
        self.core.advance_watermark(watermark, out)?;
        out.watermark(watermark)
    }

    fn processing_time(&mut self, now: Millis, out: &mut dyn Output<O>) -> TaskResult {
        self.core.advance_processing_time(now, out)?;
        out.processing_time(now)
    }

    fn finish(&mut self, out: &mut dyn Output<O>) -> TaskResult {
        self.core.finish(out)?;
        out.finish()
    }
}
