//! One producer subtask → one consumer subtask.

use super::gate::GateShared;
use super::ChannelMessage;
use atomic_waker::AtomicWaker;
use crossbeam_queue::ArrayQueue;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::Context;
use strom_net::BufferPool;

/// Extra queue slots beyond the buffer count, for events (they need no buffer).
const EVENT_SLACK: usize = 8;

/// A bounded single-producer, single-consumer channel with its buffer pool (global handle).
pub struct LocalChannel {
    queue: ArrayQueue<ChannelMessage>,
    producer: AtomicWaker,
    queued: AtomicBool,
    index: u32,
    gate: Arc<GateShared>,
    pool: BufferPool,
}

impl LocalChannel {
    /// A channel that is input `index` of `gate`, with `buffers` exclusive buffers of
    /// `buffer_size` bytes.
    pub fn new(gate: Arc<GateShared>, index: u32, buffers: usize, buffer_size: usize) -> Arc<Self> {
        Arc::new(LocalChannel {
            queue: ArrayQueue::new(buffers + EVENT_SLACK),
            producer: AtomicWaker::new(),
            queued: AtomicBool::new(false),
            index,
            gate,
            pool: BufferPool::new(buffers, buffer_size),
        })
    }

    /// The channel's buffer pool (its credit).
    pub fn pool(&self) -> &BufferPool {
        &self.pool
    }

    /// Hands a message to the consumer, or gives it back if the queue is full.
    pub fn try_push(&self, msg: ChannelMessage) -> Result<(), ChannelMessage> {
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

    /// Consumer side: takes the next message, if any.
    pub(super) fn pop(&self) -> Option<ChannelMessage> {
        let m = self.queue.pop();
        if m.is_some() {
            self.producer.wake();
        }
        m
    }

    /// Consumer side: called when the gate dequeued this channel's index.
    pub(super) fn unmark(&self) {
        self.queued.store(false, Ordering::SeqCst);
    }

    /// Consumer side: re-queues the index if messages remain.
    pub(super) fn remark_if_nonempty(&self) {
        if !self.queue.is_empty() && !self.queued.swap(true, Ordering::AcqRel) {
            self.gate.mark_ready(self.index);
        }
    }
}
