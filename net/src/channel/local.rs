//! One producer subpartition → one consumer input channel.

use super::gate::GateShared;
use super::ChannelMessage;
use crate::buffer::BufferPool;
use crate::error::ChannelError;
use atomic_waker::AtomicWaker;
use crossbeam_queue::ArrayQueue;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::Context;

/// Extra queue slots beyond the buffer count, for events (they need no buffer).
pub const EVENT_SLACK: usize = 8;

/// Queue slots per buffer of the channel's pool. A writer that flushes before a buffer is
/// full hands over a slice of it and keeps filling the rest
/// ([`NetBuffer::split_written`](crate::NetBuffer::split_written)), so one buffer can be
/// several messages; the pool bounds the bytes in flight and this the number of flushes.
pub const SLICES_PER_BUFFER: usize = 8;

/// A bounded single-producer, single-consumer channel with its buffer pool (global handle).
pub struct LocalChannel {
    queue: ArrayQueue<ChannelMessage>,
    producer: AtomicWaker,
    queued: AtomicBool,
    index: u32,
    gate: Arc<GateShared>,
    pool: BufferPool,
    failed: OnceLock<ChannelError>,
}

impl LocalChannel {
    /// A channel that is input `index` of `gate`, with `buffers` exclusive buffers of
    /// `buffer_size` bytes of its own.
    pub fn new(gate: Arc<GateShared>, index: u32, buffers: usize, buffer_size: usize) -> Arc<Self> {
        Self::with_pool(gate, index, BufferPool::new(buffers, buffer_size))
    }

    /// A channel that is input `index` of `gate` whose producer writes into buffers of
    /// `pool`; the queue's room is sized by the pool's capacity (see
    /// [`LocalChannel::with_capacity`]).
    pub fn with_pool(gate: Arc<GateShared>, index: u32, pool: BufferPool) -> Arc<Self> {
        Self::with_capacity(gate, index, pool.stats().capacity, pool)
    }

    /// As [`LocalChannel::with_pool`] with room for the slices of `buffers` data buffers in
    /// the queue ([`SLICES_PER_BUFFER`] each) and [`EVENT_SLACK`] events (a receiving network
    /// channel holds buffers from a floating pool as well).
    pub fn with_capacity(
        gate: Arc<GateShared>,
        index: u32,
        buffers: usize,
        pool: BufferPool,
    ) -> Arc<Self> {
        Arc::new(LocalChannel {
            queue: ArrayQueue::new(buffers * SLICES_PER_BUFFER + EVENT_SLACK),
            producer: AtomicWaker::new(),
            queued: AtomicBool::new(false),
            index,
            gate,
            pool,
            failed: OnceLock::new(),
        })
    }

    /// The channel's buffer pool (its credit).
    pub fn pool(&self) -> &BufferPool {
        &self.pool
    }

    /// The channel's index in its gate.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// Marks the channel failed: the producer's next push is refused with `error`. The
    /// first failure wins. Wakes the producer so a waiting writer sees it.
    pub fn fail(&self, error: ChannelError) {
        let _ = self.failed.set(error);
        self.producer.wake();
    }

    /// The error the channel failed with, if it did.
    pub fn failure(&self) -> Option<&ChannelError> {
        self.failed.get()
    }

    /// Hands a message to the consumer, or gives it back if the queue is full.
    ///
    /// A failed channel takes no more messages: they are dropped here (their buffers go back
    /// to the pool), so a producer whose consumer is gone never blocks; it learns of the
    /// failure from [`LocalChannel::failure`].
    pub fn try_push(&self, msg: ChannelMessage) -> Result<(), ChannelMessage> {
        if self.failed.get().is_some() {
            drop(msg);
            return Ok(());
        }
        self.queue.push(msg)?;
        if !self.queued.swap(true, Ordering::AcqRel) {
            self.gate.mark_ready(self.index);
        }
        Ok(())
    }

    /// Registers the producer to be woken when the consumer takes a message.
    pub fn register_producer(&self, cx: &mut Context<'_>) {
        self.producer.register(cx.waker());
    }

    /// Whether the queue has room now.
    pub fn has_space(&self) -> bool {
        !self.queue.is_full()
    }

    /// Pushes, or registers the producer to be woken when space frees up and gives the
    /// message back.
    pub fn push_or_register(
        &self,
        cx: &mut Context<'_>,
        msg: ChannelMessage,
    ) -> Result<(), ChannelMessage> {
        match self.try_push(msg) {
            Ok(()) => Ok(()),
            Err(m) => {
                self.register_producer(cx);
                self.try_push(m)
            }
        }
    }

    /// Number of messages queued.
    pub fn queued_len(&self) -> usize {
        self.queue.len()
    }

    /// Consumer side: takes the next message, if any (the network thread uses this for the
    /// channels it sends; tasks read through their [`InputGate`](super::InputGate)).
    pub fn pop(&self) -> Option<ChannelMessage> {
        let m = self.queue.pop();
        if m.is_some() {
            self.producer.wake();
        }
        m
    }

    /// Consumer side: called when the gate dequeued this channel's index.
    pub(crate) fn unmark(&self) {
        self.queued.store(false, Ordering::SeqCst);
    }

    /// Consumer side: re-queues the index if messages remain.
    pub(super) fn remark_if_nonempty(&self) {
        if !self.queue.is_empty() && !self.queued.swap(true, Ordering::AcqRel) {
            self.gate.mark_ready(self.index);
        }
    }
}
