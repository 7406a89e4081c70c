//! Page-aligned memory: the allocation under every [`NetBuffer`](super::NetBuffer).
//!
//! Invariant: a [`Pages`] owns its allocation and hands out only a raw pointer to it, so the
//! views of one buffer ([`NetBuffer`](super::NetBuffer)s split from each other) can borrow
//! disjoint ranges of it from different cores without any reference covering the whole.

use std::alloc::{alloc_zeroed, dealloc, handle_alloc_error, Layout};
use std::ptr::NonNull;

/// The alignment and granularity of network buffer memory.
pub const PAGE_SIZE: usize = 4096;

/// A run of whole zeroed pages starting on a page boundary (global: moves between cores).
pub(super) struct Pages {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: `Pages` owns its allocation exclusively (like a `Box<[u8]>`); who may read or
// write which part of it is decided by the views that hold it (see `NetBuffer`).
unsafe impl Send for Pages {}
// SAFETY: `&Pages` exposes only the pointer and the length, never the bytes.
unsafe impl Sync for Pages {}

impl Pages {
    /// At least `bytes` bytes (at least one page), zeroed.
    pub(super) fn new(bytes: usize) -> Self {
        let len = bytes.div_ceil(PAGE_SIZE).max(1) * PAGE_SIZE;
        let layout = Self::layout(len);
        // SAFETY: the layout has a non-zero size.
        let raw = unsafe { alloc_zeroed(layout) };
        let Some(ptr) = NonNull::new(raw) else {
            handle_alloc_error(layout)
        };
        Pages { ptr, len }
    }

    fn layout(len: usize) -> Layout {
        Layout::from_size_align(len, PAGE_SIZE).expect("network buffer size overflows isize")
    }

    /// Size in bytes.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// The start of the memory.
    pub(super) fn ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }
}

impl Drop for Pages {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout, and freed only here.
        unsafe { dealloc(self.ptr.as_ptr(), Self::layout(self.len)) }
    }
}
