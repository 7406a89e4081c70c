//! Waking the network thread from any core.
//!
//! Tasks on other cores make work for the network thread by pushing to channels whose
//! readiness is signalled through ordinary [`Waker`]s. Each waker here stands for one
//! [`Token`] (a partition with new messages, a channel whose queue or pool has room again,
//! a floating pool, the command queue). Waking it queues the token once and, if the network
//! thread is parked in `io_uring_enter`, writes to an eventfd that the ring watches.
//!
//! Invariants:
//! - A token is queued at most once until the network thread takes it ([`TokenWaker`]'s
//!   `queued` flag), so the ready queue never holds more entries than there are live tokens:
//!   it is bounded by construction although its type is not.
//! - `sleeping` is set (SeqCst) before the thread re-checks the ready queue and parks; a
//!   waker pushes (SeqCst) before it reads `sleeping`. So either the thread sees the token or
//!   the waker sees the thread asleep and writes the eventfd: no wake-up is lost.

use crossbeam_queue::SegQueue;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Wake, Waker};

/// What a wake-up is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Token {
    /// The command queue has entries.
    Commands,
    /// A registered partition (slot index) has messages to send.
    Partition(usize),
    /// An inbound channel (id) has room in its queue or free exclusive buffers.
    Inbound(u64),
    /// A floating pool (slot index) has free buffers.
    Floating(usize),
}

/// The network thread's side of wake-ups (global: shared with every core).
pub(crate) struct WakeHub {
    ready: SegQueue<Token>,
    sleeping: AtomicBool,
    eventfd: OwnedFd,
}

impl WakeHub {
    pub(crate) fn new() -> std::io::Result<Arc<WakeHub>> {
        Ok(Arc::new(WakeHub {
            ready: SegQueue::new(),
            sleeping: AtomicBool::new(false),
            eventfd: crate::uring::eventfd()?,
        }))
    }

    pub(crate) fn eventfd(&self) -> RawFd {
        self.eventfd.as_raw_fd()
    }

    fn push(&self, token: Token) {
        self.ready.push(token);
        // Pairs with the fence in `prepare_park` (store `sleeping`, then read the queue).
        std::sync::atomic::fence(Ordering::SeqCst);
        if self.sleeping.load(Ordering::SeqCst) {
            self.notify();
        }
    }

    /// Wakes the thread whatever it is doing.
    pub(crate) fn notify(&self) {
        crate::uring::signal(self.eventfd());
    }

    /// Whether tokens are queued.
    pub(crate) fn has_work(&self) -> bool {
        !self.ready.is_empty()
    }

    /// The next queued token.
    pub(crate) fn pop(&self) -> Option<Token> {
        self.ready.pop()
    }

    /// Announces that the thread is about to park; returns false if work arrived meanwhile
    /// (then the thread must not park).
    pub(crate) fn prepare_park(&self) -> bool {
        self.sleeping.store(true, Ordering::SeqCst);
        std::sync::atomic::fence(Ordering::SeqCst);
        if !self.ready.is_empty() {
            self.sleeping.store(false, Ordering::SeqCst);
            return false;
        }
        true
    }

    /// The thread is running again.
    pub(crate) fn unparked(&self) {
        self.sleeping.store(false, Ordering::SeqCst);
    }
}

/// A [`Waker`] that queues one token on the hub.
pub(crate) struct TokenWaker {
    token: Token,
    queued: AtomicBool,
    hub: Arc<WakeHub>,
}

impl TokenWaker {
    pub(crate) fn new(hub: &Arc<WakeHub>, token: Token) -> Arc<TokenWaker> {
        Arc::new(TokenWaker {
            token,
            queued: AtomicBool::new(false),
            hub: hub.clone(),
        })
    }

    /// Called by the network thread when it takes the token: later wakes queue it again.
    pub(crate) fn taken(&self) {
        self.queued.store(false, Ordering::SeqCst);
    }

    pub(crate) fn waker(self: &Arc<Self>) -> Waker {
        Waker::from(self.clone())
    }
}

impl Wake for TokenWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.queued.swap(true, Ordering::SeqCst) {
            self.hub.push(self.token);
        }
    }
}
