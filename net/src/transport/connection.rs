//! One TCP connection: its read state machine and its write queue.
//!
//! Reading alternates between a 40-byte header and its body. A data body is received
//! straight into a network buffer of the receiving channel; an error body into a small
//! vector; a body for a channel that is gone into a scratch area. Writing gathers queued
//! frames (header bytes and the buffer memory they refer to) into one vectored send.
//!
//! Invariants (memory safety of the ring operations):
//! - At most one receive and one send are in flight per connection. While a receive is in
//!   flight its target (the header array, the body buffer or the scratch area) stays in
//!   `self` and is neither moved out nor dropped; the same for a send's batch.
//! - A connection is freed only when neither is in flight (`idle()`), so the ring never
//!   writes into memory that was given back.

use super::ring::Ring;
use crate::buffer::NetBuffer;
use crate::error::ErrorKind;
use crate::frame::{Frame, HEADER_LEN};
use std::collections::{HashMap, VecDeque};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, RawFd};

/// Frames gathered into one send at most.
const MAX_BATCH: usize = 64;
/// Size of the scratch area for discarded bodies.
const SCRATCH: usize = 64 * 1024;

/// A frame waiting to be sent: its header and, for data and errors, its body.
pub(crate) struct OutFrame {
    header: [u8; HEADER_LEN],
    body: Body,
}

pub(crate) enum Body {
    None,
    Buffer(NetBuffer),
    Bytes(Box<[u8]>),
}

impl OutFrame {
    pub(crate) fn new(frame: Frame, body: Body) -> OutFrame {
        OutFrame {
            header: frame.encode(),
            body,
        }
    }

    fn body_slice(&self) -> &[u8] {
        match &self.body {
            Body::None => &[],
            Body::Buffer(b) => b.as_slice(),
            Body::Bytes(b) => b,
        }
    }
}

/// The frames of one vectored send and the iovecs that point into them.
struct SendBatch {
    /// Owns the memory `iov` points into (read by the kernel, not by us).
    _frames: Vec<OutFrame>,
    iov: Vec<libc::iovec>,
    /// First iovec not yet fully sent.
    at: usize,
}

/// Where the body being read goes.
pub(crate) enum BodyTarget {
    /// A data buffer for channel `receiver`.
    Data {
        receiver: u32,
        buf: NetBuffer,
        backlog: u32,
    },
    /// An error message.
    Error {
        receiver: Option<u32>,
        kind: ErrorKind,
        retry: bool,
        bytes: Vec<u8>,
    },
    /// Bytes nobody wants (a channel that is gone or failed).
    Discard,
}

pub(crate) enum ReadState {
    Header {
        filled: usize,
    },
    Body {
        target: BodyTarget,
        len: usize,
        filled: usize,
    },
}

/// Which side opened the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// We connected to a producer to consume its partitions.
    Client,
    /// A consumer connected to us.
    Server,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Connecting,
    Open,
    /// Shut down; freed once no operation is in flight.
    Closing,
}

pub(crate) struct Connection {
    pub(crate) stream: TcpStream,
    pub(crate) peer: SocketAddr,
    pub(crate) role: Role,
    pub(crate) state: State,
    header: Box<[u8; HEADER_LEN]>,
    pub(crate) read: ReadState,
    scratch: Box<[u8]>,
    recv_in_flight: bool,
    out: VecDeque<OutFrame>,
    sending: Option<SendBatch>,
    /// The address a connect op reads (kept alive until it completes).
    pub(crate) connect_addr: Option<Box<(libc::sockaddr_storage, libc::socklen_t)>>,
    pub(crate) connect_in_flight: bool,
    /// Client: our input channels on this connection, by receiver id → inbound id.
    pub(crate) receivers: HashMap<u32, u64>,
    /// Server: the subpartitions this consumer requested, by receiver id → (partition slot,
    /// subpartition).
    pub(crate) senders: HashMap<u32, (usize, usize)>,
    pub(crate) next_receiver: u32,
}

impl Connection {
    pub(crate) fn new(stream: TcpStream, peer: SocketAddr, role: Role, state: State) -> Self {
        let _ = stream.set_nodelay(true);
        Connection {
            stream,
            peer,
            role,
            state,
            header: Box::new([0; HEADER_LEN]),
            read: ReadState::Header { filled: 0 },
            scratch: vec![0; SCRATCH].into_boxed_slice(),
            recv_in_flight: false,
            out: VecDeque::new(),
            sending: None,
            connect_addr: None,
            connect_in_flight: false,
            receivers: HashMap::new(),
            senders: HashMap::new(),
            next_receiver: 0,
        }
    }

    pub(crate) fn fd(&self) -> RawFd {
        self.stream.as_raw_fd()
    }

    /// No ring operation refers to this connection's memory.
    pub(crate) fn idle(&self) -> bool {
        !self.recv_in_flight && self.sending.is_none() && !self.connect_in_flight
    }

