//! Consumer side of a remote channel: credit, sequence numbers and delivery into the
//! consuming task's channel.
//!
//! Invariants:
//! - `held` are free buffers this channel owns for data still to come; each is either
//!   announced to the producer (`credit`) or waiting to be (`unannounced`):
//!   `held.len() == credit + unannounced`.
//! - A data frame arriving while `credit == 0` is credit overrun (the producer broke the
//!   protocol). Every data frame consumes one held buffer.
//! - Messages reach the task's channel in the order of their sequence numbers; when its
//!   queue is full they wait in `overflow` (data is bounded by credit, events by
//!   [`MAX_OVERFLOW`]).

use crate::buffer::{BufferPool, NetBuffer};
use crate::channel::{ChannelMessage, Event, LocalChannel};
use crate::error::{ChannelError, ErrorKind};
use crate::frame::PartitionId;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

/// Most messages that may wait for room in a task's channel before the channel fails: the
/// producer sends events without credit, so a consumer that stops reading could otherwise
/// make them pile up without bound.
pub(crate) const MAX_OVERFLOW: usize = 65_536;

/// A consumer's request, as the command carries it.
pub(crate) struct Request {
    pub(crate) id: u64,
    pub(crate) producer: SocketAddr,
    pub(crate) partition: PartitionId,
    pub(crate) subpartition: u32,
    pub(crate) channel: Arc<LocalChannel>,
    pub(crate) exclusive: BufferPool,
    pub(crate) floating: BufferPool,
}

/// One remote input channel (lives on the network thread).
pub(crate) struct Inbound {
    pub(crate) conn: usize,
    pub(crate) receiver: u32,
    pub(crate) channel: Arc<LocalChannel>,
    exclusive: BufferPool,
    pub(crate) floating: BufferPool,
    pub(crate) floating_slot: usize,
    initial: u32,
    held: Vec<NetBuffer>,
    pub(crate) credit: u32,
    pub(crate) unannounced: u32,
    expected_seq: u32,
    backlog: u32,
    overflow: VecDeque<ChannelMessage>,
    /// End of partition or failure delivered: nothing more is accepted.
    pub(crate) done: bool,
}

impl Inbound {
    /// The channel with its exclusive buffers taken; `credit` is its initial credit.
    pub(crate) fn new(r: Request, conn: usize, receiver: u32, floating_slot: usize) -> Inbound {
        let mut held = Vec::new();
        while let Some(b) = r.exclusive.try_acquire() {
            held.push(b);
        }
        let initial = held.len() as u32;
        Inbound {
            conn,
            receiver,
            channel: r.channel,
            exclusive: r.exclusive,
            floating: r.floating,
            floating_slot,
            initial,
            credit: initial,
            unannounced: 0,
            held,
            expected_seq: 0,
            backlog: 0,
            overflow: VecDeque::new(),
            done: false,
        }
    }

    /// One line of state for diagnostics.
    pub(crate) fn debug(&self) -> String {
        format!("conn={} recv={} credit={} unann={} held={} backlog={} done={} overflow={} chq={} excl_free={} float_free={}", self.conn, self.receiver, self.credit, self.unannounced, self.held.len(), self.backlog, self.done, self.overflow.len(), self.channel.queued_len(), self.exclusive.stats().available, self.floating.stats().available)
    }

    /// Checks a data or event frame's sequence number and counts it.
    pub(crate) fn check_seq(&mut self, seq: u32) -> Result<(), ChannelError> {
        if seq != self.expected_seq {
            return Err(ChannelError::new(
                ErrorKind::Protocol,
                format!("sequence gap: expected {}, got {seq}", self.expected_seq),
            ));
        }
        self.expected_seq = self.expected_seq.wrapping_add(1);
        Ok(())
    }

