//! Writing records into buffers.

use super::{
    align_up, archive_align, FrameWriter, WireRecord, FLAG_RUN, FLAG_TIMESTAMP, HEADER, MAX_ALIGN,
};
use crate::NetBuffer;
use rkyv::rancor;
use rkyv::ser::allocator::Arena;
use rkyv::ser::sharing::Share;
use rkyv::ser::{Positional, Serializer};
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
    encode(buf, value, timestamp, None).map(|_| ())
}

/// Encodes records with its own rkyv scratch arena: no thread-local lookup per record.
/// Per-core (the arena is not `Send`); one per writer, hence one record type.
///
/// [`RecordEncoder::encode_in_run`] packs records whose archive has a fixed size (no
/// out-of-line data) and that share a timestamp into runs behind one frame header. The
/// first record of the type that turns out to need out-of-line data turns runs off for
/// this encoder: from then on every record is its own frame, serialized once.
#[derive(Default)]
pub struct RecordEncoder {
    arena: Arena,
    runs_off: bool,
}

/// The open run of one buffer (per buffer being filled; the writer keeps one per channel).
///
/// Invariant: a run is open only while the buffer still ends right after its last record
/// (`end == buf.len()`); any other write to the buffer, or a fresh buffer, closes it.
#[derive(Debug, Default, Clone, Copy)]
pub struct RunCursor {
    /// Offset of the run's frame header; `None` when no run is open.
    header: Option<usize>,
    /// Records in the run.
    count: u32,
    /// The timestamp every record of the run has.
    ts: Option<i64>,
    /// The buffer length right after the run's last record.
    end: usize,
}

impl RecordEncoder {
    /// An encoder with an empty arena.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one record to `buf` as its own frame, as [`encode_record`].
    #[inline(always)]
    pub fn encode<T: WireRecord>(
        &mut self,
        buf: &mut NetBuffer,
        value: &T,
        timestamp: Option<i64>,
    ) -> Result<(), EncodeError> {
        encode(buf, value, timestamp, Some(&mut self.arena)).map(|_| ())
    }

    /// Appends one record to `buf`, joining `run` when it can: same timestamp, fixed-size
    /// archive, `run` still open at the end of `buf`. Otherwise the record starts a frame
    /// (a new run, if its archive has the fixed size).
    ///
    /// On [`EncodeError::Full`] the buffer's contents are unchanged.
    #[inline(always)]
    pub fn encode_in_run<T: WireRecord>(
        &mut self,
        buf: &mut NetBuffer,
        run: &mut RunCursor,
        value: &T,
        timestamp: Option<i64>,
    ) -> Result<(), EncodeError> {
        let stride = std::mem::size_of::<T::Archived>();
        if self.runs_off || stride == 0 {
            return self.encode(buf, value, timestamp);
        }
        if self.append_to_run(buf, run, std::slice::from_ref(value), timestamp)? == 1 {
            return Ok(());
        }
        run.header = None;
        let frame = encode(buf, value, timestamp, Some(&mut self.arena))?;
        if frame.written != stride {
            self.runs_off = true;
        } else if !self.runs_off {
            // Turn the one-record frame into a run of one: the layouts differ only in the
            // header (a count instead of the length, and the run flag).
            let flags = FLAG_RUN
                | if timestamp.is_some() {
                    FLAG_TIMESTAMP
                } else {
                    0
                };
            let header = 1u64 | (u64::from(flags) << 32);
            buf.memory_mut()[frame.start..frame.start + HEADER]
                .copy_from_slice(&header.to_le_bytes());
            *run = RunCursor {
                header: Some(frame.start),
                count: 1,
                ts: timestamp,
                end: buf.len(),
            };
        }
        Ok(())
    }

    /// Appends a prefix of `values` to `run`, if it is open at the end of `buf` with this
    /// timestamp, serializing them back to back with one serializer; returns how many.
    ///
    /// Stops at the end of the buffer and at the first record that needs out-of-line data
    /// (which turns runs off: the bytes it left past the buffer's end are ignored). Records
    /// not appended are left to [`RecordEncoder::encode_in_run`].
    ///
    /// Records are serialized with one rkyv sharing table: a record whose only out-of-line
    /// data is a shared pointer (`Rc`, `Arc`) the run's first record already wrote would
    /// pass for fixed-size. The first record of a run is serialized alone, so a type with
    /// shared pointers never opens a run unless its pointees are zero-sized.
    pub fn append_to_run<T: WireRecord>(
        &mut self,
        buf: &mut NetBuffer,
        run: &mut RunCursor,
        values: &[T],
        timestamp: Option<i64>,
    ) -> Result<usize, EncodeError> {
        let stride = std::mem::size_of::<T::Archived>();
        let Some(header) = run.header else {
            return Ok(0);
        };
        if self.runs_off || stride == 0 || run.end != buf.len() || run.ts != timestamp {
            return Ok(0);
        }
        let at = buf.len();
        let room = (buf.capacity() - at) / stride;
        let max = values.len().min(room).min((u32::MAX - run.count) as usize);
        if max == 0 {
            return Ok(0);
        }
        let mem = buf.memory_mut();
        let overflowed = Cell::new(false);
        let writer = FrameWriter::new(&mut mem[at..at + max * stride], &overflowed);
        let mut ser = Serializer::new(writer, self.arena.acquire(), Share::new());
        let mut n = 0;
        for v in &values[..max] {
            match rkyv::api::serialize_using::<_, rancor::Error>(v, &mut ser) {
                Ok(_) if ser.pos() == (n + 1) * stride => n += 1,
                // Out-of-line data, or more than a stride (it overflowed the run's room).
                Ok(_) => {
                    self.runs_off = true;
                    break;
                }
                Err(_) if overflowed.get() => {
                    self.runs_off = true;
                    break;
                }
                Err(e) => return Err(EncodeError::Serialize(e)),
            }
        }
        drop(ser);
        if n > 0 {
            run.count += n as u32;
            buf.set_len(at + n * stride);
            run.end = buf.len();
            buf.memory_mut()[header..header + 4].copy_from_slice(&run.count.to_le_bytes());
        }
        Ok(n)
    }
}

/// Where [`encode`] put a frame.
#[derive(Clone, Copy)]
struct Written {
    /// Offset of the frame header.
    start: usize,
    /// Archive bytes.
    written: usize,
}

#[inline(always)]
fn encode<T: WireRecord>(
    buf: &mut NetBuffer,
    value: &T,
    timestamp: Option<i64>,
    arena: Option<&mut Arena>,
) -> Result<Written, EncodeError> {
    let align = archive_align::<T>();
    if align > MAX_ALIGN {
        return Err(EncodeError::Alignment(align));
    }
    let start = align_up(buf.len(), 8);
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
    // One 8-byte store: archive length, then flags.
    let header = (written as u64) | (u64::from(flags) << 32);
    mem[start..start + HEADER].copy_from_slice(&header.to_le_bytes());
    if let Some(ts) = timestamp {
        mem[start + HEADER..start + HEADER + 8].copy_from_slice(&ts.to_le_bytes());
    }
    buf.set_len(data + written);
    Ok(Written { start, written })
}
