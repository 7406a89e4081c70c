//! Producer side: registered partitions and the sending state of each subpartition.
//!
//! Invariants:
//! - A data buffer leaves only against credit; `credit` never goes below zero (an overflow
//!   of the consumer's additions is a protocol error of that channel).
//! - Events leave without credit, in order with the data: a data buffer waiting for credit
//!   at the head holds back the events behind it.
//! - After an aligned barrier nothing more leaves the subpartition until the consumer sends
//!   `ResumeConsumption`.
//! - A subpartition is requested at most once; once its consumer is gone or it failed, its
//!   channel is failed, so the producer stops instead of blocking, and what it queued is
//!   dropped back to its pool.

use super::connection::{Body, Connection};
use crate::channel::{ChannelMessage, Event, GateShared, LocalChannel};
use crate::error::{ChannelError, ErrorKind};
use crate::frame::{Frame, PartitionId};
use std::sync::Arc;

/// Where a requested subpartition sends to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Binding {
    pub(crate) conn: usize,
    pub(crate) receiver: u32,
}

/// One subpartition's sending state.
pub(crate) struct Sub {
    pub(crate) channel: Arc<LocalChannel>,
    pub(crate) binding: Option<Binding>,
    credit: u32,
    seq: u32,
    head: Option<ChannelMessage>,
    blocked: bool,
    /// End of partition sent, or the subpartition failed: nothing more leaves.
    pub(crate) finished: bool,
}

/// A registered partition: the subpartitions this TaskManager serves (those whose consumers
/// live elsewhere), in gate order.
pub(crate) struct Partition {
    pub(crate) id: PartitionId,
    pub(crate) gate: Arc<GateShared>,
    /// Subpartition number of each entry of `subs`.
    pub(crate) numbers: Vec<u32>,
    pub(crate) subs: Vec<Sub>,
}

impl Partition {
    pub(crate) fn new(
        id: PartitionId,
        gate: Arc<GateShared>,
        numbers: Vec<u32>,
        channels: Vec<Arc<LocalChannel>>,
    ) -> Self {
        Partition {
            id,
            gate,
            numbers,
            subs: channels
                .into_iter()
                .map(|channel| Sub {
                    channel,
                    binding: None,
                    credit: 0,
                    seq: 0,
                    head: None,
                    blocked: false,
                    finished: false,
                })
                .collect(),
        }
    }

    /// Position in `subs` of subpartition `number`.
    pub(crate) fn position(&self, number: u32) -> Option<usize> {
        self.numbers.iter().position(|n| *n == number)
    }

    /// Whether every subpartition is finished.
    pub(crate) fn all_finished(&self) -> bool {
        self.subs.iter().all(|s| s.finished)
    }
}

impl Sub {
    /// Binds the subpartition to a consumer's channel with its initial credit.
    pub(crate) fn bind(&mut self, binding: Binding, credit: u32) -> Result<(), &'static str> {
        if self.binding.is_some() || self.finished {
            return Err("subpartition was already requested");
        }
        self.binding = Some(binding);
        self.credit = credit;
        Ok(())
    }

    /// Adds credit from the consumer.
    pub(crate) fn add_credit(&mut self, credit: u32) -> Result<(), ChannelError> {
        self.credit = self.credit.checked_add(credit).ok_or_else(|| {
            ChannelError::new(
                ErrorKind::Protocol,
                "credit overflow: the consumer announced more than 2^32 buffers",
            )
        })?;
        Ok(())
    }

    /// Unblocks after an aligned barrier.
    pub(crate) fn resume(&mut self) {
        self.blocked = false;
    }

    /// Sends what credit and blocking allow onto `conn`. Returns true if the subpartition
    /// finished (end of partition queued).
    pub(crate) fn pump(&mut self, conn: &mut Connection) -> bool {
        let Some(Binding { receiver, .. }) = self.binding else {
            return false;
        };
        while !self.blocked && !self.finished {
            let msg = match self.head.take().or_else(|| self.channel.pop()) {
                Some(m) => m,
                None => break,
            };
            let backlog = self.channel.queued_len() as u32;
            match msg {
                ChannelMessage::Buffer(b) | ChannelMessage::Received(b) => {
                    if self.credit == 0 {
                        self.head = Some(ChannelMessage::Buffer(b));
                        break;
                    }
                    if b.is_empty() {
                        continue; // nothing to send; the buffer goes back to its pool
                    }
                    self.credit -= 1;
                    let frame = Frame::Buffer {
                        receiver,
                        seq: self.seq,
                        backlog,
                        len: b.len() as u32,
                    };
                    self.seq = self.seq.wrapping_add(1);
                    conn.queue(frame, Body::Buffer(b));
                }
                ChannelMessage::Event(event) => {
                    let frame = Frame::Event {
                        receiver,
                        seq: self.seq,
                        backlog,
                        event,
                    };
                    self.seq = self.seq.wrapping_add(1);
                    conn.queue(frame, Body::None);
                    self.blocked = event.is_blocking();
                    // End of partition and cancellation are the last a subpartition sends.
                    if matches!(event, Event::EndOfPartition | Event::Cancel) {
                        self.finished = true;
                    }
                }
                ChannelMessage::Failed(_) => {}
            }
        }
        self.finished
    }

    /// One line of state for diagnostics.
    pub(crate) fn debug(&self) -> String {
        format!(
            "bound={:?} credit={} seq={} head={} blocked={} finished={} queued={} pool_free={}",
            self.binding,
            self.credit,
            self.seq,
            self.head.is_some(),
            self.blocked,
            self.finished,
            self.channel.queued_len(),
            self.channel.pool().stats().available
        )
    }

    /// Fails the subpartition: the producer sees `error` and its queued buffers are dropped.
    pub(crate) fn fail(&mut self, error: ChannelError) {
        self.finished = true;
        // The binding stays: dropping the partition removes it from its connection.
        self.head = None;
        self.channel.fail(error);
        self.drain();
    }

    /// Drops whatever the producer queued (after a failure).
    pub(crate) fn drain(&mut self) {
        while self.channel.pop().is_some() {}
    }
}
