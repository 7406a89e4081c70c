//! The wire format between TaskManagers: fixed-size frame headers, then an optional body.
//!
//! Every message on a connection is one frame:
//!
//! ```text
//! offset  size  field
//!      0     4  magic 0x5354524D ("STRM" in little-endian byte order)
//!      4     1  protocol version (1)
//!      5     1  frame type (see [`FrameType`])
//!      6     2  flags: event kind (events), error kind and retry bit (errors)
//!      8     4  body length in bytes (data and error frames only; 0 otherwise)
//!     12     4  receiver: the consumer's id for the logical channel
//!     16     4  sequence number (data and events) | subpartition (partition request)
//!     20     4  backlog (data and events) | credit (partition request, add credit)
//!     24     8  a: event value | partition id, low half
//!     32     8  b: event value | partition id, high half
//!     40     …  body
//! ```
//!
//! All integers are little-endian. The header is fixed-size so a receiver reads it first
//! and then reads a data body straight into a network buffer of the right channel: no copy
//! between the socket and the operator that reads the records in place.
//!
//! Invariants checked by [`FrameHeader::decode`] (each failure is a [`FrameError`] that names
//! the field): the magic, the version, a known type, a body length within the limit for the
//! type (and zero where a type has no body), a known event kind, a non-zero credit. Checks
//! that need a channel's state (sequence gaps, credit overrun) belong to the transport.

mod header;
mod message;

#[cfg(test)]
mod tests;

pub use header::{FrameHeader, FrameType, HEADER_LEN, MAGIC, VERSION};
pub use message::{decode_stream, Frame, PartitionId};

/// A frame that cannot be accepted; the connection it came on is unusable afterwards.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The first four bytes are not the magic number.
    #[error("wrong magic {found:#010x} (expected {MAGIC:#010x}): not a strom peer, or the stream lost sync")]
    WrongMagic {
        /// What was read.
        found: u32,
    },
    /// A protocol version this build does not speak.
    #[error("unsupported protocol version {found} (this build speaks {VERSION})")]
    Version {
        /// What was read.
        found: u8,
    },
    /// A frame type this build does not know.
    #[error("unknown frame type {found}")]
    UnknownType {
        /// What was read.
        found: u8,
    },
    /// A body longer than allowed for its type.
    #[error("{kind:?} frame body of {len} bytes exceeds the limit of {limit} bytes")]
    TooLong {
        /// Frame type.
        kind: FrameType,
        /// Declared body length.
        len: u32,
        /// The limit for this type.
        limit: u32,
    },
    /// A field holds a value its type does not allow.
    #[error("{kind:?} frame: {what}")]
    BadField {
        /// Frame type.
        kind: FrameType,
        /// Which field and why.
        what: &'static str,
    },
    /// The stream ended inside a frame.
    #[error("stream ended inside a frame: {have} of {need} bytes")]
    Truncated {
        /// Bytes present.
        have: usize,
        /// Bytes the frame needs.
        need: usize,
    },
}

/// Limits a receiver applies to frame bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest data body: a network buffer, or one oversized record.
    pub max_data: u32,
    /// Largest error message.
    pub max_error: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_data: 64 << 20,
            max_error: 64 << 10,
        }
    }
}
