//! Several successors of one operator: each gets every record (cloned for all but the last).

use super::{Millis, Output};
use crate::error::TaskResult;

/// Sends every record and signal to each of its outputs.
pub struct FanOut<T> {
    pub(crate) outs: Vec<Box<dyn Output<T>>>,
}

impl<T: Clone + 'static> Output<T> for FanOut<T> {
    #[inline]
    fn emit(&mut self, value: T, timestamp: Option<Millis>) -> TaskResult {
        let (last, rest) = self
            .outs
            .split_last_mut()
            .expect("a fan-out has at least two outputs");
        for o in rest {
            o.emit(value.clone(), timestamp)?;
        }
        last.emit(value, timestamp)
    }
    fn watermark(&mut self, watermark: Millis) -> TaskResult {
        self.outs
            .iter_mut()
            .try_for_each(|o| o.watermark(watermark))
    }
    fn processing_time(&mut self, now: Millis) -> TaskResult {
        self.outs
            .iter_mut()
            .try_for_each(|o| o.processing_time(now))
    }
    fn watermark_status(&mut self, idle: bool) -> TaskResult {
        self.outs
            .iter_mut()
            .try_for_each(|o| o.watermark_status(idle))
    }
    fn finish(&mut self) -> TaskResult {
        self.outs.iter_mut().try_for_each(|o| o.finish())
    }
}