    /// A buffer for a data frame of `len` bytes, consuming one credit.
    pub(crate) fn take_buffer(&mut self, len: usize) -> Result<NetBuffer, ChannelError> {
        if self.credit == 0 {
            return Err(ChannelError::new(
                ErrorKind::Protocol,
                "credit overrun: the producer sent a data buffer without credit",
            ));
        }
        self.credit -= 1;
        let Some(buf) = self.held.pop() else {
            return Err(ChannelError::new(
                ErrorKind::Protocol,
                "credit without a held buffer",
            ));
        };
        if len <= buf.capacity() {
            return Ok(buf);
        }
        // One oversized record: it travels in a buffer of its own; the pooled buffer its
        // credit stood for goes back to its pool and will be announced again.
        drop(buf);
        Ok(NetBuffer::unpooled(len))
    }

    /// Notes the producer's backlog after a data or event frame.
    pub(crate) fn set_backlog(&mut self, backlog: u32) {
        self.backlog = backlog;
    }

    /// Hands `msg` to the task, in order; false if the overflow limit is exceeded.
    pub(crate) fn deliver(&mut self, msg: ChannelMessage) -> bool {
        if matches!(
            msg,
            ChannelMessage::Event(Event::EndOfPartition) | ChannelMessage::Failed(_)
        ) {
            self.done = true;
        }
        if self.overflow.is_empty() {
            match self.channel.try_push(msg) {
                Ok(()) => return true,
                Err(m) => self.overflow.push_back(m),
            }
        } else {
            self.overflow.push_back(msg);
        }
        self.overflow.len() <= MAX_OVERFLOW
    }

    /// Moves waiting messages into the task's channel; registers `waker` if room is short.
    /// Returns true when nothing waits any more.
    pub(crate) fn flush_overflow(&mut self, waker: &Waker) -> bool {
        while let Some(m) = self.overflow.pop_front() {
            match self.channel.try_push(m) {
                Ok(()) => {}
                Err(m) => {
                    self.channel
                        .register_producer(&mut Context::from_waker(waker));
                    match self.channel.try_push(m) {
                        Ok(()) => continue,
                        Err(m) => {
                            self.overflow.push_front(m);
                            return false;
                        }
                    }
                }
            }
        }
        true
    }

    /// Whether messages wait for room.
    pub(crate) fn has_overflow(&self) -> bool {
        !self.overflow.is_empty()
    }

    /// Takes free buffers as new credit: all free exclusive buffers, and floating buffers
    /// while the backlog asks for more than is held. Registers the wakers of pools that ran
    /// dry. Returns true if the channel still wants floating buffers.
    pub(crate) fn refill(&mut self, exclusive_waker: &Waker, floating_waker: &Waker) -> bool {
        if self.done {
            return false;
        }
        let mut cx = Context::from_waker(exclusive_waker);
        while let Poll::Ready(b) = self.exclusive.poll_acquire(&mut cx) {
            self.held.push(b);
            self.unannounced += 1;
        }
        let want = self.backlog as usize + self.initial as usize;
        let mut cx = Context::from_waker(floating_waker);
        while self.held.len() < want {
            match self.floating.poll_acquire(&mut cx) {
                Poll::Ready(b) => {
                    self.held.push(b);
                    self.unannounced += 1;
                }
                Poll::Pending => return true,
            }
        }
        false
    }

    /// Takes the credit to announce.
    pub(crate) fn take_unannounced(&mut self) -> u32 {
        let n = self.unannounced;
        self.credit += n;
        self.unannounced = 0;
        n
    }

    /// Fails the channel: the error goes to the task (after what was received before it)
    /// and held buffers go back to their pools.
    pub(crate) fn fail(&mut self, error: ChannelError) {
        if !self.done {
            let _ = self.deliver(ChannelMessage::Failed(error));
        }
        self.release();
    }

    /// Gives held buffers back.
    pub(crate) fn release(&mut self) {
        self.done = true;
        self.held.clear();
        self.credit = 0;
        self.unannounced = 0;
    }
}
