//! One TCP connection: its read state machine and its write queue.
//!
//! Reading goes through a small read-ahead area ([`READ_AHEAD`] bytes): one receive brings
//! whatever the socket holds, up to that much, so a burst of control frames (credit) or of
//! small data frames costs one ring round trip, not two per frame. A frame whose body did
//! not arrive whole with its header gets a pending body: the part already read ahead is
//! copied into the target (at most `READ_AHEAD` bytes), and the next receive is a vectored
//! one whose first part is the rest of the body, straight into the target, and whose second
//! part is the read-ahead area again (the next frames' headers). So a data body is received
//! into the network buffer of its channel without a copy except for its first bytes, and a
//! stream of data frames costs one receive per frame. An error body goes into a small
//! vector; a body for a channel that is gone into a scratch area. Writing gathers queued
//! frames (header bytes and the buffer memory they refer to) into one vectored send.
//!
//! Invariants:
//! - At most one receive and one send are in flight per connection. While a receive is in
//!   flight its targets (the read-ahead area, the pending body's buffer or the scratch area,
//!   and the iovecs that point at them) stay in `self` and are neither moved out nor
//!   dropped; the same for a send's batch.
//! - A connection is freed only when neither is in flight (`idle()`), so the ring never
//!   writes into memory that was given back.
//! - While a body is pending the read-ahead area is empty: every byte read ahead before it
//!   belonged to that body (a body is pending only when the read-ahead ran out inside it).

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
/// Size of the read-ahead area: what one receive may bring beyond a pending body. Room
/// for 25 control frames; the bytes of a data body that land here are copied once.
pub(crate) const READ_AHEAD: usize = 1024;

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

/// A frame body that is still arriving.
pub(crate) struct PendingBody {
    pub(crate) target: BodyTarget,
    pub(crate) len: usize,
    pub(crate) filled: usize,
}

/// Bytes received but not parsed yet: `bytes[start..end]`.
pub(crate) struct ReadAhead {
    bytes: Box<[u8; READ_AHEAD]>,
    start: usize,
    end: usize,
}

impl ReadAhead {
    fn new() -> Self {
        ReadAhead {
            bytes: Box::new([0; READ_AHEAD]),
            start: 0,
            end: 0,
        }
    }

    /// Bytes waiting to be parsed.
    pub(crate) fn len(&self) -> usize {
        self.end - self.start
    }

    /// Takes the next frame header if all of it has arrived.
    pub(crate) fn next_header(&mut self) -> Option<[u8; HEADER_LEN]> {
        if self.len() < HEADER_LEN {
            return None;
        }
        let mut out = [0; HEADER_LEN];
        out.copy_from_slice(&self.bytes[self.start..self.start + HEADER_LEN]);
        self.start += HEADER_LEN;
        Some(out)
    }

    /// Takes up to `n` bytes.
    fn take(&mut self, n: usize) -> &[u8] {
        let k = n.min(self.len());
        let s = &self.bytes[self.start..self.start + k];
        self.start += k;
        s
    }

    /// Moves the unparsed bytes (less than a header) to the front; returns the free room.
    fn compact(&mut self) -> (*mut u8, usize) {
        if self.start > 0 {
            self.bytes.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let room = &mut self.bytes[self.end..];
        (room.as_mut_ptr(), room.len())
    }
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
    pub(crate) ahead: ReadAhead,
    pub(crate) body: Option<PendingBody>,
    scratch: Box<[u8]>,
    /// The iovecs of the receive in flight, and how many of its bytes go to the body.
    recv_iov: Box<[libc::iovec; 2]>,
    recv_body_part: usize,
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
            ahead: ReadAhead::new(),
            body: None,
            scratch: vec![0; SCRATCH].into_boxed_slice(),
            recv_iov: Box::new(
                [libc::iovec {
                    iov_base: std::ptr::null_mut(),
                    iov_len: 0,
                }; 2],
            ),
            recv_body_part: 0,
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

    /// Submits the next receive if none is in flight: the rest of the pending body (if
    /// any), then the free room of the read-ahead area.
    pub(crate) fn start_recv(&mut self, ring: &mut Ring, index: usize) -> std::io::Result<()> {
        if self.recv_in_flight || self.state != State::Open {
            return Ok(());
        }
        let mut n = 0;
        self.recv_body_part = 0;
        if let Some(PendingBody {
            target,
            len,
            filled,
        }) = &mut self.body
        {
            let rest = *len - *filled;
            let (ptr, part) = match target {
                BodyTarget::Data { buf, .. } => {
                    (buf.memory_mut()[*filled..*len].as_mut_ptr(), rest)
                }
                BodyTarget::Error { bytes, .. } => (bytes[*filled..*len].as_mut_ptr(), rest),
                BodyTarget::Discard => (self.scratch.as_mut_ptr(), rest.min(SCRATCH)),
            };
            self.recv_iov[0] = libc::iovec {
                iov_base: ptr.cast(),
                iov_len: part,
            };
            self.recv_body_part = part;
            n = 1;
        }
        let (ptr, room) = self.ahead.compact();
        self.recv_iov[n] = libc::iovec {
            iov_base: ptr.cast(),
            iov_len: room,
        };
        n += 1;
        // SAFETY: the iovecs live in `self.recv_iov` and point into the read-ahead area,
        // the pending body's target inside `self.body`, or `self.scratch`; none is moved,
        // changed or dropped while `recv_in_flight` is set (the event loop touches them
        // only after the completion, and frees the connection only when idle). Heap memory
        // does not move when `self` does.
        unsafe { ring.readv(self.fd(), index, self.recv_iov.as_ptr(), n)? };
        self.recv_in_flight = true;
        Ok(())
    }

    /// Records a completed receive of `n` bytes: the pending body's part first, the rest
    /// read ahead.
    pub(crate) fn recv_done(&mut self, n: usize) {
        self.recv_in_flight = false;
        let to_body = n.min(self.recv_body_part);
        if let Some(b) = &mut self.body {
            b.filled += to_body;
        }
        self.ahead.end += n - to_body;
    }

    /// Copies what was read ahead into the pending body; returns the body once whole.
    pub(crate) fn fill_body(&mut self) -> Option<PendingBody> {
        let b = self.body.as_mut()?;
        let bytes = self.ahead.take(b.len - b.filled);
        let k = bytes.len();
        match &mut b.target {
            BodyTarget::Data { buf, .. } => {
                buf.memory_mut()[b.filled..b.filled + k].copy_from_slice(bytes)
            }
            BodyTarget::Error { bytes: v, .. } => v[b.filled..b.filled + k].copy_from_slice(bytes),
            BodyTarget::Discard => {}
        }
        b.filled += k;
        if b.filled == b.len {
            self.body.take()
        } else {
            None
        }
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
