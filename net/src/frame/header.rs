//! The fixed 40-byte frame header: raw fields, their encoding and their validation.

use super::{FrameError, Limits};

/// Header length in bytes.
pub const HEADER_LEN: usize = 40;
/// The magic number that opens every frame.
pub const MAGIC: u32 = u32::from_le_bytes(*b"STRM");
/// The protocol version this build speaks.
pub const VERSION: u8 = 1;

/// What a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum FrameType {
    /// Consumer → producer: open a subpartition with an initial credit.
    PartitionRequest = 1,
    /// Producer → consumer: a data buffer (body) with the sender's backlog.
    Buffer = 2,
    /// Producer → consumer: an event; needs no credit.
    Event = 3,
    /// Consumer → producer: more credit for a channel.
    AddCredit = 4,
    /// Consumer → producer: unblock a subpartition blocked by an aligned barrier.
    ResumeConsumption = 5,
    /// Consumer → producer: the consumer no longer wants this channel.
    CancelPartition = 6,
    /// Either way: an error for one channel, or for the connection (body: UTF-8 message).
    Error = 7,
}

impl FrameType {
    fn from_u8(v: u8) -> Option<FrameType> {
        Some(match v {
            1 => FrameType::PartitionRequest,
            2 => FrameType::Buffer,
            3 => FrameType::Event,
            4 => FrameType::AddCredit,
            5 => FrameType::ResumeConsumption,
            6 => FrameType::CancelPartition,
            7 => FrameType::Error,
            _ => return None,
        })
    }
}

/// A frame header's fields, as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// Frame type.
    pub kind: FrameType,
    /// Type-specific flags.
    pub flags: u16,
    /// Body length.
    pub body_len: u32,
    /// The consumer's channel id.
    pub receiver: u32,
    /// Sequence number, or subpartition for a partition request.
    pub seq: u32,
    /// Backlog or credit.
    pub arg: u32,
    /// First value.
    pub a: u64,
    /// Second value.
    pub b: u64,
}

impl FrameHeader {
    /// A header of `kind` with every other field zero.
    pub fn new(kind: FrameType) -> Self {
        FrameHeader {
            kind,
            flags: 0,
            body_len: 0,
            receiver: 0,
            seq: 0,
            arg: 0,
            a: 0,
            b: 0,
        }
    }

    /// The header's bytes.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        h[0..4].copy_from_slice(&MAGIC.to_le_bytes());
        h[4] = VERSION;
        h[5] = self.kind as u8;
        h[6..8].copy_from_slice(&self.flags.to_le_bytes());
        h[8..12].copy_from_slice(&self.body_len.to_le_bytes());
        h[12..16].copy_from_slice(&self.receiver.to_le_bytes());
        h[16..20].copy_from_slice(&self.seq.to_le_bytes());
        h[20..24].copy_from_slice(&self.arg.to_le_bytes());
        h[24..32].copy_from_slice(&self.a.to_le_bytes());
        h[32..40].copy_from_slice(&self.b.to_le_bytes());
        h
    }

    /// Parses and checks a header: magic, version, type and the body length for the type.
    pub fn decode(h: &[u8; HEADER_LEN], limits: &Limits) -> Result<FrameHeader, FrameError> {
        let u32_at = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        let u64_at = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&h[i..i + 8]);
            u64::from_le_bytes(b)
        };
        let magic = u32_at(0);
        if magic != MAGIC {
            return Err(FrameError::WrongMagic { found: magic });
        }
        if h[4] != VERSION {
            return Err(FrameError::Version { found: h[4] });
        }
        let kind = FrameType::from_u8(h[5]).ok_or(FrameError::UnknownType { found: h[5] })?;
        let header = FrameHeader {
            kind,
            flags: u16::from_le_bytes([h[6], h[7]]),
            body_len: u32_at(8),
            receiver: u32_at(12),
            seq: u32_at(16),
            arg: u32_at(20),
            a: u64_at(24),
            b: u64_at(32),
        };
        let limit = match kind {
            FrameType::Buffer => limits.max_data,
            FrameType::Error => limits.max_error,
            _ => 0,
        };
        if header.body_len > limit {
            return Err(FrameError::TooLong {
                kind,
                len: header.body_len,
                limit,
            });
        }
        Ok(header)
    }
}
