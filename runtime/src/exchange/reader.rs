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

/// The most records handed to the chain head in one batch (see [`TypedInput`]).
pub const BATCH_MAX: usize = 256;

/// Decodes records of type `T` for a chain head.
///
/// A buffer reaches the chain as batches ([`Output::emit_batch`]): records with the same
/// timestamp, at most [`BATCH_MAX`] per call, in buffer order, so the head pays one virtual
/// call per batch instead of one per record and can work on the batch as a whole. A run is
/// read as slices of archives ([`RecordIter::next_slice`]) and deserialized in a tight loop.
/// The cap keeps a batch (and the archives it came from) in the L1 cache while the chain
/// works on it: a whole 32 KiB buffer of small records decoded at once would evict itself
/// (DS-W2 at parallelism 2: the window's table probes and the decode both got faster).
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
        let mut records = if trusted {
            // SAFETY: the task loop passes `trusted` only for in-process channels, which carry
            // only buffers written by `RecordWriter<T>` of this process for the same edge,
            // hence the same `T`; `buf` is the buffer (or slice) they were written into.
            unsafe { RecordIter::<T>::trusted(buf.as_slice()) }
        } else {
            RecordIter::<T>::validated(buf.as_slice())
        };
        let mut n = 0;
        let mut run_ts = None;
        let batch = &mut self.batch;
        while let Some(r) = records.next_slice(BATCH_MAX) {
            let (ts, archives) = match r {
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
            if (ts != run_ts || batch.len() + archives.len() > BATCH_MAX) && !batch.is_empty() {
                let r = self.head.emit_batch(batch, run_ts);
                batch.clear();
                r?;
            }
            run_ts = ts;
            batch.reserve(archives.len());
            for archived in archives {
                match deserialize::<T>(archived) {
                    Ok(v) => batch.push(v),
                    Err(e) => {
                        batch.clear();
                        return Err(TaskError::new(
                            format!("cannot deserialize record: {e}"),
                            Retry::Never,
                        ));
                    }
                }
            }
            n += archives.len() as u64;
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
