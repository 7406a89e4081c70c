//! The slot's io_uring: where the slot parks, and its file and socket reads (per-slot).
//!
//! Parking is one `io_uring_enter` that waits for a completion or the next timer: the read
//! of the slot's eventfd (armed while the slot may park, see [`super::wake`]) or an I/O
//! operation of a task. No preempt timers are armed per pass of the loop: our time slice
//! is `slot::yield_if_needed`.
//!
//! Invariant: the memory an operation reads into or from (its `Op`'s buffer and address)
//! belongs to the ring's operation table until the kernel's completion arrives, whatever
//! happens to the future that issued it; a dropped future only marks its operation
//! abandoned, and the buffer is freed with the completion (or leaked, never freed early,
//! if the ring goes away with operations still in the kernel).

use io_uring::{opcode, squeue, types, IoUring};
use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// `user_data` of the eventfd read.
const WAKE: u64 = u64::MAX;

/// What an operation keeps alive until its completion.
#[derive(Default)]
pub(crate) struct OpMemory {
    /// The buffer read into.
    pub(crate) buf: Vec<u8>,
    /// A socket address (connect).
    pub(crate) addr: Option<Box<(libc::sockaddr_storage, libc::socklen_t)>>,
}

enum OpState {
    Free,
    InFlight {
        waker: Option<Waker>,
        mem: OpMemory,
        abandoned: bool,
    },
    Done {
        result: i32,
        mem: OpMemory,
    },
}

/// The ring and its operations (per-slot).
pub(crate) struct SlotRing {
    ring: IoUring,
    ops: Vec<OpState>,
    free: Vec<usize>,
    /// Target of the eventfd read (boxed: its address is in the kernel while armed).
    wake_target: Box<u64>,
    wake_armed: bool,
    eventfd: i32,
}

