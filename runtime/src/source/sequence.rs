//! Bounded and unbounded number sequences (Flink's `fromSequence` / data generator).

use super::{SourceReader, SourceStatus};
use crate::error::TaskResult;
use crate::operator::Output;

/// Emits `next, next + 1, ...` up to `end` (exclusive), or forever when `end` is `None`.
pub struct SequenceSource {
    next: u64,
    end: Option<u64>,
    /// One step's numbers, handed to the chain in one call (reused).
    batch: Vec<u64>,
}

impl SequenceSource {
    /// Subtask `subtask` of `parallelism`'s share of `[start, end)`: contiguous, disjoint
    /// ranges that together cover the whole sequence.
    pub fn split(start: u64, end: u64, subtask: u32, parallelism: u32) -> Self {
        let len = end.saturating_sub(start) as u128;
        let p = parallelism as u128;
        let s = start + (len * subtask as u128 / p) as u64;
        let e = start + (len * (subtask as u128 + 1) / p) as u64;
        SequenceSource {
            next: s,
            end: Some(e),
            batch: Vec::new(),
        }
    }

    /// An unbounded sequence: subtask `i` of `p` emits `start + i, start + i + p, ...`
    /// would interleave; instead each subtask counts its own stripe of 2^48 values.
    pub fn unbounded(start: u64, subtask: u32) -> Self {
        SequenceSource {
            next: start.wrapping_add((subtask as u64) << 48),
            end: None,
            batch: Vec::new(),
        }
    }
}

impl SourceReader<u64> for SequenceSource {
    #[inline]
    fn poll_batch(
        &mut self,
        out: &mut dyn Output<u64>,
        max: usize,
    ) -> TaskResult<(SourceStatus, usize)> {
        let stop = match self.end {
            Some(e) => e.min(self.next.saturating_add(max as u64)),
            None => self.next.saturating_add(max as u64),
        };
        self.batch.extend(self.next..stop);
        let r = out.emit_batch(&mut self.batch, None);
        self.batch.clear();
        r?;
        let n = (stop - self.next) as usize;
        self.next = stop;
        let status = match self.end {
            Some(e) if self.next >= e => SourceStatus::Finished,
            _ => SourceStatus::More,
        };
        Ok((status, n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_cover_the_range_once() {
        for p in 1..6u32 {
            let mut all = Vec::new();
            for s in 0..p {
                let src = SequenceSource::split(10, 37, s, p);
                all.extend(src.next..src.end.unwrap());
            }
            assert_eq!(all, (10..37).collect::<Vec<_>>());
        }
    }
}
