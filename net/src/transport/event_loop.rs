//! The network thread: one loop over tokens, commands and ring completions.
//!
//! Each turn: take wake-up tokens (new output in a partition, room or buffers for an input
//! channel, commands), take ring completions (bytes received or sent, connections
//! accepted or made), announce the credit freed meanwhile (one `AddCredit` per channel per
//! turn: coalesced), start the sends, expire partition requests that waited too long, free
//! closed connections, then park in `io_uring_enter` (after spinning for `busy_poll`).
//!
//! All protocol state lives here and is touched by this thread only. Frame handling is in
//! `frames.rs`; connection set-up and failure in `links.rs`.

use super::connection::{Connection, State};
use super::inbound::Inbound;
use super::outbound::Partition;
use super::ring::{Op, Ring};
use super::wake::{Token, TokenWaker};
use super::{Command, Shared};
use crate::buffer::BufferPool;
use crate::error::{ChannelError, ErrorKind};
use crate::frame::{Frame, Limits, PartitionId};
use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A partition request that arrived before its partition was registered.
pub(super) struct Pending {
    pub(super) conn: usize,
    pub(super) receiver: u32,
    pub(super) partition: PartitionId,
    pub(super) subpartition: u32,
    pub(super) credit: u32,
    pub(super) deadline: Instant,
}

/// A gate's floating pool as the network thread tracks it.
pub(super) struct Floating {
    pub(super) pool: BufferPool,
    pub(super) waker: Arc<TokenWaker>,
    /// Inbound channels waiting for a floating buffer.
    pub(super) hungry: Vec<u64>,
    pub(super) users: usize,
}

pub(crate) struct EventLoop {
    pub(super) shared: Arc<Shared>,
    pub(super) ring: Ring,
    pub(super) listener: TcpListener,
    pub(super) limits: Limits,
    pub(super) conns: Vec<Option<Connection>>,
    pub(super) by_peer: HashMap<SocketAddr, usize>,
    pub(super) partitions: Vec<Option<(Partition, Arc<TokenWaker>)>>,
    pub(super) partition_by_id: HashMap<PartitionId, usize>,
    pub(super) pending: Vec<Pending>,
    pub(super) inbound: HashMap<u64, (Inbound, Arc<TokenWaker>)>,
    pub(super) floating: Vec<Option<Floating>>,
    pub(super) floating_by_pool: HashMap<usize, usize>,
    /// Inbound channels that may have credit to announce.
    pub(super) announce: Vec<u64>,
    /// Connections that may have frames to send.
    pub(super) dirty: Vec<usize>,
    wake_buf: Box<u64>,
    wake_armed: bool,
    accept_armed: bool,
    completions: Vec<(Op, i32)>,
    pub(super) shutting_down: bool,
    /// Diagnostics: with `STROM_NET_DEBUG` set, the thread prints its protocol state to
    /// stderr every 2 s (even when idle), which shows a stuck channel at a glance.
    debug_every: Option<Duration>,
    last_dump: Instant,
}

/// How long shutdown waits for in-flight operations to complete.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

impl EventLoop {
    pub(crate) fn new(shared: Arc<Shared>, ring: Ring, listener: TcpListener) -> EventLoop {
        let limits = Limits {
            max_data: shared.config.max_frame_len,
            ..Limits::default()
        };
        EventLoop {
            shared,
            ring,
            listener,
            limits,
            conns: Vec::new(),
            by_peer: HashMap::new(),
            partitions: Vec::new(),
            partition_by_id: HashMap::new(),
            pending: Vec::new(),
            inbound: HashMap::new(),
            floating: Vec::new(),
            floating_by_pool: HashMap::new(),
            announce: Vec::new(),
            dirty: Vec::new(),
            wake_buf: Box::new(0),
            wake_armed: false,
            accept_armed: false,
            completions: Vec::new(),
            shutting_down: false,
            debug_every: std::env::var_os("STROM_NET_DEBUG").map(|_| Duration::from_secs(2)),
            last_dump: Instant::now(),
        }
    }

