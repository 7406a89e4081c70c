//! [`FrameWriter`]: the rkyv writer that archives a record straight into buffer memory.

use rkyv::rancor::{fail, Source};
use rkyv::ser::{Positional, Writer};
use std::cell::Cell;

/// Writes an archive into a byte slice, remembering whether it ran out of room so that the
/// caller can tell "buffer full" (flush and retry) from a real serialization failure.
pub struct FrameWriter<'a> {
    mem: &'a mut [u8],
    pos: usize,
    overflowed: &'a Cell<bool>,
}

#[derive(Debug, thiserror::Error)]
#[error("record does not fit in the rest of the network buffer")]
struct Overflow;

impl<'a> FrameWriter<'a> {
    pub(super) fn new(mem: &'a mut [u8], overflowed: &'a Cell<bool>) -> Self {
        FrameWriter {
            mem,
            pos: 0,
            overflowed,
        }
    }
}

impl Positional for FrameWriter<'_> {
    #[inline]
    fn pos(&self) -> usize {
        self.pos
    }
}

impl<E: Source> Writer<E> for FrameWriter<'_> {
    #[inline]
    fn write(&mut self, bytes: &[u8]) -> Result<(), E> {
        // rkyv aligns before every value by writing `pad` zero bytes, almost always none;
        // a zero-length copy from its zero array still became a call to memset per record.
        if bytes.is_empty() {
            return Ok(());
        }
        let end = self.pos + bytes.len();
        if end > self.mem.len() {
            self.overflowed.set(true);
            fail!(Overflow);
        }
        self.mem[self.pos..end].copy_from_slice(bytes);
        self.pos = end;
        Ok(())
    }
}
