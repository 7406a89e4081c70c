//! Fixed-size, page-aligned network buffers, and slices of them.
//!
//! A buffer is acquired whole from its pool and filled by one writer. When the writer
//! flushes a partly filled buffer it need not give up the rest: [`NetBuffer::split_written`]
//! hands the written bytes out as a buffer of their own (a *slice*) and the writer goes on
//! filling the same memory behind them, as Flink's `BufferBuilder` and `BufferConsumer` share
//! one memory segment. So a channel's buffers bound the *bytes* in flight, not the number of
//! flushes: a low-latency flush of a few records spends a few records' worth of a buffer.
//!
//! Invariants:
//! - A buffer's memory starts on a 4 KiB page boundary and its capacity is a whole number of
//!   pages. Every view of it (a [`NetBuffer`]) starts at an offset that is a multiple of
//!   [`SLICE_ALIGN`], so an offset aligned to at most that within a view is aligned in memory.
//! - The views of one buffer cover disjoint byte ranges: a slice owns the bytes written
//!   before the split, the writer's view what lies behind them. Views are not `Clone` and the
//!   split is the only way to make one, so a `&mut NetBuffer` is the only access to its range
//!   even while a slice of the same memory is read on another core.
//! - A pooled buffer's memory returns to its [`BufferPool`] when its last view is dropped, on
//!   whatever core drops it. Pools never grow: memory is either in the pool or held by views
//!   (with a writer, in a channel queue or with a reader), and the sum is the pool's capacity.
//! - An unpooled buffer (for a single record larger than a pooled buffer) is freed on drop.
//!
//! Ownership: `NetBuffer` is `Send` (it moves across cores with its contents); the pool is a
//! global, cross-core handle backed by a lock-free queue.

mod page;
mod pool;
mod segment;

pub use page::PAGE_SIZE;
pub use pool::{BufferPool, PoolExhausted, PoolStats};

use page::Pages;
use segment::Segment;
use std::sync::Arc;

/// The alignment of the start of every slice within its buffer: a cache line, so a reader
/// of a slice and the writer filling the bytes behind it never write the same line.
pub const SLICE_ALIGN: usize = 64;

/// A network buffer, or a slice of one: page-aligned memory with a fill level, recycled to
/// its pool when its last view is dropped.
pub struct NetBuffer {
    segment: Arc<Segment>,
    /// Offset of this view in the segment (a multiple of [`SLICE_ALIGN`]).
    start: usize,
    /// End of this view in the segment.
    end: usize,
    /// Bytes written from `start`.
    len: usize,
}

impl NetBuffer {
    /// An unpooled buffer of at least `capacity` bytes, freed when dropped.
    ///
    /// Used for a record that does not fit a pooled buffer, and for the records a task
    /// emits after its pool ran dry within one step (bounded by the step); it is not
    /// counted against any pool.
    pub fn unpooled(capacity: usize) -> Self {
        Self::whole(Segment::new(Pages::new(capacity), None))
    }

    fn from_pool(pages: Pages, pool: Arc<pool::PoolShared>) -> Self {
        Self::whole(Segment::new(pages, Some(pool)))
    }

    fn whole(segment: Arc<Segment>) -> Self {
        let end = segment.len();
        NetBuffer {
            segment,
            start: 0,
            end,
            len: 0,
        }
    }

    /// Capacity in bytes.
    pub fn capacity(&self) -> usize {
        self.end - self.start
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether this buffer belongs to a pool.
    pub fn is_pooled(&self) -> bool {
        self.segment.is_pooled()
    }

    /// Whether this is a slice split off a buffer (or the rest behind one).
    pub fn is_slice(&self) -> bool {
        self.start != 0 || self.end != self.segment.len()
    }

    /// The written bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.memory()[..self.len]
    }

    /// The whole memory of this view, written or not.
    pub fn memory(&self) -> &[u8] {
        // SAFETY: `start..end` lies inside the segment's allocation, which the `Arc` keeps
        // alive; no other view covers these bytes (module invariant), and writing them needs
        // `&mut self`, which this borrow excludes.
        unsafe { std::slice::from_raw_parts(self.segment.ptr().add(self.start), self.capacity()) }
    }

