//! The state one connection's endpoint clones and its receiver share: the socket, the write
//! lock, the table of requests awaiting a response, and the connection's failure, if any.
//!
//! Invariants:
//! - A frame is written whole under the write lock, so frames of different threads never
//!   interleave.
//! - The first failure wins: once `failed` is set it never changes, the socket is shut down
//!   both ways, and every waiter has been sent that failure. A waiter is only registered while
//!   `failed` is unset (both under the state lock), so none is left behind.
//! - A response is delivered at most once: to its blocked waiter, or (for an id sent with
//!   `send_request`) out of the receiver; a response for any other id is dropped.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::{Mutex, MutexGuard};

use super::error::{RpcError, RpcErrorKind};
use super::frame::{RpcHeader, RpcKind, HEADER_LEN};
use super::receiver::Incoming;
use super::RpcLimits;

/// Where a blocked `request` waits for its outcome.
pub(super) type Waiter = SyncSender<Result<Vec<u8>, RpcError>>;

/// Mutable per-connection state, under one lock.
#[derive(Default)]
struct State {
    /// The connection's failure; set once.
    failed: Option<RpcError>,
    /// Requests whose caller blocks in `request`, by id.
    waiters: HashMap<u64, Waiter>,
    /// Requests sent with `send_request`, whose responses come out of the receiver.
    detached: HashSet<u64>,
}

/// One connection's shared half.
pub(super) struct Shared {
    /// The socket; written through `&TcpStream` under `write_lock`, read only by the receiver.
    pub(super) socket: TcpStream,
    write_lock: Mutex<()>,
    state: Mutex<State>,
    next_id: AtomicU64,
    pub(super) limits: RpcLimits,
    pub(super) peer: SocketAddr,
    pub(super) local: SocketAddr,
}

impl Shared {
    pub(super) fn new(socket: TcpStream, limits: RpcLimits) -> Result<Shared, RpcError> {
        let io =
            |what: &str, e: std::io::Error| RpcError::new(RpcErrorKind::Io, format!("{what}: {e}"));
        socket
            .set_nodelay(true)
            .map_err(|e| io("setting TCP_NODELAY", e))?;
        let peer = socket
            .peer_addr()
            .map_err(|e| io("reading the peer address", e))?;
        let local = socket
            .local_addr()
            .map_err(|e| io("reading the local address", e))?;
        Ok(Shared {
            socket,
            write_lock: Mutex::new(()),
            state: Mutex::new(State::default()),
            next_id: AtomicU64::new(1),
            limits,
            peer,
            local,
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // No code panics while holding the lock; recover the data if something ever did.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A fresh, non-zero correlation id.
    pub(super) fn next_id(&self) -> u64 {
        loop {
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            if id != 0 {
                return id;
            }
        }
    }

    /// The connection's failure, if it has failed.
    pub(super) fn failure(&self) -> Option<RpcError> {
        self.state().failed.clone()
    }

    /// Registers a blocked waiter for `id`; fails if the connection already has.
    pub(super) fn add_waiter(&self, id: u64, waiter: Waiter) -> Result<(), RpcError> {
        let mut st = self.state();
        if let Some(e) = &st.failed {
            return Err(e.clone());
        }
        st.waiters.insert(id, waiter);
        Ok(())
    }

    /// Registers `id` as sent with `send_request`; fails if the connection already has.
    pub(super) fn add_detached(&self, id: u64) -> Result<(), RpcError> {
        let mut st = self.state();
        if let Some(e) = &st.failed {
            return Err(e.clone());
        }
        st.detached.insert(id);
        Ok(())
    }

    /// Forgets `id` (its waiter timed out, or sending it failed); a late response is dropped.
    pub(super) fn forget(&self, id: u64) {
        let mut st = self.state();
        st.waiters.remove(&id);
        st.detached.remove(&id);
    }

    /// Writes one frame whole. A body over the limit is refused without touching the
    /// connection; a write error fails the connection (a partial frame may have gone out).
    pub(super) fn write_frame(&self, kind: RpcKind, id: u64, body: &[u8]) -> Result<(), RpcError> {
        let body_len = u32::try_from(body.len())
            .ok()
            .filter(|_| body.len() <= self.limits.max_body)
            .ok_or_else(|| {
                RpcError::new(
                    RpcErrorKind::TooLarge,
                    format!(
                        "{kind:?} body of {} bytes to {} exceeds the limit of {} bytes",
                        body.len(),
                        self.peer,
                        self.limits.max_body
                    ),
                )
            })?;
        if let Some(e) = self.failure() {
            return Err(e);
        }
        let mut frame = Vec::with_capacity(HEADER_LEN + body.len());
        frame.extend_from_slice(&RpcHeader { kind, id, body_len }.encode());
        frame.extend_from_slice(body);
        let written = {
            let _guard = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
            (&self.socket).write_all(&frame)
        };
        written.map_err(|e| {
            let kind = super::receiver::io_kind(&e);
            self.fail(RpcError::new(
                kind,
                format!("writing a {kind:?} frame to {}: {e}", self.peer),
            ))
        })
    }

    /// Fails the connection with `err` unless it has failed already; returns the failure that
    /// stands. Shuts the socket down and hands the failure to every blocked request.
    pub(super) fn fail(&self, err: RpcError) -> RpcError {
        let waiters = {
            let mut st = self.state();
            if let Some(first) = &st.failed {
                return first.clone();
            }
            st.failed = Some(err.clone());
            st.detached.clear();
            std::mem::take(&mut st.waiters)
        };
        // NotConnected when the peer already reset the connection: nothing left to shut down.
        let _ = self.socket.shutdown(Shutdown::Both);
        tracing::debug!(peer = %self.peer, waiters = waiters.len(), error = %err, "rpc connection failed");
        for (_, waiter) in waiters {
            // Capacity 1 and nothing else sends to it; a full or gone waiter has its outcome.
            let _ = waiter.try_send(Err(err.clone()));
        }
        err
    }

    /// Hands the answer to request `id` to its waiter; returns it as [`Incoming::Response`]
    /// if it was sent with `send_request`; drops it otherwise (its waiter timed out).
    pub(super) fn route_response(
        &self,
        id: u64,
        result: Result<Vec<u8>, String>,
    ) -> Option<Incoming> {
        let mut st = self.state();
        if let Some(waiter) = st.waiters.remove(&id) {
            drop(st);
            let outcome = result.map_err(|m| RpcError::new(RpcErrorKind::Remote, m));
            if waiter.try_send(outcome).is_err() {
                tracing::debug!(peer = %self.peer, id, "rpc response arrived as its waiter gave up; dropped");
            }
            return None;
        }
        if st.detached.remove(&id) {
            return Some(Incoming::Response { id, result });
        }
        tracing::debug!(peer = %self.peer, id, "rpc response for a request nobody waits for (timed out); dropped");
        None
    }
}
