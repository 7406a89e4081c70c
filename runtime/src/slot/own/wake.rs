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
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
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
        // SAFETY: plain syscall with constant flags; the result is checked before use.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Arc::new(WakeShared {
            queue: SegQueue::new(),
            sleeping: AtomicBool::new(false),
            // SAFETY: `fd` was just created and is owned by nothing else.
            eventfd: unsafe { OwnedFd::from_raw_fd(fd) },
        }))
    }

    /// Queues `runnable` and wakes the slot if it is parked (any core).
    pub(crate) fn schedule(&self, runnable: Runnable) {
        self.queue.push(runnable);
        fence(Ordering::SeqCst);
        if self.sleeping.load(Ordering::SeqCst) && self.sleeping.swap(false, Ordering::SeqCst) {
            let one: u64 = 1;
            // SAFETY: writes 8 bytes from a live u64 to an eventfd we own. A failed write
            // means the counter is saturated, so the slot is being woken anyway.
            let _ = unsafe {
                libc::write(
                    self.eventfd.as_raw_fd(),
                    (&one as *const u64).cast(),
                    std::mem::size_of::<u64>(),
                )
            };
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
