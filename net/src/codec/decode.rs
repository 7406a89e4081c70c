//! Reading records in place from buffers.

use super::{align_up, archive_align, WireRecord, FLAG_RUN, FLAG_TIMESTAMP, HEADER};
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
    /// A run frame announces no records.
    #[error("empty record run at offset {offset}")]
    EmptyRun {
        /// Offset of the frame.
        offset: usize,
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
    /// Records left in the current run (read from `pos` on, one archive each).
    run_left: u32,
    /// The current run's timestamp.
    run_ts: Option<i64>,
    /// Offset of the current run's frame header (for errors).
    run_frame: usize,
    _t: PhantomData<fn() -> T>,
}

/// Records that share a timestamp, in place: `(timestamp, archives)`
/// ([`RecordIter::next_slice`]).
pub type Slice<'a, T> = (Option<i64>, &'a [<T as rkyv::Archive>::Archived]);

/// What a frame header introduced.
enum Frame<'a, A> {
    /// A frame of one record, read.
    Single(Option<i64>, &'a A),
    /// A run, entered: its records follow.
    Run,
}

impl<'a, T: WireRecord> RecordIter<'a, T>
where
    T::Archived: 'a,
{
    /// Reads bytes that came from outside the process: every frame and archive is checked.
    ///
    /// `bytes` must start on an address aligned to the archive's alignment (every network
    /// buffer and slice of one does); otherwise each record reports [`DecodeError::Invalid`].
    pub fn validated(bytes: &'a [u8]) -> Self {
        RecordIter {
            bytes,
            pos: 0,
            validate: true,
            run_left: 0,
            run_ts: None,
            run_frame: 0,
            _t: PhantomData,
        }
    }

    /// Reads bytes without validation.
    ///
    /// # Safety
    /// `bytes` must have been written by [`encode_record`](super::encode_record) for the
    /// same `T`, in this process (same binary, same layout), and be the written bytes of the
    /// [`NetBuffer`](crate::NetBuffer) it wrote them into (which start on a
    /// [`SLICE_ALIGN`](crate::buffer::SLICE_ALIGN) boundary).
    pub unsafe fn trusted(bytes: &'a [u8]) -> Self {
        RecordIter {
            bytes,
            pos: 0,
            validate: false,
            run_left: 0,
            run_ts: None,
            run_frame: 0,
            _t: PhantomData,
        }
    }

    /// Reads the frame header at `pos`: a single record is returned, a run is entered
    /// (its records are then read by [`Self::run_record`] or [`Self::next_slice`]).
    #[inline]
    fn frame(&mut self) -> Result<Frame<'a, T::Archived>, DecodeError> {
        let b = self.bytes;
        let start = self.pos;
        let trunc = DecodeError::Truncated {
            offset: start,
            len: b.len(),
        };
        let Some(header) = b.get(start..start + HEADER) else {
            return Err(trunc);
        };
        // One 8-byte load: archive length, then flags.
        let mut h = [0u8; HEADER];
        h.copy_from_slice(header);
        let header = u64::from_le_bytes(h);
        let len = (header & 0xffff_ffff) as usize;
        let flags = (header >> 32) as u32;
        if flags & !(FLAG_TIMESTAMP | FLAG_RUN) != 0 {
            return Err(DecodeError::Flags {
                offset: start,
                flags,
            });
        }
        let mut at = start + HEADER;
        let ts = if flags & FLAG_TIMESTAMP != 0 {
            let Some(t) = b.get(at..at + 8) else {
                return Err(trunc);
            };
            at += 8;
            let mut a = [0u8; 8];
            a.copy_from_slice(t);
            Some(i64::from_le_bytes(a))
        } else {
            None
        };
        let data = align_up(at, archive_align::<T>());
        if flags & FLAG_RUN != 0 {
            // `len` counts the run's records.
            if len == 0 {
                return Err(DecodeError::EmptyRun { offset: start });
            }
            if std::mem::size_of::<T::Archived>() == 0 {
                // The encoder never packs zero-size archives into runs.
                return Err(DecodeError::Flags {
                    offset: start,
                    flags,
                });
            }
            std::mem::size_of::<T::Archived>()
                .checked_mul(len)
                .and_then(|bytes| data.checked_add(bytes))
                .filter(|e| *e <= b.len())
                .ok_or(trunc)?;
            self.pos = data;
            self.run_left = len as u32;
            self.run_ts = ts;
            self.run_frame = start;
            return Ok(Frame::Run);
        }
        let end = data
            .checked_add(len)
            .filter(|e| *e <= b.len())
            .ok_or(trunc)?;
        self.pos = align_up(end, 8).min(b.len());
        Ok(Frame::Single(ts, self.access(&b[data..end], start)?))
    }

    /// The next record of the current run (bounds checked when the run was read).
    #[inline]
    fn run_record(&mut self) -> Result<(Option<i64>, &'a T::Archived), DecodeError> {
        let size = std::mem::size_of::<T::Archived>();
        let at = self.pos;
        let archive = &self.bytes[at..at + size];
        self.run_left -= 1;
        self.pos = if self.run_left == 0 {
            align_up(at + size, 8).min(self.bytes.len())
        } else {
            at + size
        };
        Ok((self.run_ts, self.access(archive, self.run_frame)?))
    }

    /// The next `n` (≤ `run_left`) records of the current run as one slice.
    #[inline]
    fn run_slice(&mut self, n: usize) -> Result<&'a [T::Archived], DecodeError> {
        let size = std::mem::size_of::<T::Archived>();
        let at = self.pos;
        let bytes = &self.bytes[at..at + n * size];
        if self.validate {
            for archive in bytes.chunks_exact(size) {
                self.access(archive, self.run_frame)?;
            }
        }
        self.run_left -= n as u32;
        self.pos = if self.run_left == 0 {
            align_up(at + n * size, 8).min(self.bytes.len())
        } else {
            at + n * size
        };
        // SAFETY: the run's bounds were checked when its header was read, so `bytes` holds
        // `n` archives of `size` bytes back to back. Each is a valid `T::Archived` at its
        // alignment: validated one by one above (alignment included), or, trusted, written
        // by the encoder for this `T` at an `A`-aligned offset of a buffer or slice (which starts `A`-aligned)
        // (the `trusted` contract). `size` is the archive's `size_of`, the array stride.
        Ok(unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<T::Archived>(), n) })
    }

    /// The next records as a slice of at most `max` (≥ 1) archives that share a timestamp:
    /// a run's records in chunks of `max`, or a single frame's one record. Reading a run
    /// as a slice lets the caller deserialize it in a tight loop (no frame logic per record).
    #[inline]
    pub fn next_slice(&mut self, max: usize) -> Option<Result<Slice<'a, T>, DecodeError>> {
        if self.run_left == 0 {
            if self.pos >= self.bytes.len() {
                return None;
            }
            match self.frame() {
                Ok(Frame::Single(ts, a)) => return Some(Ok((ts, std::slice::from_ref(a)))),
                Ok(Frame::Run) => {}
                Err(e) => {
                    self.fail();
                    return Some(Err(e));
                }
            }
        }
        let n = (self.run_left as usize).min(max.max(1));
        match self.run_slice(n) {
            Ok(s) => Some(Ok((self.run_ts, s))),
            Err(e) => {
                self.fail();
                Some(Err(e))
            }
        }
    }

    /// After an error: nothing more is read.
    fn fail(&mut self) {
        self.pos = self.bytes.len();
        self.run_left = 0;
    }

    #[inline]
    fn access(&self, archive: &'a [u8], frame: usize) -> Result<&'a T::Archived, DecodeError> {
        if self.validate {
            rkyv::access::<T::Archived, rkyv::rancor::Error>(archive).map_err(|e| {
                DecodeError::Invalid {
                    offset: frame,
                    reason: e.to_string(),
                }
            })
        } else {
            // SAFETY: `trusted` obliges the caller to pass bytes written by the encoder for
            // this `T` in this process; the frame arithmetic above matches the encoder, so
            // `archive` is exactly one archive of `T` at its required alignment.
            Ok(unsafe { rkyv::access_unchecked::<T::Archived>(archive) })
        }
    }
}

impl<'a, T: WireRecord> Iterator for RecordIter<'a, T>
where
    T::Archived: 'a,
{
    type Item = Result<(Option<i64>, &'a T::Archived), DecodeError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let r = if self.run_left > 0 {
            self.run_record()
        } else if self.pos >= self.bytes.len() {
            return None;
        } else {
            match self.frame() {
                Ok(Frame::Single(ts, a)) => Ok((ts, a)),
                Ok(Frame::Run) => self.run_record(),
                Err(e) => Err(e),
            }
        };
        if r.is_err() {
            self.fail();
        }
        Some(r)
    }
}
