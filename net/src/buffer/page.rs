//! Page-aligned memory: the allocation under every [`NetBuffer`](super::NetBuffer).

/// The alignment and granularity of network buffer memory.
pub const PAGE_SIZE: usize = 4096;

#[derive(Clone, Copy)]
#[repr(C, align(4096))]
struct Page([u8; PAGE_SIZE]);

/// A boxed run of whole pages, so the memory starts on a page boundary.
pub(super) struct Pages(Box<[Page]>);

impl Pages {
    /// At least `bytes` bytes (at least one page), zeroed.
    pub(super) fn new(bytes: usize) -> Self {
        let n = bytes.div_ceil(PAGE_SIZE).max(1);
        Pages(vec![Page([0; PAGE_SIZE]); n].into_boxed_slice())
    }

    pub(super) fn len(&self) -> usize {
        self.0.len() * PAGE_SIZE
    }

    pub(super) fn as_slice(&self) -> &[u8] {
        // SAFETY: `Page` is `repr(C)` around a `[u8; PAGE_SIZE]` with an alignment equal to
        // its size, so a slice of pages is `len()` contiguous, initialised bytes without
        // padding; the borrow of `self` keeps the memory alive and unaliased for writes.
        unsafe { std::slice::from_raw_parts(self.0.as_ptr().cast::<u8>(), self.len()) }
    }

    pub(super) fn as_mut_slice(&mut self) -> &mut [u8] {
        let len = self.len();
        // SAFETY: as in `as_slice`; the exclusive borrow of `self` makes this the only
        // reference to the memory.
        unsafe { std::slice::from_raw_parts_mut(self.0.as_mut_ptr().cast::<u8>(), len) }
    }
}
