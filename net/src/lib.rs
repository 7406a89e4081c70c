//! # strom-net: the wire
//!
//! Everything that moves bytes between tasks, and nothing that knows about jobs:
//!
//! - [`buffer`]: fixed-size, page-aligned network buffers and the bounded pools they are
//!   recycled to. Memory used for exchanges is bounded by pool sizes, never by input rate.
//! - [`codec`]: how typed records are laid out inside a buffer as rkyv archives, so that a
//!   receiver reads them in place (zero-copy) and validates them where the bytes came from
//!   outside the process.
//!
//! The TCP transport, framing and credit-based flow control between processes build on these
//! two modules (see `docs/architecture.md`).
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod buffer;
pub mod codec;

pub use buffer::{BufferPool, NetBuffer, PoolStats};
pub use codec::{DecodeError, EncodeError, RecordIter, WireRecord};
