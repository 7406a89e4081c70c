//! The receiving side of a connection: [`RpcReceiver`] reads frames into an internal buffer,
//! routes responses to blocked requests, and hands out everything else as [`Incoming`].
//!
//! Invariants:
//! - Bytes read from the socket stay in the buffer until they form a whole frame: a read
//!   timeout in the middle of a frame loses nothing, and the next `recv` completes it.
//! - A header is validated as soon as its 20 bytes are in; a bad one fails the connection
//!   with [`RpcErrorKind::BadFrame`] naming the field, without waiting for its body.
//! - The receiver is the connection's only reader. Dropping it closes the connection, since
//!   nobody would route responses any more.
//! - The buffer grows to the largest frame seen plus one read chunk, bounded by
//!   [`RpcLimits::max_body`](super::RpcLimits::max_body), and shrinks back when empty.

use std::io::{self, Read};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::error::{RpcError, RpcErrorKind};
use super::frame::{split_frame, FrameStatus, RpcKind, HEADER_LEN};
use super::shared::Shared;

/// The least free space offered to one read.
const READ_CHUNK: usize = 64 << 10;
/// An empty buffer larger than this is shrunk back to `READ_CHUNK`.
const SHRINK_ABOVE: usize = 1 << 20;

/// A message from the peer, as [`RpcReceiver::recv`] returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// A request; answer it with [`RpcEndpoint::respond`](super::RpcEndpoint::respond) or
    /// [`RpcEndpoint::respond_error`](super::RpcEndpoint::respond_error) and this `id`.
    Request {
        /// Correlation id to answer with.
        id: u64,
        /// The request's body.
        body: Vec<u8>,
    },
    /// A one-way message.
    Notify {
        /// The message's body.
        body: Vec<u8>,
    },
    /// The answer to a request sent with
    /// [`RpcEndpoint::send_request`](super::RpcEndpoint::send_request) (never to one a caller
    /// is blocked on in `request`).
    Response {
        /// The id `send_request` returned.
        id: u64,
        /// The response body, or the peer's error message.
        result: Result<Vec<u8>, String>,
    },
}

/// What taking a frame off the buffer gave.
enum Step {
    /// A message for the caller of `recv`.
    Message(Incoming),
    /// A response handed to its waiter, or dropped.
    Routed,
    /// No whole frame yet: at least this many more bytes are needed.
    Need(usize),
}

/// The receiving side of an RPC connection; owned by one thread.
pub struct RpcReceiver {
    shared: Arc<Shared>,
    /// Received bytes live in `buf[start..end]`; `buf` is always initialized.
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl std::fmt::Debug for RpcReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcReceiver")
            .field("local", &self.shared.local)
            .field("peer", &self.shared.peer)
            .field("buffered", &(self.end - self.start))
            .finish()
    }
}

/// The error kind for a failed socket operation: the peer going away is `Closed`.
pub(super) fn io_kind(e: &io::Error) -> RpcErrorKind {
    match e.kind() {
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof
        | io::ErrorKind::NotConnected => RpcErrorKind::Closed,
        _ => RpcErrorKind::Io,
    }
}

impl RpcReceiver {
    pub(super) fn new(shared: Arc<Shared>) -> RpcReceiver {
        RpcReceiver {
            shared,
            buf: vec![0; READ_CHUNK],
            start: 0,
            end: 0,
        }
    }

