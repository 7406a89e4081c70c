//! Setting up and tearing down: partitions registered, channels requested, connections made,
//! accepted and failed.

use super::connection::{Connection, Role, State};
use super::event_loop::{EventLoop, Floating, Pending};
use super::inbound::{Inbound, Request};
use super::outbound::{Binding, Partition};
use super::wake::{Token, TokenWaker};
use crate::channel::{GateShared, LocalChannel};
use crate::error::{ChannelError, ErrorKind};
use crate::frame::{Frame, PartitionId};
use socket2::{Domain, SockAddr, Socket, Type};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::Arc;
use std::time::Instant;

impl EventLoop {
    pub(super) fn register(
        &mut self,
        id: PartitionId,
        gate: Arc<GateShared>,
        numbers: Vec<u32>,
        channels: Vec<Arc<LocalChannel>>,
    ) {
        if self.partition_by_id.contains_key(&id) {
            let err = ChannelError::new(
                ErrorKind::Protocol,
                format!("partition {:032x} is already registered", id.0),
            );
            for c in &channels {
                c.fail(err.clone());
            }
            return;
        }
        let slot = match self.partitions.iter().position(Option::is_none) {
            Some(s) => s,
            None => {
                self.partitions.push(None);
                self.partitions.len() - 1
            }
        };
        let waker = TokenWaker::new(&self.shared.hub, Token::Partition(slot));
        gate.register_consumer(&waker.waker());
        self.partitions[slot] = Some((Partition::new(id, gate, numbers, channels), waker));
        self.partition_by_id.insert(id, slot);
        let (now, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|p| p.partition == id);
        self.pending = later;
        for p in now {
            self.bind(p.conn, p.receiver, slot, p.subpartition, p.credit);
        }
        // The producer may have queued messages before the waker was registered: their
        // channels' indices wait in the gate's ready queue (and their `queued` flags stay set
        // until the index is taken), with no wake-up to say so. Drain it now.
        self.partition_ready(slot);
    }

    /// Server side: a consumer's request for a subpartition of a registered partition.
    pub(super) fn bind(&mut self, conn: usize, receiver: u32, slot: usize, sub: u32, credit: u32) {
        let Some(Some((p, _))) = self.partitions.get_mut(slot) else {
            return;
        };
        let id = p.id;
        let at = p.position(sub);
        let result = match at.and_then(|i| p.subs.get_mut(i)) {
            None => Err(format!(
                "partition {:032x} has no subpartition {sub} at this TaskManager (it serves {:?})",
                id.0, p.numbers
            )),
            Some(s) => s
                .bind(Binding { conn, receiver }, credit)
                .map_err(|e| format!("partition {:032x} subpartition {sub}: {e}", id.0)),
        };
        match (result, at) {
            (Ok(()), Some(at)) => {
                if let Some(Some(c)) = self.conns.get_mut(conn) {
                    c.senders.insert(receiver, (slot, at));
                }
                self.pump(slot, at);
            }
            (Ok(()), None) => {}
            (Err(msg), _) => self.send_error(conn, Some(receiver), ErrorKind::Protocol, &msg),
        }
    }

    pub(super) fn partition_request(&mut self, conn: usize, f: Frame) {
        let Frame::PartitionRequest {
            receiver,
            partition,
            subpartition,
            credit,
        } = f
        else {
            return;
        };
        let duplicate = matches!(self.conns.get(conn), Some(Some(c)) if c.senders.contains_key(&receiver))
            || self
                .pending
                .iter()
                .any(|p| p.conn == conn && p.receiver == receiver);
        if duplicate {
            let msg = format!("receiver id {receiver} is already in use on this connection");
            self.send_error(conn, Some(receiver), ErrorKind::Protocol, &msg);
            return;
        }
        match self.partition_by_id.get(&partition) {
            Some(&slot) => self.bind(conn, receiver, slot, subpartition, credit),
            None => self.pending.push(Pending {
                conn,
                receiver,
                partition,
                subpartition,
                credit,
                deadline: Instant::now() + self.shared.config.partition_request_timeout,
            }),
        }
    }

