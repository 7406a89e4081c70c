//! Splitting a batch of records by output channel, in order per channel.
//!
//! A keyed or round-robin writer routes each record of a batch to one channel, then writes
//! each channel's records in one go. The split is the writer's hottest loop: pushing each
//! record onto its channel's `Vec` chains every record through the `Vec` length it loads and
//! stores (the next record's channel is the same one half the time at parallelism 2), and a
//! branch on the channel mispredicts half the time. With few channels, [`partition`] makes
//! one branch-free pass per channel instead: every record is copied to the channel's next
//! free place, and the place advances only for the channel's own records.
//!
//! Invariant: every record of the batch ends up, moved, in exactly one output `Vec` (the one
//! its channel index names), in batch order; the batch is left empty. A channel index out
//! of range is an internal error, reported before anything moves.

use crate::error::{Retry, TaskError, TaskResult};

/// Up to this many channels, [`partition`] makes one pass per channel; above, it pushes
/// record by record (one pass whatever the count).
pub const PASSES_UP_TO: usize = 4;

/// Moves each `batch[i]` to the end of `out[channels[i]]`, keeping batch order per channel,
/// and leaves `batch` empty. `channels` holds one index per record.
pub fn partition<T>(batch: &mut Vec<T>, channels: &[u32], out: &mut [Vec<T>]) -> TaskResult {
    if channels.len() != batch.len() {
        return Err(internal(format!(
            "{} channel indices for {} records",
            channels.len(),
            batch.len()
        )));
    }
    if let Some(c) = channels.iter().find(|&&c| c as usize >= out.len()) {
        return Err(internal(format!(
            "channel index {c} of {} channels",
            out.len()
        )));
    }
    if out.len() > PASSES_UP_TO {
        for (value, &c) in batch.drain(..).zip(channels) {
            out[c as usize].push(value);
        }
        return Ok(());
    }
    let len = batch.len();
    let src = batch.as_ptr();
    // SAFETY: the records are moved out below, each exactly once (see the loop); the batch
    // forgets them first, so they are never dropped twice.
    unsafe { batch.set_len(0) };
    for (c, dst) in out.iter_mut().enumerate() {
        dst.reserve(len);
        let base = dst.len();
        // SAFETY: `dst` has room for `len` more records after `base` (reserved above).
        let free = unsafe { dst.as_mut_ptr().add(base) };
        let mut kept = 0;
        for (i, &ch) in channels.iter().enumerate() {
            // SAFETY: `i < len`, so `src.add(i)` is a record of the batch (still allocated:
            // only its length was cleared). `kept <= i < len`, so `free.add(kept)` is within
            // the room reserved. The copy is bitwise: it becomes the record's owner only if
            // `kept` then advances past it (this is the record's channel); otherwise the
            // next copy overwrites it and it was never more than spare capacity.
            unsafe { std::ptr::copy_nonoverlapping(src.add(i), free.add(kept), 1) };
            kept += usize::from(ch as usize == c);
        }
        // SAFETY: the first `kept` places after `base` hold this channel's records, each
        // moved from the batch exactly once (its index names exactly one channel, checked
        // in range above).
        unsafe { dst.set_len(base + kept) };
    }
    Ok(())
}

fn internal(what: String) -> TaskError {
    TaskError::new(
        format!("internal: cannot route a batch: {what}"),
        Retry::Never,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    fn check(n_out: usize, channels: Vec<u32>) {
        // Records that own heap memory and count their drops: a record lost, duplicated or
        // dropped twice shows up in the counts.
        let drops = Rc::new(());
        let batch_src: Vec<(usize, Rc<()>)> =
            (0..channels.len()).map(|i| (i, drops.clone())).collect();
        let mut batch = batch_src;
        let mut out: Vec<Vec<(usize, Rc<()>)>> = (0..n_out).map(|_| Vec::new()).collect();
        out[0].push((usize::MAX, drops.clone())); // what was there stays first
        partition(&mut batch, &channels, &mut out).unwrap();
        assert!(batch.is_empty());
        let mut expect: Vec<Vec<usize>> = (0..n_out).map(|_| Vec::new()).collect();
        expect[0].push(usize::MAX);
        for (i, &c) in channels.iter().enumerate() {
            expect[c as usize].push(i);
        }
        let got: Vec<Vec<usize>> = out
            .iter()
            .map(|v| v.iter().map(|(i, _)| *i).collect())
            .collect();
        assert_eq!(got, expect);
        assert_eq!(Rc::strong_count(&drops), channels.len() + 2);
        drop(out);
        assert_eq!(Rc::strong_count(&drops), 1, "every record dropped once");
    }

    #[test]
    fn records_go_to_their_channel_in_order() {
        let mixed = |n: u32, len: u32| (0..len).map(|i| (i * 7 + i / 3) % n).collect();
        for n in 1..=PASSES_UP_TO as u32 + 2 {
            check(n as usize, mixed(n, 300));
            check(n as usize, vec![n - 1; 10]);
            check(n as usize, Vec::new());
        }
    }

    #[test]
    fn a_bad_index_is_an_error_and_moves_nothing() {
        let mut batch = vec![1u64, 2, 3];
        let mut out = vec![Vec::new(), Vec::new()];
        let e = partition(&mut batch, &[0, 2, 1], &mut out).unwrap_err();
        assert!(e.to_string().contains("channel index 2 of 2"), "{e}");
        let e = partition(&mut batch, &[0, 1], &mut out).unwrap_err();
        assert!(e.to_string().contains("2 channel indices for 3"), "{e}");
        assert_eq!(batch, [1, 2, 3]);
        assert!(out.iter().all(Vec::is_empty));
    }
}
