//! Assigns event timestamps and generates watermarks (Flink's TimestampsAndWatermarksOperator).
//!
//! Upstream watermarks are replaced by this operator's own, except the final `MAX` watermark
//! at end of input, which passes through.

use super::basic::forward_lifecycle_no_watermark;
use super::{Millis, OperatorContext, Output, MAX_WATERMARK};
use crate::error::TaskResult;
use crate::time::{WatermarkGenerator, WatermarkStrategy};

/// The operator behind `assign_timestamps_and_watermarks`.
pub struct TimestampsAndWatermarks<T> {
    timestamps: Option<crate::time::TimestampAssigner<T>>,
    generator: Box<dyn WatermarkGenerator>,
    ctx: OperatorContext,
    current: Millis,
    idle_after: Option<Millis>,
    records: u64,
    records_at_check: u64,
    quiet_since: Option<Millis>,
    idle: bool,
    out: Box<dyn Output<T>>,
    /// The current run of a batch: consecutive records with one timestamp (reused).
    run: Vec<T>,
}

impl<T: 'static> TimestampsAndWatermarks<T> {
    pub(crate) fn new(
        strategy: &WatermarkStrategy<T>,
        ctx: OperatorContext,
        out: Box<dyn Output<T>>,
    ) -> Self {
        let op = TimestampsAndWatermarks {
            timestamps: strategy.timestamps.clone(),
            generator: (strategy.generator)(),
            current: Millis::MIN,
            idle_after: strategy.idleness.map(|d| d.as_millis() as Millis),
            records: 0,
            records_at_check: 0,
            quiet_since: None,
            idle: false,
            out,
            ctx,
            run: Vec::new(),
        };
        op.ctx
            .time
            .request(op.ctx.time.now() + op.ctx.auto_watermark_interval);
        op
    }

    fn advance(&mut self, w: Option<Millis>) -> TaskResult {
        match w {
            Some(w) if w > self.current => {
                self.current = w;
                self.out.watermark(w)
            }
            _ => Ok(()),
        }
    }
}

impl<T: 'static> Output<T> for TimestampsAndWatermarks<T> {
    #[inline]
    fn emit(&mut self, value: T, timestamp: Option<Millis>) -> TaskResult {
        let ts = match &self.timestamps {
            Some(f) => f(&value, timestamp),
            None => timestamp.unwrap_or(Millis::MIN),
        };
        self.records += 1;
        if self.idle {
            self.idle = false;
            self.out.watermark_status(false)?;
        }
        let w = self.generator.on_event(ts);
        self.out.emit(value, Some(ts))?;
        self.advance(w)
    }

    /// The batch as runs of records with equal timestamps, each run in one call; a
    /// watermark the generator raises on a record follows that record, as one by one.
    fn emit_batch(&mut self, batch: &mut Vec<T>, timestamp: Option<Millis>) -> TaskResult {
        if batch.is_empty() {
            return Ok(());
        }
        self.records += batch.len() as u64;
        if self.idle {
            self.idle = false;
            self.out.watermark_status(false)?;
        }
        let mut run = std::mem::take(&mut self.run);
        let mut run_ts = Millis::MIN;
        let mut result = Ok(());
        for value in batch.drain(..) {
            let ts = match &self.timestamps {
                Some(f) => f(&value, timestamp),
                None => timestamp.unwrap_or(Millis::MIN),
            };
            if ts != run_ts && !run.is_empty() {
                result = self.out.emit_batch(&mut run, Some(run_ts));
                if result.is_err() {
                    break;
                }
            }
            run_ts = ts;
            run.push(value);
            if let Some(w) = self.generator.on_event(ts).filter(|w| *w > self.current) {
                result = self.out.emit_batch(&mut run, Some(run_ts));
                if result.is_err() {
                    break;
                }
                self.current = w;
                result = self.out.watermark(w);
                if result.is_err() {
                    break;
                }
            }
        }
        if result.is_ok() && !run.is_empty() {
            result = self.out.emit_batch(&mut run, Some(run_ts));
        }
        run.clear();
        batch.clear();
        self.run = run;
        result
    }

    fn watermark(&mut self, watermark: Millis) -> TaskResult {
        if watermark == MAX_WATERMARK {
            self.advance(Some(MAX_WATERMARK))?;
        }
        Ok(())
    }

    fn processing_time(&mut self, now: Millis) -> TaskResult {
        let w = self.generator.on_periodic_emit();
        self.advance(w)?;
        if let Some(after) = self.idle_after {
            if self.records == self.records_at_check {
                let since = *self.quiet_since.get_or_insert(now);
                if !self.idle && now - since >= after {
                    self.idle = true;
                    self.out.watermark_status(true)?;
                }
            } else {
                self.records_at_check = self.records;
                self.quiet_since = None;
            }
        }
        self.ctx
            .time
            .request(now + self.ctx.auto_watermark_interval);
        self.out.processing_time(now)
    }

    forward_lifecycle_no_watermark!();
}
