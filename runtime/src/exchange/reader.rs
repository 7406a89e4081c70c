//! The consumer side's typed end: decodes buffers into records for the chain head.

use crate::error::{Retry, TaskError, TaskResult};
use crate::operator::{Millis, Output};
use strom_net::codec::{deserialize, RecordIter, WireRecord};
use strom_net::NetBuffer;

/// The signals a task gives the head of its chain, whatever its record type.
pub trait Lifecycle {
    /// The input's combined watermark advanced.
    fn watermark(&mut self, w: Millis) -> TaskResult;
    /// The whole input became idle or active.
    fn watermark_status(&mut self, idle: bool) -> TaskResult;
    /// Processing time advanced.
    fn processing_time(&mut self, now: Millis) -> TaskResult;
    /// The input ended.
    fn finish(&mut self) -> TaskResult;
}

impl<T: 'static> Lifecycle for Box<dyn Output<T>> {
    fn watermark(&mut self, w: Millis) -> TaskResult {
        (**self).watermark(w)
    }
    fn watermark_status(&mut self, idle: bool) -> TaskResult {
        (**self).watermark_status(idle)
    }
    fn processing_time(&mut self, now: Millis) -> TaskResult {
        (**self).processing_time(now)
    }
    fn finish(&mut self) -> TaskResult {
        (**self).finish()
    }
}

/// One logical input of a task, type-erased for the task loop (per-slot).
pub trait InputHandler: Lifecycle {
    /// Decodes every record of `buf` into the chain; returns how many.
    ///
    /// `trusted` buffers were written by this process for this edge and are read without
    /// validation; any other buffer (received from another process) is validated record by
    /// record before it is read in place, and a record that does not validate fails the task.
    fn on_buffer(&mut self, buf: &NetBuffer, trusted: bool) -> TaskResult<u64>;
}

/// Decodes records of type `T` for a chain head.
///
/// A buffer reaches the chain as batches ([`Output::emit_batch`]): each run of records with
/// the same timestamp in one call, in buffer order, so the head pays one virtual call per
/// run instead of one per record and can work on the run as a whole.
pub struct TypedInput<T> {
    head: Box<dyn Output<T>>,
    /// The run being decoded (reused; empty between buffers).
    batch: Vec<T>,
}

impl<T> TypedInput<T> {
    /// An input that feeds `head`.
    pub fn new(head: Box<dyn Output<T>>) -> Self {
        TypedInput {
            head,
            batch: Vec::new(),
        }
    }
}

impl<T: WireRecord + 'static> InputHandler for TypedInput<T> {
    fn on_buffer(&mut self, buf: &NetBuffer, trusted: bool) -> TaskResult<u64> {
        let records = if trusted {
            // SAFETY: the task loop passes `trusted` only for in-process channels, which carry
            // only buffers written by `RecordWriter<T>` of this process for the same edge,
            // hence the same `T`; the buffer is page-aligned.
            unsafe { RecordIter::<T>::trusted(buf.as_slice()) }
        } else {
            RecordIter::<T>::validated(buf.as_slice())
        };
        let mut n = 0;
        let mut run_ts = None;
        let batch = &mut self.batch;
        for r in records {
            let (ts, archived) = match r {
                Ok(x) => x,
                Err(e) => {
                    batch.clear();
                    let origin = if trusted { "" } else { "received " };
                    return Err(TaskError::new(
                        format!("corrupt {origin}buffer: {e}"),
                        Retry::Never,
                    ));
                }
            };
            let value = match deserialize::<T>(archived) {
                Ok(v) => v,
                Err(e) => {
                    batch.clear();
                    return Err(TaskError::new(
                        format!("cannot deserialize record: {e}"),
                        Retry::Never,
                    ));
                }
            };
            if ts != run_ts && !batch.is_empty() {
                let r = self.head.emit_batch(batch, run_ts);
                batch.clear();
                r?;
            }
            run_ts = ts;
            batch.push(value);
            n += 1;
        }
        if !batch.is_empty() {
            let r = self.head.emit_batch(batch, run_ts);
            batch.clear();
            r?;
        }
        Ok(n)
    }
}

impl<T: 'static> Lifecycle for TypedInput<T> {
    fn watermark(&mut self, w: Millis) -> TaskResult {
        Output::watermark(&mut *self.head, w)
    }
    fn watermark_status(&mut self, idle: bool) -> TaskResult {
        Output::watermark_status(&mut *self.head, idle)
    }
    fn processing_time(&mut self, now: Millis) -> TaskResult {
        Output::processing_time(&mut *self.head, now)
    }
    fn finish(&mut self) -> TaskResult {
        Output::finish(&mut *self.head)
    }
}
