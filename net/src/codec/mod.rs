//! The record codec: how typed records sit inside a [`NetBuffer`](crate::NetBuffer).
//!
//! A buffer is a sequence of frames, each starting on an 8-byte boundary. A frame holds one
//! record, or a *run* of records that share a timestamp and whose archives have the fixed
//! size `S` of the archived type (no out-of-line data: integers, tuples and structs of
//! them, short strings):
//!
//! ```text
//! | u32 LE: archive length | flags (bit 0: timestamp, bit 1: run) | [i64 LE timestamp] | pad to A | rkyv archive |
//! | u32 LE: record count n | flags (bit 1 set)                     | [i64 LE timestamp] | pad to A | n archives of S bytes |
//! ```
//!
//! where `A` is the alignment of the record's archived type (at most 16, and a divisor of
//! `S`, so every archive of a run is aligned). A run costs one header for many records and
//! reads as a tight loop: the writer's encoder ([`RecordEncoder::encode_in_run`]) appends to
//! the run while records keep the timestamp and the fixed size. Because every buffer,
//! and every slice of one, starts at a multiple of [`SLICE_ALIGN`](crate::buffer::SLICE_ALIGN)
//! (a multiple of `A`), an archive that starts at an `A`-aligned offset is `A`-aligned in memory,
//! and the receiver can read it in place: [`RecordIter`] yields `&Archived<T>` borrowed from
//! the buffer, with no copy between the buffer and the operator.
//!
//! Trust: [`RecordIter::trusted`] skips validation and may only be used on bytes this
//! process wrote for the same type (the in-process exchange). Bytes from anywhere else go
//! through [`RecordIter::validated`], which checks every frame and archive and reports a
//! [`DecodeError`] naming the offset.

mod decode;
mod encode;
mod writer;

pub use decode::{DecodeError, RecordIter, Slice};
pub use encode::{encode_record, EncodeError, RecordEncoder, RunCursor};
pub use writer::FrameWriter;

use rkyv::api::high::{HighDeserializer, HighSerializer, HighValidator};
use rkyv::bytecheck::CheckBytes;
use rkyv::rancor;
use rkyv::ser::allocator::ArenaHandle;
use rkyv::{Archive, Deserialize, Serialize};

/// Frame header size: archive length and flags.
const HEADER: usize = 8;
/// Flag bit: a timestamp follows the header.
const FLAG_TIMESTAMP: u32 = 1;
/// Flag bit: the frame is a run; the header's first word counts its records.
const FLAG_RUN: u32 = 2;
/// Largest archived-type alignment the codec supports.
pub const MAX_ALIGN: usize = 16;
const _: () = assert!(crate::buffer::SLICE_ALIGN.is_multiple_of(MAX_ALIGN));

/// A type that can travel between tasks: it archives into a network buffer with rkyv, its
/// archive can be validated, and it deserializes back.
///
/// Implemented for every type with `#[derive(rkyv::Archive, rkyv::Serialize,
/// rkyv::Deserialize)]` (and the primitives, `String`, tuples, `Vec`, `Option`).
pub trait WireRecord:
    Archive<
        Archived: Deserialize<Self, HighDeserializer<rancor::Error>>
                      + for<'a> CheckBytes<HighValidator<'a, rancor::Error>>,
    > + for<'a, 'b> Serialize<HighSerializer<FrameWriter<'b>, ArenaHandle<'a>, rancor::Error>>
    + Sized
{
}

impl<T> WireRecord for T where
    T: Archive<
            Archived: Deserialize<T, HighDeserializer<rancor::Error>>
                          + for<'a> CheckBytes<HighValidator<'a, rancor::Error>>,
        > + for<'a, 'b> Serialize<HighSerializer<FrameWriter<'b>, ArenaHandle<'a>, rancor::Error>>
{
}

/// Alignment of `T`'s archive inside a frame.
pub(crate) const fn archive_align<T: Archive>() -> usize {
    let a = std::mem::align_of::<T::Archived>();
    if a < 8 {
        8
    } else {
        a
    }
}

pub(crate) const fn align_up(x: usize, a: usize) -> usize {
    (x + a - 1) & !(a - 1)
}

/// Deserializes an archived record into its owned form.
pub fn deserialize<T: WireRecord>(archived: &T::Archived) -> Result<T, rancor::Error> {
    rkyv::deserialize::<T, rancor::Error>(archived)
}

#[cfg(test)]
mod tests;
