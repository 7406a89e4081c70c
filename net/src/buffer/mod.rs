//! Fixed-size, page-aligned network buffers.
//!
//! Invariants:
//! - A [`NetBuffer`]'s memory starts on a 4 KiB page boundary and its capacity is a whole
//!   number of pages. Copies between buffers therefore always have equal page offsets
//!   (misaligned copies run many times slower on this hardware).
//! - A pooled buffer returns to its [`BufferPool`] when dropped, on whatever core drops it.
//!   Pools never grow: a buffer is either in the pool, with a writer, in a channel queue or
//!   with a reader, and the sum is the pool's capacity.
//! - An unpooled buffer (for a single record larger than a pooled buffer) is freed on drop.
//!
//! Ownership: `NetBuffer` is `Send` (it moves across cores with its contents); the pool is a
//! global, cross-core handle backed by a lock-free queue.

mod page;
mod pool;

pub use page::PAGE_SIZE;
pub use pool::{BufferPool, PoolExhausted, PoolStats};

use page::Pages;
use std::sync::Arc;

/// A network buffer: page-aligned memory with a fill level, recycled to its pool on drop.
pub struct NetBuffer {
    pages: Option<Pages>,
    len: usize,
    pool: Option<Arc<pool::PoolShared>>,
}

impl NetBuffer {
    /// An unpooled buffer of at least `capacity` bytes, freed when dropped.
    ///
    /// Used for a record that does not fit a pooled buffer, and for the records a task
    /// emits after its pool ran dry within one step (bounded by the step); it is not
    /// counted against any pool.
    pub fn unpooled(capacity: usize) -> Self {
        NetBuffer {
            pages: Some(Pages::new(capacity)),
            len: 0,
            pool: None,
        }
    }

    fn from_pool(pages: Pages, pool: Arc<pool::PoolShared>) -> Self {
        NetBuffer {
            pages: Some(pages),
            len: 0,
            pool: Some(pool),
        }
    }

    fn pages(&self) -> &Pages {
        self.pages
            .as_ref()
            .expect("NetBuffer pages are present until drop")
    }

    /// Capacity in bytes.
    pub fn capacity(&self) -> usize {
        self.pages().len()
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
        self.pool.is_some()
    }

    /// The written bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.pages().as_slice()[..self.len]
    }

    /// The whole memory, written or not.
    pub fn memory(&self) -> &[u8] {
        self.pages().as_slice()
    }

    /// The whole memory for writing; call [`NetBuffer::set_len`] after writing.
    pub fn memory_mut(&mut self) -> &mut [u8] {
        self.pages
            .as_mut()
            .expect("NetBuffer pages are present until drop")
            .as_mut_slice()
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

impl Drop for NetBuffer {
    fn drop(&mut self) {
        if let (Some(pages), Some(pool)) = (self.pages.take(), self.pool.take()) {
            pool.give_back(pages);
        }
    }
}

impl std::fmt::Debug for NetBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetBuffer")
            .field("len", &self.len)
            .field("capacity", &self.capacity())
            .field("pooled", &self.is_pooled())
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
}
