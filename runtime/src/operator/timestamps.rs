//! Assigns event timestamps and generates watermarks (Flink's TimestampsAndWatermarksOperator).
//!
//! Upstream watermarks are replaced by this operator's own, except the final `MAX` watermark
//! at end of input, which passes through.
//!
//! A batch is stamped in one pass (its timestamps into a reused vector), shown to the
//! watermark generator in one call ([`WatermarkGenerator::on_events`]), and handed on as
//! runs of equal timestamps: the whole batch at once when all its records got one timestamp
//! (ingestion time, or a source's timestamp kept), so records are moved only when a batch
//! has to be split. A watermark raised on a record follows that record, as one by one.

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
    /// The timestamps of a batch (reused).
    stamps: Vec<Millis>,
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
            stamps: Vec::new(),
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

    /// Shows the generator the records from `from` on until one raises a watermark past
    /// the current one: returns the end of that stretch and the watermark, if any.
    /// `equal`: every stamp is the same (the generator then takes the rest as one run).
    fn next_mark(
        &mut self,
        stamps: &[Millis],
        from: usize,
        equal: bool,
    ) -> (usize, Option<Millis>) {
        let mut upto = from;
        while upto < stamps.len() {
            let seen = if equal {
                self.generator
                    .on_equal_events(stamps[upto], stamps.len() - upto)
            } else {
                self.generator.on_events(&stamps[upto..])
            };
            match seen {
                None => return (stamps.len(), None),
                Some((i, w)) => {
                    upto += i + 1;
                    if w > self.current {
                        return (upto, Some(w));
                    }
                }
            }
        }
        (upto, None)
    }

    /// Hands on `batch` (stamped with `stamps`), with the watermarks the generator raises.
    fn emit_stamped(&mut self, batch: &mut Vec<T>, stamps: &[Millis]) -> TaskResult {
        let n = stamps.len();
        let equal = stamps.iter().all(|t| *t == stamps[0]);
        let (mut upto, mut mark) = self.next_mark(stamps, 0, equal);
        if upto == n && equal {
            // The whole batch is one run and no watermark falls inside it: no record moves.
            self.out.emit_batch(batch, Some(stamps[0]))?;
            return self.advance(mark);
        }
        let mut run = std::mem::take(&mut self.run);
        let mut records = batch.drain(..);
        let mut from = 0;
        let result = loop {
            let r = self.emit_runs(&mut records, &mut run, &stamps[from..upto]);
            if let Err(e) = r.and_then(|()| self.advance(mark)) {
                break Err(e);
            }
            if upto >= n {
                break Ok(());
            }
            from = upto;
            (upto, mark) = self.next_mark(stamps, from, equal);
        };
        run.clear();
        self.run = run;
        result
    }

    /// Hands on the next `stamps.len()` records of `records` as runs of equal timestamps.
    fn emit_runs(
        &mut self,
        records: &mut impl Iterator<Item = T>,
        run: &mut Vec<T>,
        stamps: &[Millis],
    ) -> TaskResult {
        let mut start = 0;
        for i in 1..=stamps.len() {
            if i == stamps.len() || stamps[i] != stamps[start] {
                run.extend(records.by_ref().take(i - start));
                let r = self.out.emit_batch(run, Some(stamps[start]));
                run.clear();
                r?;
                start = i;
            }
        }
        Ok(())
    }
}

impl<T: 'static> Output<T> for TimestampsAndWatermarks<T> {
    #[inline]
    fn emit(&mut self, value: T, timestamp: Option<Millis>) -> TaskResult {
        let ts = match &self.timestamps {
            Some(f) => (f.one)(&value, timestamp),
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
        let mut stamps = std::mem::take(&mut self.stamps);
        stamps.clear();
        match &self.timestamps {
            Some(f) => (f.batch)(batch, timestamp, &mut stamps),
            None => stamps.resize(batch.len(), timestamp.unwrap_or(Millis::MIN)),
        }
        let r = self.emit_stamped(batch, &stamps);
        self.stamps = stamps;
        batch.clear();
        r
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
