//! Reading records in place from buffers.

use super::{align_up, archive_align, WireRecord, FLAG_TIMESTAMP, HEADER};
use std::marker::PhantomData;

/// A buffer's bytes do not hold valid frames of the expected record type.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// A frame header or timestamp runs past the end of the buffer.
    #[error("truncated record frame at offset {offset} (buffer length {len})")]
    Truncated {
        /// Offset of the frame.
        offset: usize,
        /// Buffer length.
        len: usize,
    },
    /// A frame carries flags this codec does not know.
    #[error("unknown record flags {flags:#x} at offset {offset}")]
    Flags {
        /// Offset of the frame.
        offset: usize,
        /// The flags found.
        flags: u32,
    },
    /// The archive does not validate as the expected type.
    #[error("record at offset {offset} is not a valid archive: {reason}")]
    Invalid {
        /// Offset of the frame.
        offset: usize,
        /// What rkyv's validator said.
        reason: String,
    },
}

/// Iterates over the records of a buffer, yielding each as `(timestamp, &Archived<T>)`
/// borrowed in place.
pub struct RecordIter<'a, T: WireRecord> {
    bytes: &'a [u8],
    pos: usize,
    validate: bool,
    _t: PhantomData<fn() -> T>,
}

impl<'a, T: WireRecord> RecordIter<'a, T>
where
    T::Archived: 'a,
{
    /// Reads bytes that came from outside the process: every frame and archive is checked.
    ///
    /// `bytes` must start on an address aligned to the archive's alignment (a page-aligned
    /// network buffer does); otherwise each record reports [`DecodeError::Invalid`].
    pub fn validated(bytes: &'a [u8]) -> Self {
        RecordIter {
            bytes,
            pos: 0,
            validate: true,
            _t: PhantomData,
        }
    }

    /// Reads bytes without validation.
    ///
    /// # Safety
    /// `bytes` must have been written by [`encode_record`](super::encode_record) for the
    /// same `T`, in this process (same binary, same layout), and start on a page boundary.
    pub unsafe fn trusted(bytes: &'a [u8]) -> Self {
        RecordIter {
            bytes,
            pos: 0,
            validate: false,
            _t: PhantomData,
        }
    }

    #[inline]
    fn frame(&mut self) -> Result<(Option<i64>, &'a T::Archived), DecodeError> {
        let b = self.bytes;
        let start = self.pos;
        let trunc = DecodeError::Truncated {
            offset: start,
            len: b.len(),
        };
        if start + HEADER > b.len() {
            return Err(trunc);
        }
        let len = u32::from_le_bytes([b[start], b[start + 1], b[start + 2], b[start + 3]]) as usize;
        let flags = u32::from_le_bytes([b[start + 4], b[start + 5], b[start + 6], b[start + 7]]);
        if flags & !FLAG_TIMESTAMP != 0 {
            return Err(DecodeError::Flags {
                offset: start,
                flags,
            });
        }
        let mut at = start + HEADER;
        let ts = if flags & FLAG_TIMESTAMP != 0 {
            let t = b.get(at..at + 8).ok_or(trunc.clone())?;
            at += 8;
            let mut a = [0u8; 8];
            a.copy_from_slice(t);
            Some(i64::from_le_bytes(a))
        } else {
            None
        };
        let data = align_up(at, archive_align::<T>());
        let end = data
            .checked_add(len)
            .filter(|e| *e <= b.len())
            .ok_or(trunc)?;
        let archive = &b[data..end];
        self.pos = align_up(end, 8).min(b.len());
        let value = if self.validate {
            rkyv::access::<T::Archived, rkyv::rancor::Error>(archive).map_err(|e| {
                DecodeError::Invalid {
                    offset: start,
                    reason: e.to_string(),
                }
            })?
        } else {
            // SAFETY: `trusted` obliges the caller to pass bytes written by `encode_record`
            // for this `T` in this process; the frame arithmetic above matches the encoder,
            // so `archive` is exactly one archive of `T` at its required alignment.
            unsafe { rkyv::access_unchecked::<T::Archived>(archive) }
        };
        Ok((ts, value))
    }
}

impl<'a, T: WireRecord> Iterator for RecordIter<'a, T>
where
    T::Archived: 'a,
{
    type Item = Result<(Option<i64>, &'a T::Archived), DecodeError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.bytes.len() {
            return None;
        }
        let r = self.frame();
        if r.is_err() {
            self.pos = self.bytes.len();
        }
        Some(r)
    }
}