    /// The whole memory of this view for writing; call [`NetBuffer::set_len`] after writing.
    pub fn memory_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `memory`; the exclusive borrow of this view, the only one covering
        // `start..end`, makes this the only reference to these bytes.
        unsafe {
            std::slice::from_raw_parts_mut(self.segment.ptr().add(self.start), self.capacity())
        }
    }

    /// Sets the fill level. Panics if `len` exceeds the capacity (a bug in the writer).
    pub fn set_len(&mut self, len: usize) {
        assert!(
            len <= self.capacity(),
            "buffer fill {len} beyond capacity {}",
            self.capacity()
        );
        self.len = len;
    }

    /// Empties the buffer for reuse by the same writer.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// What [`NetBuffer::split_written`] would leave this view to write into.
    pub fn room_after_split(&self) -> usize {
        self.end
            .saturating_sub((self.start + self.len).next_multiple_of(SLICE_ALIGN))
    }

    /// Hands out the bytes written so far as a buffer of their own, sharing this memory,
    /// and leaves this view empty to go on writing behind them (from the next
    /// [`SLICE_ALIGN`] boundary). `None` if nothing was written.
    ///
    /// The memory goes back to its pool once the slice and this view are both dropped.
    pub fn split_written(&mut self) -> Option<NetBuffer> {
        if self.len == 0 {
            return None;
        }
        let written = self.start + self.len;
        let slice = NetBuffer {
            segment: self.segment.clone(),
            start: self.start,
            end: written,
            len: self.len,
        };
        self.start = written.next_multiple_of(SLICE_ALIGN).min(self.end);
        self.len = 0;
        Some(slice)
    }

    /// Copies `bytes` into a fresh buffer of this pool's kind (tests and the network
    /// receive path use this); fails if they do not fit.
    pub fn fill_from(&mut self, bytes: &[u8]) -> Result<(), usize> {
        if bytes.len() > self.capacity() {
            return Err(self.capacity());
        }
        self.memory_mut()[..bytes.len()].copy_from_slice(bytes);
        self.len = bytes.len();
        Ok(())
    }
}

impl std::fmt::Debug for NetBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetBuffer")
            .field("len", &self.len)
            .field("capacity", &self.capacity())
            .field("pooled", &self.is_pooled())
            .field("slice", &self.is_slice())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_page_aligned() {
        let pool = BufferPool::new(3, 32 * 1024);
        let b = pool.try_acquire().unwrap();
        assert_eq!(b.memory().as_ptr() as usize % PAGE_SIZE, 0);
        assert_eq!(b.capacity(), 32 * 1024);
        let u = NetBuffer::unpooled(5000);
        assert_eq!(u.memory().as_ptr() as usize % PAGE_SIZE, 0);
        assert_eq!(u.capacity(), 8192);
    }

    #[test]
    fn fill_and_clear() {
        let mut b = NetBuffer::unpooled(10);
        b.fill_from(b"hello").unwrap();
        assert_eq!(b.as_slice(), b"hello");
        assert_eq!(b.fill_from(&[0u8; 5000]), Err(4096));
        b.clear();
        assert!(b.is_empty());
    }

    #[test]
    fn a_split_hands_out_the_written_bytes_and_keeps_the_rest_for_writing() {
        let pool = BufferPool::new(1, 8192);
        let mut w = pool.try_acquire().unwrap();
        w.fill_from(&[7u8; 100]).unwrap();
        assert_eq!(w.room_after_split(), 8192 - 128);
        let first = w.split_written().unwrap();
        assert_eq!(first.as_slice(), &[7u8; 100][..]);
        assert_eq!(first.capacity(), 100);
        assert!(first.is_slice() && first.is_pooled());
        assert!(w.is_empty());
        assert_eq!(
            w.capacity(),
            8192 - 128,
            "the rest starts on the next 64-byte line"
        );
        assert_eq!(w.memory().as_ptr() as usize % SLICE_ALIGN, 0);
        assert!(w.split_written().is_none(), "nothing written since");
        w.fill_from(&[9u8; 64]).unwrap();
        let second = w.split_written().unwrap();
        assert_eq!(second.as_slice(), &[9u8; 64][..]);
        assert_eq!(
            first.as_slice(),
            &[7u8; 100][..],
            "untouched by the later writes"
        );
        // The memory goes back only when every view of it is gone.
        drop(first);
        drop(w);
        assert_eq!(pool.stats().available, 0);
        drop(second);
        assert_eq!(pool.stats().available, 1);
    }

    #[test]
    fn a_full_view_splits_into_an_empty_rest() {
        let mut w = NetBuffer::unpooled(4096);
        w.fill_from(&[1u8; 4090]).unwrap();
        assert_eq!(w.room_after_split(), 0);
        let s = w.split_written().unwrap();
        assert_eq!(s.len(), 4090);
        assert_eq!(w.capacity(), 0);
        assert!(w.fill_from(b"x").is_err());
    }

    #[test]
    fn a_slice_is_read_on_another_thread_while_the_writer_fills_the_rest() {
        let pool = BufferPool::new(1, 64 * 1024);
        let mut w = pool.try_acquire().unwrap();
        let (tx, rx) = std::sync::mpsc::sync_channel::<NetBuffer>(64);
        let reader = std::thread::spawn(move || {
            let mut sum = 0u64;
            let mut n = 0;
            while let Ok(s) = rx.recv() {
                assert!(s.as_slice().iter().all(|b| *b == s.as_slice()[0]));
                sum += s.as_slice().len() as u64;
                n += 1;
            }
            (sum, n)
        });
        let mut sent = 0u64;
        for i in 0..100u8 {
            let n = 1 + (i as usize * 37) % 500;
            if w.room_after_split() < n + SLICE_ALIGN {
                break;
            }
            let at = w.len();
            w.memory_mut()[at..at + n].fill(i);
            w.set_len(at + n);
            sent += n as u64;
            tx.send(w.split_written().unwrap()).unwrap();
        }
        drop(tx);
        let (sum, slices) = reader.join().unwrap();
        assert_eq!(sum, sent);
        assert!(slices > 50, "{slices}");
        drop(w);
        assert_eq!(pool.stats().available, 1);
    }
}
