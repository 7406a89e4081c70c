//! The sending side of a connection: [`RpcEndpoint`], and the [`RpcLimits`] both sides apply.
//!
//! Invariants:
//! - An endpoint is `Clone + Send + Sync`; all clones share one connection. Frames are written
//!   whole under one lock, so concurrent senders never interleave bytes.
//! - A blocked [`RpcEndpoint::request`] ends exactly one way: its response, its error response
//!   ([`RpcErrorKind::Remote`]), its timeout ([`RpcErrorKind::Timeout`], the connection stays
//!   usable and a late response is dropped), or the connection's failure, which it learns as
//!   soon as the failure is seen (by [`RpcEndpoint::close`], a failed write, or the receiver
//!   reading end-of-stream, an I/O error or a bad frame), not after its timeout.
//! - Responses are routed by the [`RpcReceiver`](super::RpcReceiver): someone must be calling
//!   `recv` for `request` to see its response. A write blocked on a peer that does not read is
//!   released by `close` (heartbeats above this layer decide when to call it).

use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc::{sync_channel, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

use super::error::{RpcError, RpcErrorKind};
use super::frame::{RpcKind, DEFAULT_MAX_BODY};
use super::receiver::RpcReceiver;
use super::shared::Shared;

/// Limits of one connection, applied to what is sent and to what is received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RpcLimits {
    /// The largest body accepted or sent, in bytes. Default: 16 MiB.
    pub max_body: usize,
}

impl Default for RpcLimits {
    fn default() -> Self {
        RpcLimits {
            max_body: DEFAULT_MAX_BODY,
        }
    }
}

/// The sending side of an RPC connection. Clone it freely: clones share the connection.
#[derive(Clone)]
pub struct RpcEndpoint {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for RpcEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcEndpoint")
            .field("local", &self.shared.local)
            .field("peer", &self.shared.peer)
            .finish()
    }
}

impl RpcEndpoint {
    /// Connects to `addr` within `timeout`; returns the connection's two sides.
    pub fn connect(
        addr: SocketAddr,
        timeout: Duration,
        limits: RpcLimits,
    ) -> Result<(RpcEndpoint, RpcReceiver), RpcError> {
        let stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| {
            RpcError::new(
                RpcErrorKind::Connect,
                format!("connecting to {addr} (timeout {timeout:?}): {e}"),
            )
        })?;
        RpcEndpoint::from_stream(stream, limits)
    }

    /// Wraps a connected stream (typically an accepted one) and sets TCP_NODELAY; returns the
    /// connection's two sides.
    pub fn from_stream(
        stream: TcpStream,
        limits: RpcLimits,
    ) -> Result<(RpcEndpoint, RpcReceiver), RpcError> {
        let shared = Arc::new(Shared::new(stream, limits)?);
        let receiver = RpcReceiver::new(Arc::clone(&shared));
        Ok((RpcEndpoint { shared }, receiver))
    }

    /// Sends a one-way message.
    pub fn notify(&self, body: &[u8]) -> Result<(), RpcError> {
        self.shared.write_frame(RpcKind::Notify, 0, body)
    }

    /// Sends a request and blocks until its response arrives (another thread must be calling
    /// [`RpcReceiver::recv`], which routes the response here), the timeout passes, or the
    /// connection closes. An error response comes back as [`RpcErrorKind::Remote`].
    pub fn request(&self, body: &[u8], timeout: Duration) -> Result<Vec<u8>, RpcError> {
        let id = self.shared.next_id();
        let (tx, rx) = sync_channel(1);
        self.shared.add_waiter(id, tx)?;
        if let Err(e) = self.shared.write_frame(RpcKind::Request, id, body) {
            self.shared.forget(id);
            return Err(e);
        }
        match rx.recv_timeout(timeout) {
            Ok(outcome) => outcome,
            Err(RecvTimeoutError::Timeout) => {
                self.shared.forget(id);
                // The response may have been routed between the timeout and `forget`.
                if let Ok(outcome) = rx.try_recv() {
                    return outcome;
                }
                Err(RpcError::new(
                    RpcErrorKind::Timeout,
                    format!(
                        "no response to request {id} from {} within {timeout:?}",
                        self.shared.peer
                    ),
                ))
            }
            Err(RecvTimeoutError::Disconnected) => {
                Err(self.shared.failure().unwrap_or_else(|| {
                    RpcError::new(
                        RpcErrorKind::Closed,
                        format!("connection to {} closed", self.shared.peer),
                    )
                }))
            }
        }
    }

    /// Sends a request without waiting and returns its id; its response comes out of
    /// [`RpcReceiver::recv`] as [`Incoming::Response`](super::Incoming::Response).
    pub fn send_request(&self, body: &[u8]) -> Result<u64, RpcError> {
        let id = self.shared.next_id();
        self.shared.add_detached(id)?;
        if let Err(e) = self.shared.write_frame(RpcKind::Request, id, body) {
            self.shared.forget(id);
            return Err(e);
        }
        Ok(id)
    }

    /// Answers request `id` with `body`.
    pub fn respond(&self, id: u64, body: &[u8]) -> Result<(), RpcError> {
        self.shared.write_frame(RpcKind::Response, id, body)
    }

    /// Answers request `id` with an error `message`.
    pub fn respond_error(&self, id: u64, message: &str) -> Result<(), RpcError> {
        self.shared
            .write_frame(RpcKind::ErrorResponse, id, message.as_bytes())
    }

    /// Closes the connection: shuts the socket down both ways; blocked requests fail with
    /// [`RpcErrorKind::Closed`], a blocked `recv` returns it, and later calls fail with it.
    /// Idempotent; a connection that already failed keeps its first failure.
    pub fn close(&self) {
        self.shared.fail(RpcError::new(
            RpcErrorKind::Closed,
            format!("connection to {} closed locally", self.shared.peer),
        ));
    }

    /// The peer's address.
    pub fn peer(&self) -> SocketAddr {
        self.shared.peer
    }

    /// This side's address.
    pub fn local(&self) -> SocketAddr {
        self.shared.local
    }
}
