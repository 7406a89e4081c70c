//! Writing records into buffers.

use super::{align_up, archive_align, FrameWriter, WireRecord, FLAG_TIMESTAMP, HEADER, MAX_ALIGN};
use crate::NetBuffer;
use rkyv::rancor;
use rkyv::ser::allocator::Arena;
use rkyv::ser::Positional;
use std::cell::Cell;

/// Why a record could not be written.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// The record does not fit in what is left of the buffer; flush it and retry with an
    /// empty one. The record was not written.
    #[error("buffer full")]
    Full,
    /// The record's archived type needs an alignment the codec does not support.
    #[error("archived record alignment {0} exceeds the supported {MAX_ALIGN}")]
    Alignment(usize),
    /// rkyv refused to serialize the value.
    #[error("record serialization failed: {0}")]
    Serialize(rancor::Error),
}

/// Appends one record (with an optional event timestamp) to `buf`, using rkyv's
/// thread-local scratch arena. Writers that encode many records use a [`RecordEncoder`].
///
/// On [`EncodeError::Full`] the buffer is unchanged.
#[inline]
pub fn encode_record<T: WireRecord>(
    buf: &mut NetBuffer,
    value: &T,
    timestamp: Option<i64>,
) -> Result<(), EncodeError> {
    encode(buf, value, timestamp, None)
}

/// Encodes records with its own rkyv scratch arena: no thread-local lookup per record.
/// Per-core (the arena is not `Send`); one per writer.
#[derive(Default)]
pub struct RecordEncoder {
    arena: Arena,
}

impl RecordEncoder {
    /// An encoder with an empty arena.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one record to `buf`, as [`encode_record`].
    #[inline(always)]
    pub fn encode<T: WireRecord>(
        &mut self,
        buf: &mut NetBuffer,
        value: &T,
        timestamp: Option<i64>,
    ) -> Result<(), EncodeError> {
        encode(buf, value, timestamp, Some(&mut self.arena))
    }
}

#[inline(always)]
fn encode<T: WireRecord>(
    buf: &mut NetBuffer,
    value: &T,
    timestamp: Option<i64>,
    arena: Option<&mut Arena>,
) -> Result<(), EncodeError> {
    let align = archive_align::<T>();
    if align > MAX_ALIGN {
        return Err(EncodeError::Alignment(align));
    }
    let start = buf.len();
    let ts_len = if timestamp.is_some() { 8 } else { 0 };
    let data = align_up(start + HEADER + ts_len, align);
    let cap = buf.capacity();
    if data >= cap {
        return Err(EncodeError::Full);
    }
    let mem = buf.memory_mut();
    let overflowed = Cell::new(false);
    let writer = FrameWriter::new(&mut mem[data..], &overflowed);
    let result = match arena {
        Some(arena) => rkyv::api::high::to_bytes_in_with_alloc::<_, _, rancor::Error>(
            value,
            writer,
            arena.acquire(),
        ),
        None => rkyv::api::high::to_bytes_in::<_, rancor::Error>(value, writer),
    };
    let written = match result {
        Ok(w) => w.pos(),
        Err(e) => {
            return Err(if overflowed.get() {
                EncodeError::Full
            } else {
                EncodeError::Serialize(e)
            })
        }
    };
    if written > u32::MAX as usize {
        return Err(EncodeError::Full);
    }
    let flags = if timestamp.is_some() {
        FLAG_TIMESTAMP
    } else {
        0
    };
    mem[start..start + 4].copy_from_slice(&(written as u32).to_le_bytes());
    mem[start + 4..start + 8].copy_from_slice(&flags.to_le_bytes());
    if let Some(ts) = timestamp {
        mem[start + HEADER..start + HEADER + 8].copy_from_slice(&ts.to_le_bytes());
    }
    let end = align_up(data + written, 8).min(cap);
    buf.set_len(end);
    Ok(())
}