    /// The next incoming message. `Ok(None)` when `timeout` passes with nothing complete (a
    /// partly received frame is kept and completed by the next call). `Err` when the
    /// connection is closed ([`RpcErrorKind::Closed`]), the peer sent a bad frame
    /// ([`RpcErrorKind::BadFrame`] naming the field; the connection is then closed), or the
    /// socket failed ([`RpcErrorKind::Io`]); every later call returns the same error.
    pub fn recv(&mut self, timeout: Duration) -> Result<Option<Incoming>, RpcError> {
        let deadline = Instant::now().checked_add(timeout);
        loop {
            if let Some(e) = self.shared.failure() {
                return Err(e);
            }
            let missing = loop {
                match self.next_frame()? {
                    Step::Message(msg) => return Ok(Some(msg)),
                    Step::Routed => continue,
                    Step::Need(missing) => break missing,
                }
            };
            let wait = match deadline {
                Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                    Some(wait) if !wait.is_zero() => Some(wait),
                    _ => return Ok(None),
                },
                None => None,
            };
            self.fill(missing, wait)?;
        }
    }

    /// Takes one whole frame off the buffer, if there is one; `Err` for a bad header (the
    /// connection has failed).
    fn next_frame(&mut self) -> Result<Step, RpcError> {
        let data = &self.buf[self.start..self.end];
        let header = match split_frame(data, self.shared.limits.max_body) {
            Ok(FrameStatus::Complete(header)) => header,
            Ok(FrameStatus::Incomplete { missing }) => return Ok(Step::Need(missing)),
            Err(e) => {
                return Err(self.shared.fail(RpcError::new(
                    RpcErrorKind::BadFrame,
                    format!(
                        "bad frame from {}: {} field: {e}",
                        self.shared.peer,
                        e.field()
                    ),
                )))
            }
        };
        let body = data[HEADER_LEN..header.frame_len()].to_vec();
        self.consume(header.frame_len());
        let id = header.id;
        let routed = match header.kind {
            RpcKind::Request => return Ok(Step::Message(Incoming::Request { id, body })),
            RpcKind::Notify => return Ok(Step::Message(Incoming::Notify { body })),
            RpcKind::Response => self.shared.route_response(id, Ok(body)),
            RpcKind::ErrorResponse => {
                let message = String::from_utf8_lossy(&body).into_owned();
                self.shared.route_response(id, Err(message))
            }
        };
        Ok(routed.map_or(Step::Routed, Step::Message))
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            if self.buf.len() > SHRINK_ABOVE {
                self.buf = vec![0; READ_CHUNK];
            }
        }
    }

    /// Makes room for at least `missing` more bytes (and one read chunk), compacting first.
    fn reserve(&mut self, missing: usize) {
        let want = missing.max(READ_CHUNK);
        if self.buf.len() - self.end >= want {
            return;
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() - self.end < want {
            self.buf.resize(self.end + want, 0);
        }
    }

    /// One read of up to the free space, waiting at most `wait` (`None`: until data or
    /// end-of-stream). A timeout reads nothing and is no error; end-of-stream or a socket error
    /// fails the connection.
    fn fill(&mut self, missing: usize, wait: Option<Duration>) -> Result<(), RpcError> {
        self.reserve(missing);
        let peer = self.shared.peer;
        if let Err(e) = self.shared.socket.set_read_timeout(wait) {
            return Err(self.shared.fail(RpcError::new(
                io_kind(&e),
                format!("setting the read timeout on the connection to {peer}: {e}"),
            )));
        }
        match (&self.shared.socket).read(&mut self.buf[self.end..]) {
            Ok(0) => {
                let buffered = self.end - self.start;
                let message = if buffered == 0 {
                    format!("connection closed by {peer}")
                } else {
                    format!(
                        "connection closed by {peer} inside a frame ({buffered} bytes received, {missing} more expected)"
                    )
                };
                Err(self
                    .shared
                    .fail(RpcError::new(RpcErrorKind::Closed, message)))
            }
            Ok(n) => {
                self.end += n;
                Ok(())
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(self.shared.fail(RpcError::new(
                io_kind(&e),
                format!("reading from {peer}: {e}"),
            ))),
        }
    }
}

impl Drop for RpcReceiver {
    fn drop(&mut self) {
        self.shared.fail(RpcError::new(
            RpcErrorKind::Closed,
            format!(
                "connection to {} closed: its receiver was dropped",
                self.shared.peer
            ),
        ));
    }
}
