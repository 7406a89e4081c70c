//! The RPC wire format: a fixed 20-byte header, then the body.
//!
//! ```text
//! offset  size  field
//!      0     4  magic, the bytes b"SRPC"
//!      4     1  version (1)
//!      5     1  kind: 1 request, 2 response, 3 notify, 4 error response
//!      6     2  reserved, always 0
//!      8     8  correlation id, u64 little-endian (0 for notify)
//!     16     4  body length in bytes, u32 little-endian
//!     20     …  body
//! ```
//!
//! A response and an error response carry the id of the request they answer. The body is
//! opaque bytes, except for an error response, whose body is a UTF-8 message.
//!
//! Invariants checked by [`RpcHeader::decode`], in this order, each failure a [`HeaderError`]
//! that names the field: the magic, the version, a known kind, a zero reserved field, and a
//! body length within the configured maximum. The correlation id of a notify is not checked
//! (it is written as 0 and ignored when read). Decoding never panics, whatever the bytes.

use std::fmt;

/// Header length in bytes.
pub const HEADER_LEN: usize = 20;
/// The bytes that open every frame.
pub const MAGIC: [u8; 4] = *b"SRPC";
/// The protocol version this build speaks.
pub const VERSION: u8 = 1;
/// The default limit on a body's length: 16 MiB.
pub const DEFAULT_MAX_BODY: usize = 16 << 20;

/// What a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RpcKind {
    /// A request; the peer answers with a response or an error response of the same id.
    Request = 1,
    /// A successful answer to the request with the same id.
    Response = 2,
    /// A one-way message; nobody answers it.
    Notify = 3,
    /// A failed answer to the request with the same id; the body is a UTF-8 message.
    ErrorResponse = 4,
}

impl RpcKind {
    /// The kind with wire value `v`, if there is one.
    pub fn from_u8(v: u8) -> Option<RpcKind> {
        Some(match v {
            1 => RpcKind::Request,
            2 => RpcKind::Response,
            3 => RpcKind::Notify,
            4 => RpcKind::ErrorResponse,
            _ => return None,
        })
    }
}

/// A header's fields, as on the wire (magic, version and reserved are implied).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RpcHeader {
    /// What the frame carries.
    pub kind: RpcKind,
    /// Correlation id: the request's id in a request and its answers; 0 in a notify.
    pub id: u64,
    /// Body length in bytes.
    pub body_len: u32,
}

/// A header that cannot be accepted; the connection it came on is unusable afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// The first four bytes are not b"SRPC".
    #[error("wrong magic {}: not a strom RPC peer, or the stream lost sync", Bytes(.found))]
    Magic {
        /// What was read.
        found: [u8; 4],
    },
    /// A protocol version this build does not speak.
    #[error("unsupported version {found} (this build speaks {VERSION})")]
    Version {
        /// What was read.
        found: u8,
    },
    /// A kind this build does not know.
    #[error("unknown kind {found}")]
    Kind {
        /// What was read.
        found: u8,
    },
    /// The reserved field is not zero.
    #[error("reserved field is {found:#06x}, must be 0")]
    Reserved {
        /// What was read.
        found: u16,
    },
    /// A body longer than the configured maximum.
    #[error("body length {len} exceeds the limit of {max} bytes")]
    Length {
        /// Declared body length.
        len: u32,
        /// The configured maximum.
        max: usize,
    },
}

impl HeaderError {
    /// The name of the header field that was wrong: "magic", "version", "kind", "reserved" or
    /// "length".
    pub fn field(&self) -> &'static str {
        match self {
            HeaderError::Magic { .. } => "magic",
            HeaderError::Version { .. } => "version",
            HeaderError::Kind { .. } => "kind",
            HeaderError::Reserved { .. } => "reserved",
            HeaderError::Length { .. } => "length",
        }
    }
}

/// Shows four bytes as an escaped byte string, e.g. `b"HTTP"` or `b"\x00\x01.."`.
struct Bytes<'a>(&'a [u8; 4]);

impl fmt::Display for Bytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b\"{}\"", self.0.escape_ascii())
    }
}

impl RpcHeader {
    /// The header's 20 bytes.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0..4].copy_from_slice(&MAGIC);
        out[4] = VERSION;
        out[5] = self.kind as u8;
        // out[6..8]: reserved, zero.
        out[8..16].copy_from_slice(&self.id.to_le_bytes());
        out[16..20].copy_from_slice(&self.body_len.to_le_bytes());
        out
    }

    /// Decodes and validates a header; `max_body` is the largest body length accepted.
    pub fn decode(bytes: &[u8; HEADER_LEN], max_body: usize) -> Result<RpcHeader, HeaderError> {
        let [m0, m1, m2, m3, version, kind, r0, r1, i0, i1, i2, i3, i4, i5, i6, i7, l0, l1, l2, l3] =
            *bytes;
        let magic = [m0, m1, m2, m3];
        if magic != MAGIC {
            return Err(HeaderError::Magic { found: magic });
        }
        if version != VERSION {
            return Err(HeaderError::Version { found: version });
        }
        let kind = RpcKind::from_u8(kind).ok_or(HeaderError::Kind { found: kind })?;
        let reserved = u16::from_le_bytes([r0, r1]);
        if reserved != 0 {
            return Err(HeaderError::Reserved { found: reserved });
        }
        let id = u64::from_le_bytes([i0, i1, i2, i3, i4, i5, i6, i7]);
        let body_len = u32::from_le_bytes([l0, l1, l2, l3]);
        if usize::try_from(body_len).map_or(true, |len| len > max_body) {
            return Err(HeaderError::Length {
                len: body_len,
                max: max_body,
            });
        }
        Ok(RpcHeader { kind, id, body_len })
    }

    /// Header plus body length in bytes.
    pub fn frame_len(&self) -> usize {
        // u32 always fits in usize on the 32- and 64-bit targets strom builds for.
        HEADER_LEN + self.body_len as usize
    }
}

/// How much of a frame a buffer holds, as found by [`split_frame`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameStatus {
    /// A whole frame: its header, and its body at `buf[HEADER_LEN..header.frame_len()]`.
    Complete(RpcHeader),
    /// Not yet a whole frame: at least `missing` more bytes are needed.
    Incomplete {
        /// Bytes still missing before the next step (the header, or the rest of the body).
        missing: usize,
    },
}

/// Looks at the start of `buf` (received bytes, a frame boundary at offset 0): is there a whole
/// frame? The header is validated as soon as its 20 bytes are present, so a bad header is
/// reported without waiting for a body that may never come.
pub fn split_frame(buf: &[u8], max_body: usize) -> Result<FrameStatus, HeaderError> {
    let Some(head) = buf.first_chunk::<HEADER_LEN>() else {
        return Ok(FrameStatus::Incomplete {
            missing: HEADER_LEN - buf.len(),
        });
    };
    let header = RpcHeader::decode(head, max_body)?;
    let need = header.frame_len();
    if buf.len() >= need {
        Ok(FrameStatus::Complete(header))
    } else {
        Ok(FrameStatus::Incomplete {
            missing: need - buf.len(),
        })
    }
}
