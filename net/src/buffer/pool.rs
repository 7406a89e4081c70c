//! Bounded buffer pools.
//!
//! A pool allocates all its buffers when created and never grows. Acquiring is lock-free
//! (a `crossbeam` array queue); a single waiting task (the writer that owns the pool) is
//! woken through an atomic waker when a buffer comes back, from any core.
//!
//! A pool can be carved out of another ([`BufferPool::carve`]): the child takes some of the
//! parent's free buffers for its own use (a channel's exclusive buffers, a gate's floating
//! buffers, a subpartition's cap) and gives them all back to the parent once the child and
//! every buffer taken from it are dropped. So a TaskManager's network memory is one pool
//! whose size is configuration, and everything the network stack uses comes out of it.

use super::page::Pages;
use super::NetBuffer;
use atomic_waker::AtomicWaker;
use crossbeam_queue::ArrayQueue;
use std::future::poll_fn;
use std::sync::Arc;
use std::task::{Context, Poll};

pub(super) struct PoolShared {
    free: ArrayQueue<Pages>,
    waker: AtomicWaker,
    buffer_size: usize,
    /// The pool this one was carved from; its buffers go back there when this one is gone.
    parent: Option<Arc<PoolShared>>,
}

impl Drop for PoolShared {
    fn drop(&mut self) {
        if let Some(parent) = &self.parent {
            while let Some(pages) = self.free.pop() {
                parent.give_back(pages);
            }
        }
    }
}

/// A pool has fewer free buffers than were asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("network buffer pool exhausted: {requested} buffers requested, {available} of {capacity} free (raise the network memory or lower buffers per channel)")]
pub struct PoolExhausted {
    /// Buffers asked for.
    pub requested: usize,
    /// Buffers free when asked.
    pub available: usize,
    /// The pool's capacity.
    pub capacity: usize,
}

impl PoolShared {
    pub(super) fn give_back(&self, pages: Pages) {
        // The queue's capacity is the number of buffers ever allocated for this pool, so a
        // returned buffer always fits.
        if self.free.push(pages).is_err() {
            debug_assert!(false, "buffer pool over-full: a buffer was returned twice");
        }
        self.waker.wake();
    }
}

/// A bounded pool of equally sized network buffers (a global, cross-core handle).
#[derive(Clone)]
pub struct BufferPool {
    shared: Arc<PoolShared>,
}

/// A snapshot of a pool's fill, for metrics and leak checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Buffers the pool owns in all.
    pub capacity: usize,
    /// Buffers currently in the pool.
    pub available: usize,
}

impl BufferPool {
    /// A pool of `count` buffers of `buffer_size` bytes (rounded up to whole pages).
    ///
    /// Panics if `count` is zero: a pool without buffers could never make progress (the
    /// configuration layer rejects that before it gets here).
    pub fn new(count: usize, buffer_size: usize) -> Self {
        assert!(count > 0, "a buffer pool needs at least one buffer");
        let free = ArrayQueue::new(count);
        let mut size = 0;
        for _ in 0..count {
            let p = Pages::new(buffer_size);
            size = p.len();
            let _ = free.push(p);
        }
        BufferPool {
            shared: Arc::new(PoolShared {
                free,
                waker: AtomicWaker::new(),
                buffer_size: size,
                parent: None,
            }),
        }
    }

    /// A pool of `count` of this pool's free buffers, returned here when the new pool and
    /// all its buffers are dropped. Fails, taking nothing, if fewer are free.
    pub fn carve(&self, count: usize) -> Result<BufferPool, PoolExhausted> {
        let exhausted = || PoolExhausted {
            requested: count,
            available: self.shared.free.len(),
            capacity: self.shared.free.capacity(),
        };
        if count == 0 || count > self.shared.free.len() {
            return Err(exhausted());
        }
        let free = ArrayQueue::new(count);
        for _ in 0..count {
            match self.shared.free.pop() {
                Some(p) => {
                    let _ = free.push(p);
                }
                None => {
                    // Another core took buffers in between: give back what was taken.
                    let e = exhausted();
                    while let Some(p) = free.pop() {
                        self.shared.give_back(p);
                    }
                    return Err(e);
                }
            }
        }
        Ok(BufferPool {
            shared: Arc::new(PoolShared {
                free,
                waker: AtomicWaker::new(),
                buffer_size: self.shared.buffer_size,
                parent: Some(self.shared.clone()),
            }),
        })
    }

    /// An identity for this pool (equal for clones of the same pool).
    pub fn id(&self) -> usize {
        Arc::as_ptr(&self.shared) as usize
    }

    /// Size in bytes of each buffer.
    pub fn buffer_size(&self) -> usize {
        self.shared.buffer_size
    }

    /// Capacity and current fill.
    pub fn stats(&self) -> PoolStats {
        PoolStats {
            capacity: self.shared.free.capacity(),
            available: self.shared.free.len(),
        }
    }

    /// A buffer if one is free.
    pub fn try_acquire(&self) -> Option<NetBuffer> {
        self.shared
            .free
            .pop()
            .map(|p| NetBuffer::from_pool(p, self.shared.clone()))
    }

    /// Polls for a buffer, registering the calling task to be woken when one returns.
    ///
    /// Only one task may wait on a pool at a time (its owning writer).
    pub fn poll_acquire(&self, cx: &mut Context<'_>) -> Poll<NetBuffer> {
        if let Some(b) = self.try_acquire() {
            return Poll::Ready(b);
        }
        self.shared.waker.register(cx.waker());
        match self.try_acquire() {
            Some(b) => Poll::Ready(b),
            None => Poll::Pending,
        }
    }

    /// Waits for a free buffer.
    pub async fn acquire(&self) -> NetBuffer {
        poll_fn(|cx| self.poll_acquire(cx)).await
    }

    /// Whether a buffer is free right now.
    pub fn has_free(&self) -> bool {
        !self.shared.free.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_on_drop() {
        let pool = BufferPool::new(2, 4096);
        let a = pool.try_acquire().unwrap();
        let b = pool.try_acquire().unwrap();
        assert!(pool.try_acquire().is_none());
        assert_eq!(
            pool.stats(),
            PoolStats {
                capacity: 2,
                available: 0
            }
        );
        drop(a);
        let c = std::thread::spawn(move || drop(b));
        c.join().unwrap();
        assert_eq!(
            pool.stats(),
            PoolStats {
                capacity: 2,
                available: 2
            }
        );
    }

    #[test]
    fn carved_pools_give_their_buffers_back_to_the_parent() {
        let tm = BufferPool::new(4, 4096);
        let child = tm.carve(3).unwrap();
        assert_eq!(tm.stats().available, 1);
        assert_eq!(
            tm.carve(2).err().unwrap(),
            PoolExhausted {
                requested: 2,
                available: 1,
                capacity: 4
            }
        );
        let held = child.try_acquire().unwrap();
        drop(child);
        // The child lives on in its outstanding buffer.
        assert_eq!(tm.stats().available, 1);
        drop(held);
        assert_eq!(tm.stats().available, 4);
        assert!(tm.carve(0).is_err());
    }

    #[test]
    fn waiting_writer_is_woken_from_another_thread() {
        let pool = BufferPool::new(1, 4096);
        let held = pool.try_acquire().unwrap();
        let t = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            drop(held);
        });
        let got = futures_lite::future::block_on(pool.acquire());
        assert_eq!(got.capacity(), 4096);
        t.join().unwrap();
    }
}