impl SlotRing {
    pub(crate) fn new(eventfd: i32) -> io::Result<SlotRing> {
        let ring = IoUring::builder().build(64).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "cannot set up io_uring ({e}): check kernel.io_uring_disabled and any \
                     seccomp profile of the container"
                ),
            )
        })?;
        if !ring.params().is_feature_ext_arg() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "this kernel's io_uring cannot wait with a timeout (IORING_FEAT_EXT_ARG, Linux 5.11+): \
                 run the slots on glommio (taskmanager.slot.executor: glommio)",
            ));
        }
        Ok(SlotRing {
            ring,
            ops: Vec::new(),
            free: Vec::new(),
            wake_target: Box::new(0),
            wake_armed: false,
            eventfd,
        })
    }

    fn push(&mut self, entry: &squeue::Entry) -> io::Result<()> {
        loop {
            // SAFETY: every entry built here points only at memory owned by the operation
            // table (or `wake_target`) until its completion (module invariant).
            if unsafe { self.ring.submission().push(entry) }.is_ok() {
                return Ok(());
            }
            // Submission queue full: hand it to the kernel (reaping first if the kernel
            // says its completions are backed up) and retry.
            if let Err(e) = self.ring.submit() {
                if !is_busy(&e) {
                    return Err(e);
                }
                self.reap();
            }
        }
    }

    /// Arms the eventfd read so a remote waker can end a park.
    fn arm_wake(&mut self) -> io::Result<()> {
        if !self.wake_armed {
            let target: *mut u64 = &mut *self.wake_target;
            let e = opcode::Read::new(types::Fd(self.eventfd), target.cast(), 8)
                .build()
                .user_data(WAKE);
            self.push(&e)?;
            self.wake_armed = true;
        }
        Ok(())
    }

    /// Takes every completion: wakes the tasks whose operations finished. How many.
    pub(crate) fn reap(&mut self) -> usize {
        let mut n = 0;
        let done: Vec<(u64, i32)> = self
            .ring
            .completion()
            .map(|c| (c.user_data(), c.result()))
            .collect();
        for (user_data, result) in done {
            n += 1;
            if user_data == WAKE {
                self.wake_armed = false;
                continue;
            }
            let i = user_data as usize;
            let Some(state) = self.ops.get_mut(i) else {
                continue;
            };
            if let OpState::InFlight {
                waker,
                mem,
                abandoned,
            } = std::mem::replace(state, OpState::Free)
            {
                if abandoned {
                    self.free.push(i);
                } else {
                    *state = OpState::Done { result, mem };
                    if let Some(w) = waker {
                        w.wake();
                    }
                }
            }
        }
        n
    }

    /// Parks until a completion (a remote wake, an operation) or `timeout`.
    pub(crate) fn park(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.arm_wake()?;
        strom_net::uring::wait(&mut self.ring, timeout)
    }

    /// Hands queued submissions to the kernel without waiting.
    /// (A kernel with its completions backed up may refuse for now: they are reaped at the
    /// top of the next pass and the entries go with the next submit or park.)
    pub(crate) fn submit(&mut self) -> io::Result<()> {
        if !self.ring.submission().is_empty() {
            match self.ring.submit() {
                Err(e) if !is_busy(&e) => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    /// Whether completions are waiting to be taken.
    pub(crate) fn has_completions(&mut self) -> bool {
        !self.ring.completion().is_empty()
    }

    /// Starts an operation: `build` makes its entry from the memory it keeps alive.
    fn start(
        &mut self,
        mut mem: OpMemory,
        build: impl FnOnce(&mut OpMemory) -> squeue::Entry,
    ) -> io::Result<usize> {
        let i = match self.free.pop() {
            Some(i) => i,
            None => {
                self.ops.push(OpState::Free);
                self.ops.len() - 1
            }
        };
        let entry = build(&mut mem).user_data(i as u64);
        // The memory moves into the table before the kernel sees the entry; a Vec's heap
        // buffer and a Box's contents do not move with their owner.
        self.ops[i] = OpState::InFlight {
            waker: None,
            mem,
            abandoned: false,
        };
        if let Err(e) = self.push(&entry) {
            self.ops[i] = OpState::Free;
            self.free.push(i);
            return Err(e);
        }
        // Submitted at once: the kernel takes its reference to the file now, so a future
        // dropped in this pass (its descriptor closed, the number reused) cannot point
        // the operation at another file.
        self.submit()?;
        Ok(i)
    }
}

impl Drop for SlotRing {
    fn drop(&mut self) {
        // Operations still in the kernel may write into their memory after the ring's file
        // closes: leak it rather than free it under the kernel.
        for op in self.ops.drain(..) {
            if let OpState::InFlight { mem, .. } = op {
                std::mem::forget(mem);
            }
        }
        // The same for the eventfd read's target while that read is armed.
        if self.wake_armed {
            std::mem::forget(std::mem::take(&mut self.wake_target));
        }
    }
}

/// An operation in flight; resolves to its result and the memory it used.
pub(crate) struct OpFuture {
    ring: Rc<RefCell<SlotRing>>,
    index: Option<usize>,
}

impl Future for OpFuture {
    type Output = (i32, OpMemory);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(i) = self.index else {
            return Poll::Ready((-libc::ECANCELED, OpMemory::default()));
        };
        let ring = self.ring.clone();
        let mut ring = ring.borrow_mut();
        match &mut ring.ops[i] {
            OpState::InFlight { waker, .. } => {
                *waker = Some(cx.waker().clone());
                Poll::Pending
            }
            OpState::Done { .. } => {
                let OpState::Done { result, mem } =
                    std::mem::replace(&mut ring.ops[i], OpState::Free)
                else {
                    unreachable!("matched above")
                };
                ring.free.push(i);
                self.index = None;
                Poll::Ready((result, mem))
            }
            OpState::Free => {
                self.index = None;
                Poll::Ready((-libc::ECANCELED, OpMemory::default()))
            }
        }
    }
}

impl Drop for OpFuture {
    fn drop(&mut self) {
        let Some(i) = self.index.take() else { return };
        let Ok(mut ring) = self.ring.try_borrow_mut() else {
            return;
        };
        match &mut ring.ops[i] {
            OpState::InFlight { abandoned, .. } => *abandoned = true,
            OpState::Done { .. } => {
                ring.ops[i] = OpState::Free;
                ring.free.push(i);
            }
            OpState::Free => {}
        }
    }
}

/// Reads up to `len` bytes of `fd` at `offset` (`-1`: the file's position, for sockets).
pub(crate) fn read(
    ring: &Rc<RefCell<SlotRing>>,
    fd: i32,
    offset: i64,
    len: usize,
) -> io::Result<OpFuture> {
    let mem = OpMemory {
        buf: Vec::with_capacity(len),
        addr: None,
    };
    let index = ring.borrow_mut().start(mem, |m| {
        opcode::Read::new(types::Fd(fd), m.buf.as_mut_ptr(), len as u32)
            .offset(offset as u64)
            .build()
    })?;
    Ok(OpFuture {
        ring: ring.clone(),
        index: Some(index),
    })
}

/// Connects socket `fd` to `addr`.
pub(crate) fn connect(
    ring: &Rc<RefCell<SlotRing>>,
    fd: i32,
    addr: (libc::sockaddr_storage, libc::socklen_t),
) -> io::Result<OpFuture> {
    let mem = OpMemory {
        buf: Vec::new(),
        addr: Some(Box::new(addr)),
    };
    let index = ring.borrow_mut().start(mem, |m| {
        let (storage, len) = &**m.addr.as_ref().expect("set above");
        let ptr: *const libc::sockaddr_storage = storage;
        opcode::Connect::new(types::Fd(fd), ptr.cast(), *len).build()
    })?;
    Ok(OpFuture {
        ring: ring.clone(),
        index: Some(index),
    })
}

/// Whether a submit failed only because the kernel's completions are backed up.
fn is_busy(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EBUSY | libc::EAGAIN))
}
