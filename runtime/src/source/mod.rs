//! Sources: where records enter a job.
//!
//! A [`SourceReader`] emits records synchronously in batches ([`SourceReader::poll_batch`])
//! and, when it has nothing ready, waits asynchronously for more ([`SourceReader::wait`]:
//! file and socket reads through the slot's io_uring). The source task drives it, checking
//! between batches for back-pressure, cancellation, timers and buffer flushes.
//!
//! Every reader lives on its slot's core (not `Send`); each parallel subtask builds its own
//! and reads its own split.

mod collection;
mod file;
mod generator;
mod lines;
mod sequence;
mod socket;

pub use collection::{CollectionSource, IteratorSource};
pub use file::TextFileSource;
pub use generator::{GeneratorSource, PACE_GRANULE};
pub use sequence::SequenceSource;
pub use socket::SocketTextSource;

use crate::error::TaskResult;
use crate::operator::Output;
use std::future::Future;
use std::pin::Pin;

/// What a source has left after a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceStatus {
    /// More records are ready: call `poll_batch` again.
    More,
    /// Nothing ready now: await `wait` before the next `poll_batch`.
    Pending,
    /// The source is exhausted (bounded); the task finishes.
    Finished,
}

/// A boxed future that lives on one core.
pub type LocalFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// One subtask's reader of a source.
pub trait SourceReader<T>: 'static {
    /// Emits up to `max` records into `out`.
    /// Returns the status and how many records were emitted.
    fn poll_batch(
        &mut self,
        out: &mut dyn Output<T>,
        max: usize,
    ) -> TaskResult<(SourceStatus, usize)>;

    /// Waits until `poll_batch` has something to do (called after `Pending`). The task may
    /// drop this future before it completes (to flush buffers or fire timers) and call
    /// `poll_batch` again, so keep any schedule in the reader, not in the future.
    fn wait(&mut self) -> LocalFuture<'_, TaskResult> {
        Box::pin(async { Ok(()) })
    }

    /// When the oldest record of the last `poll_batch` was created: wall-clock nanoseconds
    /// since the Unix epoch (see [`crate::task::latency`]). A reader that knows when its
    /// records came into being (a paced generator's schedule, a timestamp in the input)
    /// returns it, so latency markers also count the time records waited before the source
    /// emitted them, and bound the latency of every record of that batch from above. The
    /// default, `None`, stamps markers with the time of emission.
    fn latency_stamp(&self) -> Option<i64> {
        None
    }
}
