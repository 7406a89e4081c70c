//! Typed frames: what each frame type means, built from and turned into a header.

use super::header::{FrameHeader, FrameType, HEADER_LEN};
use super::{FrameError, Limits};
use crate::channel::{CheckpointBarrier, Event, LatencyMarker};
use crate::error::ErrorKind;

/// Which produced partition a consumer asks for: opaque to the network stack (the runtime
/// derives it from the job, the producing edge and the producer subtask).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartitionId(pub u128);

/// Receiver id of an error frame that concerns the whole connection.
const CONNECTION: u32 = u32::MAX;

/// Event kinds in the flags of an event frame.
mod event_kind {
    pub const WATERMARK: u16 = 1;
    pub const IDLE: u16 = 2;
    pub const END_OF_PARTITION: u16 = 3;
    pub const CANCEL: u16 = 4;
    pub const BARRIER: u16 = 5;
    pub const ALIGNED_BARRIER: u16 = 6;
    /// A latency marker: (marked at, epoch ns; source id).
    pub const LATENCY_MARKER: u16 = 7;
}

/// Flag bit of an error frame: a retry can help.
const RETRY_BIT: u16 = 0x100;

/// One message on a connection (the body of data and error frames is read separately).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// Open `subpartition` of `partition` for the consumer's channel `receiver`.
    PartitionRequest {
        /// The consumer's channel id.
        receiver: u32,
        /// The partition.
        partition: PartitionId,
        /// The subpartition (consumer subtask or pointwise target).
        subpartition: u32,
        /// Initial credit: the channel's exclusive buffers.
        credit: u32,
    },
    /// A data buffer of `len` bytes follows.
    Buffer {
        /// The consumer's channel id.
        receiver: u32,
        /// Per-channel sequence number (data and events).
        seq: u32,
        /// Buffers still queued at the sender for this channel.
        backlog: u32,
        /// Body length.
        len: u32,
    },
    /// An event (no body, no credit).
    Event {
        /// The consumer's channel id.
        receiver: u32,
        /// Per-channel sequence number.
        seq: u32,
        /// Buffers still queued at the sender for this channel.
        backlog: u32,
        /// The event.
        event: Event,
    },
    /// `credit` more buffers are free at the consumer.
    AddCredit {
        /// The consumer's channel id.
        receiver: u32,
        /// Additional credit (> 0).
        credit: u32,
    },
    /// Unblock the subpartition after an aligned barrier.
    ResumeConsumption {
        /// The consumer's channel id.
        receiver: u32,
    },
    /// The consumer gives the channel up.
    CancelPartition {
        /// The consumer's channel id.
        receiver: u32,
    },
    /// An error message of `len` bytes follows.
    Error {
        /// The channel concerned, or `None` for the whole connection.
        receiver: Option<u32>,
        /// What went wrong.
        kind: ErrorKind,
        /// Whether a retry can help.
        retry: bool,
        /// Body length.
        len: u32,
    },
}

impl Frame {
    /// The frame's header.
    pub fn header(&self) -> FrameHeader {
        match *self {
            Frame::PartitionRequest {
                receiver,
                partition,
                subpartition,
                credit,
            } => FrameHeader {
                receiver,
                seq: subpartition,
                arg: credit,
                a: partition.0 as u64,
                b: (partition.0 >> 64) as u64,
                ..FrameHeader::new(FrameType::PartitionRequest)
            },
            Frame::Buffer {
                receiver,
                seq,
                backlog,
                len,
            } => FrameHeader {
                receiver,
                seq,
                arg: backlog,
                body_len: len,
                ..FrameHeader::new(FrameType::Buffer)
            },
            Frame::Event {
                receiver,
                seq,
                backlog,
                event,
            } => {
                let (flags, a, b) = encode_event(event);
                FrameHeader {
                    receiver,
                    seq,
                    arg: backlog,
                    flags,
                    a,
                    b,
                    ..FrameHeader::new(FrameType::Event)
                }
            }
            Frame::AddCredit { receiver, credit } => FrameHeader {
                receiver,
                arg: credit,
                ..FrameHeader::new(FrameType::AddCredit)
            },
            Frame::ResumeConsumption { receiver } => FrameHeader {
                receiver,
                ..FrameHeader::new(FrameType::ResumeConsumption)
            },
            Frame::CancelPartition { receiver } => FrameHeader {
                receiver,
                ..FrameHeader::new(FrameType::CancelPartition)
            },
            Frame::Error {
                receiver,
                kind,
                retry,
                len,
            } => FrameHeader {
                receiver: receiver.unwrap_or(CONNECTION),
                flags: error_code(kind) | if retry { RETRY_BIT } else { 0 },
                body_len: len,
                ..FrameHeader::new(FrameType::Error)
            },
        }
    }