    pub(super) fn release_partition(&mut self, id: PartitionId) {
        let Some(&slot) = self.partition_by_id.get(&id) else {
            return;
        };
        if let Some(Some((p, _))) = self.partitions.get_mut(slot) {
            let err = ChannelError::new(
                ErrorKind::Closed,
                format!("partition {:032x} was released", id.0),
            );
            for s in &mut p.subs {
                if let Some(b) = s.binding {
                    if let Some(Some(c)) = self.conns.get_mut(b.conn) {
                        c.senders.remove(&b.receiver);
                    }
                }
                if !s.finished {
                    s.fail(err.clone());
                }
            }
        }
        self.drop_partition(slot);
    }

    /// Client side: a task asks for a remote subpartition.
    pub(super) fn request(&mut self, r: Request) {
        let conn = match self.client_conn(r.producer) {
            Ok(c) => c,
            Err(e) => {
                let _ = r.channel.try_push(crate::ChannelMessage::Failed(e));
                return;
            }
        };
        let Some(Some(c)) = self.conns.get_mut(conn) else {
            return;
        };
        let receiver = c.next_receiver;
        c.next_receiver = c.next_receiver.wrapping_add(1);
        c.receivers.insert(receiver, r.id);
        let fslot = self.floating_slot(&r.floating);
        let (id, partition, subpartition) = (r.id, r.partition, r.subpartition);
        let inb = Inbound::new(r, conn, receiver, fslot);
        let credit = inb.credit;
        let waker = TokenWaker::new(&self.shared.hub, Token::Inbound(id));
        self.inbound.insert(id, (inb, waker));
        self.queue(
            conn,
            Frame::PartitionRequest {
                receiver,
                partition,
                subpartition,
                credit,
            },
        );
    }

    fn floating_slot(&mut self, pool: &crate::BufferPool) -> usize {
        if let Some(&s) = self.floating_by_pool.get(&pool.id()) {
            if let Some(Some(f)) = self.floating.get_mut(s) {
                f.users += 1;
            }
            return s;
        }
        let slot = match self.floating.iter().position(Option::is_none) {
            Some(s) => s,
            None => {
                self.floating.push(None);
                self.floating.len() - 1
            }
        };
        self.floating[slot] = Some(Floating {
            pool: pool.clone(),
            waker: TokenWaker::new(&self.shared.hub, Token::Floating(slot)),
            hungry: Vec::new(),
            users: 1,
        });
        self.floating_by_pool.insert(pool.id(), slot);
        slot
    }

    fn new_slot(&mut self, c: Connection) -> usize {
        match self.conns.iter().position(Option::is_none) {
            Some(s) => {
                self.conns[s] = Some(c);
                s
            }
            None => {
                self.conns.push(Some(c));
                self.conns.len() - 1
            }
        }
    }

