//! Channels between one producer subpartition and one consumer input channel.
//!
//! A [`LocalChannel`] is a bounded single-producer, single-consumer queue of
//! [`ChannelMessage`]s with the buffer pool its producer writes from (its credit). The
//! consumer side of a task reads all its channels through one [`InputGate`], which serves
//! the channels that have messages round-robin.
//!
//! The same channel type carries both kinds of exchange:
//! - in one process, the producing task writes buffers into it and the consuming task reads
//!   them (a slot-to-slot handover of buffer ownership, no copy);
//! - between processes, the network thread is the consumer of the producer's channel (it
//!   sends the buffers on credit) and the producer of the consumer's channel (it receives
//!   buffers into the consumer's exclusive and floating buffers). See [`crate::transport`].
//!
//! Invariants:
//! - Every queue is bounded: the bytes of data buffers by the pool they come from, their
//!   number by [`SLICES_PER_BUFFER`] per pooled buffer, events by a fixed slack
//!   ([`EVENT_SLACK`]); a full queue hands the message back to the sender.
//! - Messages of one channel are delivered in the order they were pushed.
//! - A channel may be closed with an error ([`LocalChannel::fail`]); its producer sees the
//!   error on the next push, and a consumer-side failure arrives in order as
//!   [`ChannelMessage::Failed`].
//!
//! Cross-core types: `LocalChannel` and [`GateShared`] are global handles (`Arc`, lock-free
//! queues and atomic wakers); [`InputGate`] lives on the consuming task's core.

mod gate;
mod local;

pub use gate::{GateShared, InputGate};
pub use local::{LocalChannel, EVENT_SLACK, SLICES_PER_BUFFER};

use crate::buffer::NetBuffer;
use crate::error::ChannelError;

/// A checkpoint barrier as it travels between tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointBarrier {
    /// Checkpoint id (increasing per job).
    pub id: u64,
    /// When the coordinator triggered it (epoch milliseconds).
    pub timestamp: i64,
    /// Aligned: the sending subpartition blocks after the barrier until the receiver
    /// resumes it (Flink's `ResumeConsumption`).
    pub aligned: bool,
}

/// A latency marker (Flink's `LatencyMarker`): a source stamps it with the wall-clock
/// creation time of the record it last emitted, and it travels behind that record through the
/// same buffers and queues to the sinks, which record `now − marked_at`. Operators forward it
/// without handing it to user functions, so it measures the path, not time spent in windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LatencyMarker {
    /// Wall-clock time (`CLOCK_REALTIME`, nanoseconds since the Unix epoch): comparable
    /// between processes on one machine.
    pub marked_at_ns: i64,
    /// The source subtask that emitted it (`vertex << 16 | subtask`).
    pub source: u32,
}

/// An in-band signal between tasks. Events need no buffer and, on the wire, no credit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The producer's watermark (epoch milliseconds).
    Watermark(i64),
    /// The producer went idle (`true`) or active.
    Idle(bool),
    /// The producer finished: nothing follows on this channel.
    EndOfPartition,
    /// The job is being cancelled: stop without finishing.
    Cancel,
    /// A checkpoint barrier.
    Barrier(CheckpointBarrier),
    /// A latency marker.
    LatencyMarker(LatencyMarker),
}

impl Event {
    /// Whether the sending subpartition blocks after this event until it is resumed.
    pub fn is_blocking(&self) -> bool {
        matches!(self, Event::Barrier(b) if b.aligned)
    }
}

/// What travels through a channel.
#[derive(Debug)]
pub enum ChannelMessage {
    /// Serialized records written by this process (read without validation).
    Buffer(NetBuffer),
    /// Serialized records received from another process: validate before reading in place.
    Received(NetBuffer),
    /// A signal.
    Event(Event),
    /// The channel failed (its connection broke or its peer broke the protocol); nothing
    /// follows. The error says whether a retry can help.
    Failed(ChannelError),
}
