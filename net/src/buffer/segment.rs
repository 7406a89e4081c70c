//! The memory behind the views of one network buffer, and its way back to the pool.
//!
//! Invariant: a [`Segment`] is shared (`Arc`) by every view split from one acquired buffer
//! (the writer's view that is still being filled and the slices already handed to a
//! consumer); its pages return to their pool when the last view is dropped, on whatever
//! core drops it. Global: views move between cores.

use super::page::Pages;
use super::pool::PoolShared;
use std::sync::Arc;

pub(super) struct Segment {
    pages: Option<Pages>,
    pool: Option<Arc<PoolShared>>,
}

impl Segment {
    pub(super) fn new(pages: Pages, pool: Option<Arc<PoolShared>>) -> Arc<Self> {
        Arc::new(Segment {
            pages: Some(pages),
            pool,
        })
    }

    fn pages(&self) -> &Pages {
        self.pages
            .as_ref()
            .expect("segment pages are present until drop")
    }

    /// The start of the memory.
    pub(super) fn ptr(&self) -> *mut u8 {
        self.pages().ptr()
    }

    /// Size in bytes.
    pub(super) fn len(&self) -> usize {
        self.pages().len()
    }

    /// Whether the pages go back to a pool.
    pub(super) fn is_pooled(&self) -> bool {
        self.pool.is_some()
    }
}

impl Drop for Segment {
    fn drop(&mut self) {
        if let (Some(pages), Some(pool)) = (self.pages.take(), self.pool.take()) {
            pool.give_back(pages);
        }
    }
}