    /// Runs until shut down.
    pub(crate) fn run(&mut self) {
        let mut grace: Option<Instant> = None;
        loop {
            self.handle_tokens();
            self.handle_completions();
            self.expire_pending();
            self.announce_credit();
            self.start_sends();
            self.reap();
            if self.shutting_down {
                let started = *grace.get_or_insert_with(Instant::now);
                let idle = self.conns.iter().all(Option::is_none);
                if idle || started.elapsed() > SHUTDOWN_GRACE {
                    break;
                }
            }
            // Re-arm after handling completions: a wake-up read that just completed must be
            // in flight again before the thread parks, or the next wake-up is lost.
            if let Err(e) = self.arm() {
                tracing::error!("network thread cannot use its ring: {e}");
                self.shutdown(ChannelError::new(
                    ErrorKind::Io,
                    format!("network thread failed: {e}"),
                ));
                continue;
            }
            self.park();
        }
        if self.wake_armed {
            // The eventfd read may still complete into this box after the ring is gone.
            Box::leak(std::mem::take(&mut self.wake_buf));
        }
        // Connections still busy after the grace period keep their memory: leak them rather
        // than free buffers the kernel may still write into.
        for c in self.conns.drain(..).flatten() {
            if !c.idle() {
                std::mem::forget(c);
            }
        }
    }

    /// Keeps the eventfd read and the accept in flight.
    fn arm(&mut self) -> std::io::Result<()> {
        if !self.wake_armed {
            let fd = self.shared.hub.eventfd();
            let target: *mut u64 = &mut *self.wake_buf;
            // SAFETY: `wake_buf` is a box owned by the loop; it is leaked on exit if the read
            // is still in flight, so it outlives the operation.
            unsafe { self.ring.read_eventfd(fd, target)? };
            self.wake_armed = true;
        }
        if !self.accept_armed && !self.shutting_down {
            self.ring.accept(self.listener.as_raw_fd())?;
            self.accept_armed = true;
        }
        Ok(())
    }

    fn park(&mut self) {
        if self.shared.config.busy_poll > Duration::ZERO && self.spin() {
            return;
        }
        if !self.shared.hub.prepare_park() {
            return;
        }
        let timeout = self
            .pending
            .iter()
            .map(|p| p.deadline.saturating_duration_since(Instant::now()))
            .min()
            .map(|d| d.max(Duration::from_millis(1)));
        let timeout = if self.shutting_down {
            Some(Duration::from_millis(10))
        } else {
            timeout
        };
        let timeout = match (self.debug_every, timeout) {
            (Some(every), None) => Some(every),
            (_, t) => t,
        };
        if let Some(every) = self.debug_every {
            if self.last_dump.elapsed() >= every {
                self.last_dump = Instant::now();
                self.debug_dump();
            }
        }
        if let Err(e) = self.ring.wait(timeout) {
            tracing::warn!("network thread: waiting on the ring failed: {e}");
        }
        self.shared.hub.unparked();
    }

    /// Spins for up to `busy_poll`; true if work arrived.
    fn spin(&mut self) -> bool {
        let until = Instant::now() + self.shared.config.busy_poll;
        let mut n = 0u32;
        while Instant::now() < until {
            if n.is_multiple_of(64) {
                let _ = self.ring.submit();
            }
            if self.ring.has_completions() || self.shared.hub.has_work() {
                return true;
            }
            n = n.wrapping_add(1);
            std::hint::spin_loop();
        }
        false
    }

    fn handle_tokens(&mut self) {
        while let Some(token) = self.shared.hub.pop() {
            match token {
                Token::Commands => {
                    self.shared.command_waker.taken();
                    while let Some(c) = self.shared.take_command() {
                        self.command(c);
                    }
                }
                Token::Partition(slot) => self.partition_ready(slot),
                Token::Inbound(id) => self.inbound_ready(id),
                Token::Floating(slot) => self.floating_ready(slot),
            }
        }
    }

    fn command(&mut self, c: Command) {
        match c {
            Command::Register {
                partition,
                gate,
                numbers,
                channels,
            } => self.register(partition, gate, numbers, channels),
            Command::Request(r) => self.request(*r),
            Command::Resume(id) => {
                if let Some((inb, _)) = self.inbound.get(&id) {
                    let (conn, receiver) = (inb.conn, inb.receiver);
                    self.queue(conn, Frame::ResumeConsumption { receiver });
                }
            }
            Command::Cancel(id) => self.cancel_inbound(id),
            Command::Release(partition) => self.release_partition(partition),
            Command::Shutdown => self.shutdown(ChannelError::new(
                ErrorKind::Closed,
                "the TaskManager's network environment shut down",
            )),
        }
    }

    /// A partition's gate reported channels with new messages.
    pub(super) fn partition_ready(&mut self, slot: usize) {
        let Some(Some((p, waker))) = self.partitions.get_mut(slot) else {
            return;
        };
        waker.taken();
        p.gate.register_consumer(&waker.waker());
        let mut ready = Vec::new();
        while let Some(i) = p.gate.pop_ready() {
            if let Some(sub) = p.subs.get(i as usize) {
                sub.channel.unmark();
                ready.push(i as usize);
            }
        }
        for i in ready {
            self.pump(slot, i);
        }
    }