    /// The frame's header bytes.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        self.header().encode()
    }

    /// Interprets a checked header, validating the fields of its type.
    pub fn from_header(h: &FrameHeader) -> Result<Frame, FrameError> {
        let bad = |what| FrameError::BadField { kind: h.kind, what };
        let no_values = h.a == 0 && h.b == 0 && h.flags == 0;
        Ok(match h.kind {
            FrameType::PartitionRequest => {
                if h.flags != 0 {
                    return Err(bad("flags must be zero"));
                }
                Frame::PartitionRequest {
                    receiver: h.receiver,
                    partition: PartitionId(u128::from(h.a) | (u128::from(h.b) << 64)),
                    subpartition: h.seq,
                    credit: h.arg,
                }
            }
            FrameType::Buffer => {
                if !no_values {
                    return Err(bad("flags and values must be zero"));
                }
                if h.body_len == 0 {
                    return Err(bad("a data buffer cannot be empty"));
                }
                Frame::Buffer {
                    receiver: h.receiver,
                    seq: h.seq,
                    backlog: h.arg,
                    len: h.body_len,
                }
            }
            FrameType::Event => Frame::Event {
                receiver: h.receiver,
                seq: h.seq,
                backlog: h.arg,
                event: decode_event(h.flags, h.a, h.b).ok_or(bad("unknown event or bad value"))?,
            },
            FrameType::AddCredit => {
                if !no_values || h.seq != 0 {
                    return Err(bad("unused fields must be zero"));
                }
                if h.arg == 0 {
                    return Err(bad("credit must be positive"));
                }
                Frame::AddCredit {
                    receiver: h.receiver,
                    credit: h.arg,
                }
            }
            FrameType::ResumeConsumption | FrameType::CancelPartition => {
                if !no_values || h.seq != 0 || h.arg != 0 {
                    return Err(bad("unused fields must be zero"));
                }
                if h.kind == FrameType::ResumeConsumption {
                    Frame::ResumeConsumption {
                        receiver: h.receiver,
                    }
                } else {
                    Frame::CancelPartition {
                        receiver: h.receiver,
                    }
                }
            }
            FrameType::Error => Frame::Error {
                receiver: (h.receiver != CONNECTION).then_some(h.receiver),
                kind: error_kind(h.flags & 0xff).ok_or(bad("unknown error kind"))?,
                retry: h.flags & RETRY_BIT != 0,
                len: h.body_len,
            },
        })
    }

    /// Body length that follows this frame's header.
    pub fn body_len(&self) -> usize {
        match *self {
            Frame::Buffer { len, .. } | Frame::Error { len, .. } => len as usize,
            _ => 0,
        }
    }
}

fn encode_event(e: Event) -> (u16, u64, u64) {
    use event_kind::*;
    match e {
        Event::Watermark(w) => (WATERMARK, w as u64, 0),
        Event::Idle(i) => (IDLE, u64::from(i), 0),
        Event::EndOfPartition => (END_OF_PARTITION, 0, 0),
        Event::Cancel => (CANCEL, 0, 0),
        Event::Barrier(b) => (
            if b.aligned { ALIGNED_BARRIER } else { BARRIER },
            b.id,
            b.timestamp as u64,
        ),
        Event::LatencyMarker(m) => (LATENCY_MARKER, m.marked_at_ns as u64, u64::from(m.source)),
    }
}

fn decode_event(flags: u16, a: u64, b: u64) -> Option<Event> {
    use event_kind::*;
    Some(match (flags, a, b) {
        (WATERMARK, w, 0) => Event::Watermark(w as i64),
        (IDLE, i @ (0 | 1), 0) => Event::Idle(i == 1),
        (END_OF_PARTITION, 0, 0) => Event::EndOfPartition,
        (CANCEL, 0, 0) => Event::Cancel,
        (BARRIER | ALIGNED_BARRIER, id, ts) => Event::Barrier(CheckpointBarrier {
            id,
            timestamp: ts as i64,
            aligned: flags == ALIGNED_BARRIER,
        }),
        (LATENCY_MARKER, at, source) => Event::LatencyMarker(LatencyMarker {
            marked_at_ns: at as i64,
            source: u32::try_from(source).ok()?,
        }),
        _ => return None,
    })
}

fn error_code(k: ErrorKind) -> u16 {
    match k {
        ErrorKind::PeerLost => 1,
        ErrorKind::Io => 2,
        ErrorKind::Protocol => 3,
        ErrorKind::Remote => 4,
        ErrorKind::PartitionNotFound => 5,
        ErrorKind::Closed => 6,
        ErrorKind::Unavailable => 7,
    }
}

fn error_kind(code: u16) -> Option<ErrorKind> {
    Some(match code {
        1 => ErrorKind::PeerLost,
        2 => ErrorKind::Io,
        3 => ErrorKind::Protocol,
        4 => ErrorKind::Remote,
        5 => ErrorKind::PartitionNotFound,
        6 => ErrorKind::Closed,
        7 => ErrorKind::Unavailable,
        _ => return None,
    })
}

/// Decodes a whole byte stream as the transport reads it (header, then body), returning
/// each frame with its body. Used by tests and the fuzz property; the transport reads the
/// same way but straight into network buffers.
pub fn decode_stream<'a>(
    mut bytes: &'a [u8],
    limits: &Limits,
) -> Result<Vec<(Frame, &'a [u8])>, FrameError> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let Some(head) = bytes.first_chunk::<HEADER_LEN>() else {
            return Err(FrameError::Truncated {
                have: bytes.len(),
                need: HEADER_LEN,
            });
        };
        let frame = Frame::from_header(&FrameHeader::decode(head, limits)?)?;
        let need = HEADER_LEN + frame.body_len();
        if bytes.len() < need {
            return Err(FrameError::Truncated {
                have: bytes.len(),
                need,
            });
        }
        out.push((frame, &bytes[HEADER_LEN..need]));
        bytes = &bytes[need..];
    }
    Ok(out)
}
