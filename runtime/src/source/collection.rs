//! Sources from in-memory data: a collection, or an iterator made by a function.

use super::{SourceReader, SourceStatus};
use crate::error::TaskResult;
use crate::operator::Output;

/// Emits the elements of a vector; subtask `i` of `p` takes elements `i, i + p, ...`.
pub type CollectionSource<T> =
    IteratorSource<std::iter::StepBy<std::iter::Skip<std::vec::IntoIter<T>>>>;

impl<T> CollectionSource<T> {
    /// Subtask `subtask`'s share of `items`.
    pub fn new(items: Vec<T>, subtask: u32, parallelism: u32) -> Self {
        IteratorSource::over(
            items
                .into_iter()
                .skip(subtask as usize)
                .step_by(parallelism.max(1) as usize),
        )
    }
}

/// Emits what an iterator yields; finishes when it ends.
pub struct IteratorSource<I> {
    iter: I,
}

impl<I> IteratorSource<I> {
    /// A source over `iter`.
    pub fn over(iter: I) -> Self {
        IteratorSource { iter }
    }
}

impl<T: 'static, I: Iterator<Item = T> + 'static> SourceReader<T> for IteratorSource<I> {
    fn poll_batch(
        &mut self,
        out: &mut dyn Output<T>,
        max: usize,
    ) -> TaskResult<(SourceStatus, usize)> {
        for n in 0..max {
            match self.iter.next() {
                Some(v) => out.emit(v, None)?,
                None => return Ok((SourceStatus::Finished, n)),
            }
        }
        Ok((SourceStatus::More, max))
    }
}