    /// Sends what subpartition `sub` of partition `slot` can send now.
    pub(super) fn pump(&mut self, slot: usize, sub: usize) {
        let Some(Some((p, _))) = self.partitions.get_mut(slot) else {
            return;
        };
        let Some(s) = p.subs.get_mut(sub) else {
            return;
        };
        if s.finished {
            if s.channel.failure().is_some() {
                s.drain();
            }
            return;
        }
        let Some(b) = s.binding else {
            return; // not requested yet: the producer's cap back-pressures it
        };
        let Some(Some(conn)) = self.conns.get_mut(b.conn) else {
            return;
        };
        s.pump(conn);
        self.dirty.push(b.conn);
        if p.all_finished() {
            self.drop_partition(slot);
        }
    }

    /// Forgets a partition, and every connection's route to it: its slot will be reused,
    /// and a late frame for one of its receivers must not reach the next partition there.
    pub(super) fn drop_partition(&mut self, slot: usize) {
        if let Some(Some((p, _))) = self.partitions.get_mut(slot).map(Option::take) {
            self.partition_by_id.remove(&p.id);
            for b in p.subs.iter().filter_map(|s| s.binding) {
                if let Some(Some(c)) = self.conns.get_mut(b.conn) {
                    if c.senders.get(&b.receiver).map(|(s, _)| *s) == Some(slot) {
                        c.senders.remove(&b.receiver);
                    }
                }
            }
        }
    }

    fn inbound_ready(&mut self, id: u64) {
        let Some((inb, waker)) = self.inbound.get_mut(&id) else {
            return;
        };
        waker.taken();
        let w = waker.waker();
        if inb.has_overflow() && !inb.flush_overflow(&w) {
            return;
        }
        self.refill(id);
    }

    fn floating_ready(&mut self, slot: usize) {
        let Some(Some(f)) = self.floating.get_mut(slot) else {
            return;
        };
        f.waker.taken();
        for id in std::mem::take(&mut f.hungry) {
            self.refill(id);
        }
    }

    /// Takes free buffers of an input channel as credit; removes the channel once it is
    /// done and delivered everything.
    pub(super) fn refill(&mut self, id: u64) {
        let Some((inb, waker)) = self.inbound.get_mut(&id) else {
            return;
        };
        if inb.done {
            if !inb.has_overflow() {
                self.remove_inbound(id);
            }
            return;
        }
        let slot = inb.floating_slot;
        let Some(Some(f)) = self.floating.get_mut(slot) else {
            return;
        };
        if inb.refill(&waker.waker(), &f.waker.waker()) && !f.hungry.contains(&id) {
            f.hungry.push(id);
        }
        if inb.unannounced > 0 {
            self.announce.push(id);
        }
    }

    fn announce_credit(&mut self) {
        for id in std::mem::take(&mut self.announce) {
            let Some((inb, _)) = self.inbound.get_mut(&id) else {
                continue;
            };
            if inb.done || inb.unannounced == 0 {
                continue;
            }
            let credit = inb.take_unannounced();
            let (conn, receiver) = (inb.conn, inb.receiver);
            self.queue(conn, Frame::AddCredit { receiver, credit });
        }
    }

    pub(super) fn queue(&mut self, conn: usize, frame: Frame) {
        if let Some(Some(c)) = self.conns.get_mut(conn) {
            c.queue(frame, super::connection::Body::None);
            self.dirty.push(conn);
        }
    }

    fn start_sends(&mut self) {
        let mut dirty = std::mem::take(&mut self.dirty);
        dirty.sort_unstable();
        dirty.dedup();
        for i in dirty {
            let Some(Some(c)) = self.conns.get_mut(i) else {
                continue;
            };
            if let Err(e) = c.start_send(&mut self.ring, i) {
                let err =
                    ChannelError::new(ErrorKind::Io, format!("cannot send to {}: {e}", c.peer));
                self.conn_failed(i, err);
            }
        }
    }

    fn expire_pending(&mut self) {
        let now = Instant::now();
        let (expired, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|p| p.deadline <= now);
        self.pending = keep;
        for p in expired {
            let msg = format!(
                "partition {:032x} is not registered at this TaskManager (waited {:?})",
                p.partition.0, self.shared.config.partition_request_timeout
            );
            self.send_error(p.conn, Some(p.receiver), ErrorKind::PartitionNotFound, &msg);
        }
    }

    /// Frees closed connections once the ring is done with their memory.
    fn reap(&mut self) {
        for i in 0..self.conns.len() {
            if let Some(c) = &self.conns[i] {
                if c.state == State::Closing && c.idle() {
                    self.conns[i] = None;
                }
            }
        }
    }