    /// The connection to the producer at `peer`, opening it if needed.
    fn client_conn(&mut self, peer: SocketAddr) -> Result<usize, ChannelError> {
        if let Some(&i) = self.by_peer.get(&peer) {
            return Ok(i);
        }
        let io = |e: std::io::Error| {
            ChannelError::new(ErrorKind::Io, format!("cannot connect to {peer}: {e}"))
        };
        let socket =
            Socket::new(Domain::for_address(peer), Type::STREAM.cloexec(), None).map_err(io)?;
        let stream = TcpStream::from(OwnedFd::from(socket));
        let mut c = Connection::new(stream, peer, Role::Client, State::Connecting);
        let addr = SockAddr::from(peer);
        // SAFETY: `SockAddr` holds a valid `sockaddr_storage` of `len()` bytes; copying it
        // into our own box keeps it alive for the connect operation.
        let storage = unsafe { std::ptr::read(addr.as_ptr().cast::<libc::sockaddr_storage>()) };
        c.connect_addr = Some(Box::new((storage, addr.len())));
        let i = self.new_slot(c);
        let Some(Some(c)) = self.conns.get_mut(i) else {
            return Err(io(std::io::Error::other("connection slot vanished")));
        };
        let fd = c.fd();
        let Some(a) = c.connect_addr.as_ref() else {
            return Err(io(std::io::Error::other("no address")));
        };
        let (ptr, len) = (&a.0 as *const libc::sockaddr_storage, a.1);
        // SAFETY: the address lives in the connection's box, which stays in place until the
        // connect completes (the connection is not freed while `connect_in_flight`).
        if let Err(e) = unsafe { self.ring.connect(fd, i, ptr.cast(), len) } {
            self.conns[i] = None;
            return Err(io(e));
        }
        c.connect_in_flight = true;
        self.by_peer.insert(peer, i);
        Ok(i)
    }

    pub(super) fn connected(&mut self, i: usize, res: i32) {
        let Some(Some(c)) = self.conns.get_mut(i) else {
            return;
        };
        c.connect_in_flight = false;
        if res < 0 {
            let e = std::io::Error::from_raw_os_error(-res);
            let err = ChannelError::new(
                ErrorKind::PeerLost,
                format!("cannot connect to {}: {e}", c.peer),
            );
            self.conn_failed(i, err);
            return;
        }
        if c.state == State::Connecting {
            c.state = State::Open;
        }
        if let Err(e) = c.start_recv(&mut self.ring, i) {
            let err = ChannelError::new(
                ErrorKind::Io,
                format!("cannot receive from {}: {e}", c.peer),
            );
            self.conn_failed(i, err);
            return;
        }
        self.dirty.push(i);
    }

    pub(super) fn accepted(&mut self, res: i32) {
        if res < 0 {
            let e = std::io::Error::from_raw_os_error(-res);
            tracing::warn!("network thread: accept failed: {e}");
            return;
        }
        // SAFETY: a successful accept returns a new descriptor that nothing else owns.
        let stream = TcpStream::from(unsafe { OwnedFd::from_raw_fd(res) });
        if self.shutting_down {
            return;
        }
        let peer = stream
            .peer_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let i = self.new_slot(Connection::new(stream, peer, Role::Server, State::Open));
        if let Some(Some(c)) = self.conns.get_mut(i) {
            if let Err(e) = c.start_recv(&mut self.ring, i) {
                let err =
                    ChannelError::new(ErrorKind::Io, format!("cannot receive from {peer}: {e}"));
                self.conn_failed(i, err);
            }
        }
    }

    /// A connection broke: every channel on it fails with `err`; the connection closes.
    pub(super) fn conn_failed(&mut self, i: usize, err: ChannelError) {
        let Some(Some(c)) = self.conns.get_mut(i) else {
            return;
        };
        if c.state == State::Closing {
            return;
        }
        tracing::debug!("connection to {} failed: {err}", c.peer);
        let receivers: Vec<u64> = c.receivers.drain().map(|(_, id)| id).collect();
        let senders: Vec<(usize, usize)> = c.senders.drain().map(|(_, s)| s).collect();
        c.close();
        let peer = c.peer;
        if self.by_peer.get(&peer) == Some(&i) {
            self.by_peer.remove(&peer);
        }
        self.pending.retain(|p| p.conn != i);
        for id in receivers {
            self.fail_inbound(id, err.clone());
        }
        for (slot, sub) in senders {
            if let Some(Some((p, _))) = self.partitions.get_mut(slot) {
                if let Some(s) = p.subs.get_mut(sub) {
                    if !s.finished {
                        s.fail(err.context(format_args!("consumer at {peer}")));
                    }
                }
                if p.all_finished() {
                    self.drop_partition(slot);
                }
            }
        }
    }
}
