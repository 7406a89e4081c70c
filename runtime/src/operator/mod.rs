//! Operators and how they chain.
//!
//! Inside a task, records move between chained operators as typed Rust values by direct
//! calls: every operator is an [`Output`] of its predecessor and owns its successor as a
//! `Box<dyn Output<O>>`. The last element of a chain is a sink, a [`fan_out::FanOut`], or an
//! exchange writer that serializes records into network buffers.
//!
//! Lifecycle signals travel down the chain in the same calls, in order with the records:
//! - [`Output::watermark`]: event time advanced (fire event-time timers, then forward);
//! - [`Output::processing_time`]: wall-clock time advanced to a requested timer;
//! - [`Output::finish`]: the input ended (flush what is buffered, then forward).
//!
//! Everything here lives on one slot's core: operators are neither `Send` nor `Sync`.

pub mod basic;
pub mod co_process;
pub mod context;
pub mod fan_out;
pub mod keyed_co_process;
pub mod keyed_process;
pub mod keyed_reduce;
pub mod side_output;
pub mod timestamps;

pub use context::{OperatorContext, TimeService};
pub use side_output::OutputTag;

use crate::error::TaskResult;

/// Event time or processing time in milliseconds since the epoch.
pub type Millis = i64;

/// The watermark that means "no more records": end of input.
pub const MAX_WATERMARK: Millis = i64::MAX;

/// The receiving end of a chained call: an operator's input, a sink, or an exchange writer.
pub trait Output<T> {
    /// One record with its event timestamp, if it has one.
    fn emit(&mut self, value: T, timestamp: Option<Millis>) -> TaskResult;

    /// Records that share `timestamp`, in order; `batch` is left empty (its capacity is the
    /// caller's to reuse). One virtual call per batch instead of per record: operators that
    /// can work on the whole batch (filter, map, exchange writers, discard) override it; the
    /// default emits one by one.
    fn emit_batch(&mut self, batch: &mut Vec<T>, timestamp: Option<Millis>) -> TaskResult {
        for value in batch.drain(..) {
            self.emit(value, timestamp)?;
        }
        Ok(())
    }

    /// Event time advanced to `watermark`: no record with a smaller timestamp follows.
    fn watermark(&mut self, watermark: Millis) -> TaskResult;

    /// Processing time reached `now`; operators fire processing-time timers due by then.
    fn processing_time(&mut self, now: Millis) -> TaskResult {
        let _ = now;
        Ok(())
    }

    /// The stream became idle (no records for a while) or active again; idle inputs do not
    /// hold back the watermark downstream.
    fn watermark_status(&mut self, idle: bool) -> TaskResult;

    /// The input is exhausted (bounded job). Flush buffered results, then forward.
    fn finish(&mut self) -> TaskResult;
}

impl<T: 'static> Output<T> for Box<dyn Output<T>> {
    #[inline]
    fn emit(&mut self, value: T, timestamp: Option<Millis>) -> TaskResult {
        (**self).emit(value, timestamp)
    }
    #[inline]
    fn emit_batch(&mut self, batch: &mut Vec<T>, timestamp: Option<Millis>) -> TaskResult {
        (**self).emit_batch(batch, timestamp)
    }
    fn watermark(&mut self, watermark: Millis) -> TaskResult {
        (**self).watermark(watermark)
    }
    fn processing_time(&mut self, now: Millis) -> TaskResult {
        (**self).processing_time(now)
    }
    fn watermark_status(&mut self, idle: bool) -> TaskResult {
        (**self).watermark_status(idle)
    }
    fn finish(&mut self) -> TaskResult {
        (**self).finish()
    }
}

/// The most records a gathering [`Collector`] holds before it sends them on: a batch that
/// fans out (a line into its words) goes downstream in pieces small enough to stay in cache,
/// and the gathering buffer stops growing at this size.
pub const GATHER_LIMIT: usize = 1024;

/// An [`Output`] that records the collector calls of a user function, so a function can
/// emit any number of records (flat_map, process functions).
///
/// A collector either emits each record into `out` at once, or, when it collects for a
/// batch (`Collector::gathering`), pushes the records that carry the input's timestamp
/// into a batch for one `emit_batch` of `out` per [`GATHER_LIMIT`] records (no call through
/// `out` per record); a record with a timestamp of its own first sends the gathered ones on,
/// so order is kept.
pub struct Collector<'a, O: 'static> {
    out: &'a mut dyn Output<O>,
    gathered: Option<&'a mut Vec<O>>,
    timestamp: Option<Millis>,
    result: TaskResult,
}

impl<'a, O: 'static> Collector<'a, O> {
    pub(crate) fn new(out: &'a mut dyn Output<O>, timestamp: Option<Millis>) -> Self {
        Collector {
            out,
            gathered: None,
            timestamp,
            result: Ok(()),
        }
    }

    /// A collector that gathers into `batch`; the caller sends what is left in it on
    /// (`out.emit_batch(batch, timestamp)`) after [`Collector::into_result`].
    pub(crate) fn gathering(
        out: &'a mut dyn Output<O>,
        batch: &'a mut Vec<O>,
        timestamp: Option<Millis>,
    ) -> Self {
        Collector {
            out,
            gathered: Some(batch),
            timestamp,
            result: Ok(()),
        }
    }

    /// Emits a record with the timestamp of the input being processed.
    #[inline]
    pub fn collect(&mut self, value: O) {
        if self.result.is_err() {
            return;
        }
        match &mut self.gathered {
            Some(batch) => {
                batch.push(value);
                if batch.len() < GATHER_LIMIT {
                    return;
                }
            }
            None => {
                self.result = self.out.emit(value, self.timestamp);
                return;
            }
        }
        self.send_gathered();
    }

    /// Emits a record with an explicit event timestamp.
    #[inline]
    pub fn collect_with_timestamp(&mut self, value: O, timestamp: Millis) {
        if self.gathered.is_some() && self.timestamp == Some(timestamp) {
            return self.collect(value);
        }
        self.send_gathered();
        if self.result.is_ok() {
            self.result = self.out.emit(value, Some(timestamp));
        }
    }

    /// Sends the gathered records on, as one batch.
    fn send_gathered(&mut self) {
        if let Some(batch) = &mut self.gathered {
            if self.result.is_ok() && !batch.is_empty() {
                self.result = self.out.emit_batch(batch, self.timestamp);
            }
            batch.clear();
        }
    }

    pub(crate) fn into_result(self) -> TaskResult {
        self.result
    }
}