    fn handle_completions(&mut self) {
        let mut done = std::mem::take(&mut self.completions);
        self.ring.drain(&mut done);
        for (op, res) in done.drain(..) {
            match op {
                Op::Wake => self.wake_armed = false,
                Op::Accept => {
                    self.accept_armed = false;
                    self.accepted(res);
                }
                Op::Connect(i) => self.connected(i, res),
                Op::Recv(i) => self.received(i, res),
                Op::Send(i) => self.sent(i, res),
            }
        }
        self.completions = done;
    }

    /// Prints every partition, input channel and connection (see `debug_every`).
    fn debug_dump(&self) {
        let mut out = String::new();
        for (i, p) in self.partitions.iter().enumerate() {
            if let Some((p, _)) = p {
                for (j, s) in p.subs.iter().enumerate() {
                    out += &format!("  part {i} sub {j}: {}\n", s.debug());
                }
            }
        }
        for (id, (inb, _)) in &self.inbound {
            out += &format!("  inbound {id}: {}\n", inb.debug());
        }
        for (i, c) in self.conns.iter().enumerate() {
            if let Some(c) = c {
                out += &format!(
                    "  conn {i} {:?} {:?} idle={} recv={} send={}\n",
                    c.role,
                    c.state,
                    c.idle(),
                    c.receivers.len(),
                    c.senders.len()
                );
            }
        }
        eprintln!(
            "NETDUMP {:?} pending={}\n{out}",
            self.listener.local_addr().ok(),
            self.pending.len()
        );
    }

    /// Fails everything and closes every connection.
    fn shutdown(&mut self, err: ChannelError) {
        self.shutting_down = true;
        let ids: Vec<u64> = self.inbound.keys().copied().collect();
        for id in ids {
            self.fail_inbound(id, err.clone());
        }
        for slot in 0..self.partitions.len() {
            if let Some(Some((p, _))) = self.partitions.get_mut(slot) {
                for s in &mut p.subs {
                    if !s.finished {
                        s.fail(err.clone());
                    }
                }
            }
            self.drop_partition(slot);
        }
        self.pending.clear();
        for c in self.conns.iter_mut().flatten() {
            c.close();
        }
        self.by_peer.clear();
    }

    /// The inbound channel `id` failed: the task learns why; the channel is released.
    pub(super) fn fail_inbound(&mut self, id: u64, err: ChannelError) {
        if let Some((inb, _)) = self.inbound.get_mut(&id) {
            inb.fail(err);
            let (conn, receiver) = (inb.conn, inb.receiver);
            if let Some(Some(c)) = self.conns.get_mut(conn) {
                c.receivers.remove(&receiver);
            }
            if !inb.has_overflow() {
                self.remove_inbound(id);
            }
        }
    }

    fn cancel_inbound(&mut self, id: u64) {
        let Some((inb, _)) = self.inbound.get_mut(&id) else {
            return;
        };
        let (conn, receiver, done) = (inb.conn, inb.receiver, inb.done);
        inb.release();
        if let Some(Some(c)) = self.conns.get_mut(conn) {
            c.receivers.remove(&receiver);
        }
        if !done {
            self.queue(conn, Frame::CancelPartition { receiver });
        }
        self.remove_inbound(id);
    }

    pub(super) fn remove_inbound(&mut self, id: u64) {
        if let Some((mut inb, _)) = self.inbound.remove(&id) {
            inb.release();
            if let Some(Some(c)) = self.conns.get_mut(inb.conn) {
                c.receivers.remove(&inb.receiver);
            }
            let slot = inb.floating_slot;
            if let Some(Some(f)) = self.floating.get_mut(slot) {
                f.hungry.retain(|h| *h != id);
                f.users -= 1;
                if f.users == 0 {
                    if let Some(Some(f)) = self.floating.get_mut(slot).map(Option::take) {
                        self.floating_by_pool.remove(&f.pool.id());
                    }
                }
            }
        }
    }

    /// Queues an error frame for one channel (or the connection) of `conn`.
    pub(super) fn send_error(
        &mut self,
        conn: usize,
        receiver: Option<u32>,
        kind: ErrorKind,
        msg: &str,
    ) {
        let mut bytes = msg.as_bytes().to_vec();
        bytes.truncate(self.limits.max_error as usize);
        let err = ChannelError::new(kind, "");
        if let Some(Some(c)) = self.conns.get_mut(conn) {
            c.queue(
                Frame::Error {
                    receiver,
                    kind,
                    retry: err.retry,
                    len: bytes.len() as u32,
                },
                super::connection::Body::Bytes(bytes.into_boxed_slice()),
            );
            self.dirty.push(conn);
        }
    }
}
