//! Waking a slot from any core: its run queue and its sleep flag.
//!
//! A task's waker pushes the task's `Runnable` onto the slot's run queue; if the slot is
//! parked in `io_uring_enter`, the waker also writes the slot's eventfd, which the ring
//! watches.
//!
//! Invariants:
//! - A task is on the run queue at most once until it runs (`async-task` schedules a task
//!   only when it is not already scheduled), so the queue never holds more entries than
//!   the slot has live tasks: bounded by construction although its type is not.
//! - `sleeping` is set (SeqCst) before the slot re-checks its run queue and parks; a waker
//!   pushes, fences (SeqCst) and then reads `sleeping`. So either the slot sees the task or
//!   the waker sees the slot asleep and writes the eventfd: no wake-up is lost, and no
//!   `membarrier` is needed (glommio's protocol uses one per park).

use async_task::Runnable;
use crossbeam_queue::SegQueue;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::sync::Arc;

/// The part of a slot that wakers on any core touch (global handle).
pub(crate) struct WakeShared {
    queue: SegQueue<Runnable>,
    sleeping: AtomicBool,
    eventfd: OwnedFd,
}

impl WakeShared {
    pub(crate) fn new() -> std::io::Result<Arc<WakeShared>> {
        Ok(Arc::new(WakeShared {
            queue: SegQueue::new(),
            sleeping: AtomicBool::new(false),
            eventfd: strom_net::uring::eventfd()?,
        }))
    }

    /// Queues `runnable` and wakes the slot if it is parked (any core).
    pub(crate) fn schedule(&self, runnable: Runnable) {
        self.queue.push(runnable);
        fence(Ordering::SeqCst);
        if self.sleeping.load(Ordering::SeqCst) && self.sleeping.swap(false, Ordering::SeqCst) {
            strom_net::uring::signal(self.eventfd.as_raw_fd());
        }
    }

    /// The next queued task (the slot's own thread).
    pub(crate) fn pop(&self) -> Option<Runnable> {
        self.queue.pop()
    }

    /// Announces that the slot is about to park; false (and not parked) if a task was
    /// queued meanwhile.
    pub(crate) fn prepare_to_park(&self) -> bool {
        self.sleeping.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        if self.queue.is_empty() {
            true
        } else {
            self.sleeping.store(false, Ordering::SeqCst);
            false
        }
    }

    /// The slot is awake again.
    pub(crate) fn woke(&self) {
        self.sleeping.store(false, Ordering::SeqCst);
    }

    /// Whether tasks are queued.
    pub(crate) fn has_queued(&self) -> bool {
        !self.queue.is_empty()
    }

    pub(crate) fn eventfd(&self) -> RawFd {
        self.eventfd.as_raw_fd()
    }
}