    pub(crate) fn header_bytes(&self) -> &[u8; HEADER_LEN] {
        &self.header
    }

    /// Queues a frame for sending.
    pub(crate) fn queue(&mut self, frame: Frame, body: Body) {
        self.out.push_back(OutFrame::new(frame, body));
    }

    /// Shuts the socket down so in-flight operations complete, and drops queued frames
    /// (their buffers go back to their pools).
    pub(crate) fn close(&mut self) {
        if self.state != State::Closing {
            self.state = State::Closing;
            self.out.clear();
            // SAFETY: shutdown on a socket we own; errors (already closed) are harmless.
            unsafe { libc::shutdown(self.fd(), libc::SHUT_RDWR) };
        }
    }

    /// Submits the next receive if none is in flight.
    pub(crate) fn start_recv(&mut self, ring: &mut Ring, index: usize) -> std::io::Result<()> {
        if self.recv_in_flight || self.state != State::Open {
            return Ok(());
        }
        let fd = self.fd();
        let (ptr, len) = match &mut self.read {
            ReadState::Header { filled } => {
                (self.header[*filled..].as_mut_ptr(), HEADER_LEN - *filled)
            }
            ReadState::Body {
                target,
                len,
                filled,
            } => match target {
                BodyTarget::Data { buf, .. } => {
                    (buf.memory_mut()[*filled..*len].as_mut_ptr(), *len - *filled)
                }
                BodyTarget::Error { bytes, .. } => {
                    (bytes[*filled..*len].as_mut_ptr(), *len - *filled)
                }
                BodyTarget::Discard => {
                    let n = (*len - *filled).min(SCRATCH);
                    (self.scratch.as_mut_ptr(), n)
                }
            },
        };
        // SAFETY: the target lives in `self.header`, in the body target inside `self.read`,
        // or in `self.scratch`; none is moved or dropped while `recv_in_flight` is set (the
        // event loop changes `read` only after the completion, and frees the connection
        // only when idle). Heap memory does not move when `self` does.
        unsafe { ring.recv(fd, index, ptr, len)? };
        self.recv_in_flight = true;
        Ok(())
    }

    /// Records a completed receive of `n` bytes.
    pub(crate) fn recv_done(&mut self) {
        self.recv_in_flight = false;
    }

    /// Submits the next vectored send if none is in flight and frames are queued.
    pub(crate) fn start_send(&mut self, ring: &mut Ring, index: usize) -> std::io::Result<()> {
        if self.sending.is_some() || self.out.is_empty() || self.state != State::Open {
            return Ok(());
        }
        let n = self.out.len().min(MAX_BATCH);
        let frames: Vec<OutFrame> = self.out.drain(..n).collect();
        let mut iov = Vec::with_capacity(2 * n);
        for f in &frames {
            iov.push(libc::iovec {
                iov_base: f.header.as_ptr() as *mut _,
                iov_len: HEADER_LEN,
            });
            let body = f.body_slice();
            if !body.is_empty() {
                iov.push(libc::iovec {
                    iov_base: body.as_ptr() as *mut _,
                    iov_len: body.len(),
                });
            }
        }
        self.sending = Some(SendBatch {
            _frames: frames,
            iov,
            at: 0,
        });
        self.submit_send(ring, index)
    }

    fn submit_send(&mut self, ring: &mut Ring, index: usize) -> std::io::Result<()> {
        let fd = self.fd();
        let Some(batch) = self.sending.as_ref() else {
            return Ok(());
        };
        let rest = &batch.iov[batch.at..];
        // SAFETY: the iovecs and the frames they point into live in `self.sending` (heap
        // vectors that are not modified) until the completion of this send is handled.
        unsafe { ring.writev(fd, index, rest.as_ptr(), rest.len())? };
        Ok(())
    }

    /// Records a send that wrote `n` bytes; resubmits the rest of a partial send. Returns
    /// true when the batch is complete (its buffers are dropped back to their pools).
    pub(crate) fn send_done(
        &mut self,
        ring: &mut Ring,
        index: usize,
        mut n: usize,
    ) -> std::io::Result<bool> {
        let Some(batch) = self.sending.as_mut() else {
            return Ok(true);
        };
        while n > 0 && batch.at < batch.iov.len() {
            let v = &mut batch.iov[batch.at];
            if n >= v.iov_len {
                n -= v.iov_len;
                batch.at += 1;
            } else {
                // SAFETY: advancing within the same iovec's buffer by fewer than its length.
                v.iov_base = unsafe { (v.iov_base as *mut u8).add(n) }.cast();
                v.iov_len -= n;
                n = 0;
            }
        }
        if batch.at == batch.iov.len() {
            self.sending = None;
            return Ok(true);
        }
        if self.state != State::Open {
            self.sending = None;
            return Ok(true);
        }
        self.submit_send(ring, index)?;
        Ok(false)
    }

    /// Abandons the batch after a failed send.
    pub(crate) fn send_failed(&mut self) {
        self.sending = None;
    }
}
