//! The one-input window operator behind `WindowedStream`: a [`WindowCore`] with its output
//! and the late side output (the two-input window join is `join.rs`).

use super::core::WindowCore;
use super::function::WindowContents;
use crate::error::TaskResult;
use crate::operator::context::guarded;
use crate::operator::{Millis, Output};
use crate::state::Key;

/// The one-input window operator behind `WindowedStream`.
pub(crate) struct WindowOperator<K, I, O: 'static, KF, C: WindowContents<K, I, O>> {
    pub(crate) core: WindowCore<K, I, O, KF, C>,
    pub(crate) out: Box<dyn Output<O>>,
    /// The late side output (a discarding output if none was set).
    pub(crate) late: Option<Box<dyn Output<I>>>,
}

impl<K, I, O, KF, C> Output<I> for WindowOperator<K, I, O, KF, C>
where
    K: Key,
    I: Clone + 'static,
    O: 'static,
    KF: Fn(&I) -> K + 'static,
    C: WindowContents<K, I, O>,
{
    #[inline]
    fn emit(&mut self, value: I, timestamp: Option<Millis>) -> TaskResult {
        if let Some((v, ts)) = self.core.element(value, timestamp, &mut *self.out)? {
            match &mut self.late {
                Some(late) => late.emit(v, Some(ts))?,
                None => self.core.late_dropped += 1,
            }
        }
        Ok(())
    }

    /// The batch under one guard: the key selector and the window function run bare.
    fn emit_batch(&mut self, batch: &mut Vec<I>, timestamp: Option<Millis>) -> TaskResult {
        let name = self.core.name.clone();
        let (core, out, late) = (&mut self.core, &mut *self.out, &mut self.late);
        core.guard_held = true;
        let r = guarded(&name, || core.elements(batch, timestamp, out, late));
        self.core.guard_held = false;
        r?
    }

    fn watermark(&mut self, watermark: Millis) -> TaskResult {
        self.core.advance_watermark(watermark, &mut *self.out)?;
        if let Some(late) = &mut self.late {
            late.watermark(watermark)?;
        }
        self.out.watermark(watermark)
    }

    fn processing_time(&mut self, now: Millis) -> TaskResult {
        self.core.advance_processing_time(now, &mut *self.out)?;
        if let Some(late) = &mut self.late {
            late.processing_time(now)?;
        }
        self.out.processing_time(now)
    }

    fn watermark_status(&mut self, idle: bool) -> TaskResult {
        if let Some(late) = &mut self.late {
            late.watermark_status(idle)?;
        }
        self.out.watermark_status(idle)
    }

    fn finish(&mut self) -> TaskResult {
        self.core.finish(&mut *self.out)?;
        if let Some(late) = &mut self.late {
            late.finish()?;
        }
        self.out.finish()
    }
}
