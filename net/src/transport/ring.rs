//! The io_uring seam: the only place the transport touches the kernel's ring.
//!
//! A thin layer over the `io-uring` crate: submit socket operations tagged with an
//! [`Op`], wait for completions with an optional deadline, read them back. The network
//! thread's buffers must stay where they are until their operation completes; the
//! `unsafe` submit functions state that contract and the event loop upholds it by keeping
//! every target buffer inside the connection that issued the operation until its completion
//! arrives (see `connection.rs`).
//!
//! Why the raw ring rather than glommio's sockets: glommio's TCP path copies through its own
//! buffers and its executor parks for far longer than a socket round trip (measured in the
//! issue: 127 µs p50 ping-pong against 26 µs on a raw ring). Receiving straight into
//! network buffers and parking in `io_uring_enter` with a deadline is what the data plane
//! needs; slots keep running on glommio and talk to this thread through channels.

use io_uring::{cqueue, opcode, squeue, types, IoUring};
use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

/// What a completion belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// A receive on connection `n`.
    Recv(usize),
    /// A vectored send on connection `n`.
    Send(usize),
    /// The connect of connection `n`.
    Connect(usize),
    /// An accept on the listener.
    Accept,
    /// A read of the wake-up eventfd.
    Wake,
}

impl Op {
    fn encode(self) -> u64 {
        match self {
            Op::Recv(n) => (n as u64) << 8 | 1,
            Op::Send(n) => (n as u64) << 8 | 2,
            Op::Connect(n) => (n as u64) << 8 | 3,
            Op::Accept => 4,
            Op::Wake => 5,
        }
    }

    fn decode(v: u64) -> Option<Op> {
        let n = (v >> 8) as usize;
        Some(match v & 0xff {
            1 => Op::Recv(n),
            2 => Op::Send(n),
            3 => Op::Connect(n),
            4 => Op::Accept,
            5 => Op::Wake,
            _ => return None,
        })
    }
}

/// The ring of one network thread (lives on that thread only).
pub(crate) struct Ring {
    ring: IoUring,
}

impl Ring {
    /// A ring with room for `entries` submissions.
    pub(crate) fn new(entries: u32) -> io::Result<Ring> {
        let ring = IoUring::builder().build(entries).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "cannot set up io_uring ({e}): the network stack needs io_uring \
                     (check kernel.io_uring_disabled and any seccomp profile of the container)"
                ),
            )
        })?;
        Ok(Ring { ring })
    }

    fn push(&mut self, entry: squeue::Entry) -> io::Result<()> {
        loop {
            // SAFETY: the entries built in this module only point at memory whose lifetime
            // the calling `unsafe fn` made the caller guarantee until completion.
            let pushed = unsafe { self.ring.submission().push(&entry) }.is_ok();
            if pushed {
                return Ok(());
            }
            // Submission queue full: hand what is queued to the kernel and retry.
            self.ring.submit()?;
        }
    }

    /// Receives into the buffers of `iov[..n]` in order: whatever the socket holds, at
    /// least one byte unless the stream ends or fails.
    ///
    /// # Safety
    /// The iovec array and every buffer it points to must stay valid and unaliased until
    /// the completion of `Op::Recv(conn)`.
    pub(crate) unsafe fn readv(
        &mut self,
        fd: RawFd,
        conn: usize,
        iov: *const libc::iovec,
        n: usize,
    ) -> io::Result<()> {
        let e = opcode::Readv::new(types::Fd(fd), iov, n as u32)
            .build()
            .user_data(Op::Recv(conn).encode());
        self.push(e)
    }

    /// Sends the buffers of `iov[..n]` in order.
    ///
    /// # Safety
    /// The iovec array and every buffer it points to must stay valid until the completion
    /// of `Op::Send(conn)`.
    pub(crate) unsafe fn writev(
        &mut self,
        fd: RawFd,
        conn: usize,
        iov: *const libc::iovec,
        n: usize,
    ) -> io::Result<()> {
        let e = opcode::Writev::new(types::Fd(fd), iov, n as u32)
            .build()
            .user_data(Op::Send(conn).encode());
        self.push(e)
    }

    /// Connects `fd` to `addr`.
    ///
    /// # Safety
    /// `addr[..len]` must stay valid until the completion of `Op::Connect(conn)`.
    pub(crate) unsafe fn connect(
        &mut self,
        fd: RawFd,
        conn: usize,
        addr: *const libc::sockaddr,
        len: libc::socklen_t,
    ) -> io::Result<()> {
        let e = opcode::Connect::new(types::Fd(fd), addr, len)
            .build()
            .user_data(Op::Connect(conn).encode());
        self.push(e)
    }

    /// Accepts one connection on `fd` (the peer address is not needed).
    pub(crate) fn accept(&mut self, fd: RawFd) -> io::Result<()> {
        let e = opcode::Accept::new(types::Fd(fd), std::ptr::null_mut(), std::ptr::null_mut())
            .flags(libc::SOCK_CLOEXEC)
            .build()
            .user_data(Op::Accept.encode());
        self.push(e)
    }

    /// Reads the eventfd's counter into `target`.
    ///
    /// # Safety
    /// `target` must stay valid until the completion of `Op::Wake`.
    pub(crate) unsafe fn read_eventfd(&mut self, fd: RawFd, target: *mut u64) -> io::Result<()> {
        let e = opcode::Read::new(types::Fd(fd), target.cast(), 8)
            .build()
            .user_data(Op::Wake.encode());
        self.push(e)
    }

    /// Hands queued submissions to the kernel without waiting.
    pub(crate) fn submit(&mut self) -> io::Result<()> {
        self.ring.submit()?;
        Ok(())
    }

    /// Submits and waits for at least one completion or until `timeout` passes.
    pub(crate) fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        crate::uring::wait(&mut self.ring, timeout)
    }

    /// Whether completions are waiting to be read.
    pub(crate) fn has_completions(&mut self) -> bool {
        !self.ring.completion().is_empty()
    }

    /// Takes every available completion as `(op, result)`.
    pub(crate) fn drain(&mut self, out: &mut Vec<(Op, i32)>) {
        let cq: cqueue::CompletionQueue<'_> = self.ring.completion();
        for c in cq {
            if let Some(op) = Op::decode(c.user_data()) {
                out.push((op, c.result()));
            }
        }
    }
}
