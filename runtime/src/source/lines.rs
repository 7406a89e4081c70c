//! Splitting a byte stream into text lines (shared by the file and socket sources).

use crate::error::{Retry, TaskError, TaskResult};
use crate::operator::Output;

/// Bytes read so far that do not yet form a whole line, and where they start.
#[derive(Default)]
pub(super) struct LineBuffer {
    pub(super) bytes: Vec<u8>,
    /// Offset in the stream of `bytes[consumed]`.
    pub(super) offset: u64,
    consumed: usize,
}

impl LineBuffer {
    /// Appends freshly read bytes.
    pub(super) fn extend(&mut self, data: &[u8]) {
        if self.consumed > 0 {
            self.bytes.drain(..self.consumed);
            self.consumed = 0;
        }
        self.bytes.extend_from_slice(data);
    }

    /// The next complete line (without its `\n` or `\r\n`) and its start offset.
    pub(super) fn next_line(
        &mut self,
        at_eof: bool,
        what: &str,
    ) -> TaskResult<Option<(u64, String)>> {
        let rest = &self.bytes[self.consumed..];
        let (line, used) = match rest.iter().position(|b| *b == b'\n') {
            Some(i) => (&rest[..i], i + 1),
            None if at_eof && !rest.is_empty() => (rest, rest.len()),
            None => return Ok(None),
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let start = self.offset;
        let text = std::str::from_utf8(line).map_err(|e| {
            TaskError::new(
                format!("{what}: line at byte {start} is not valid UTF-8 ({e})"),
                Retry::Never,
            )
        })?;
        let text = text.to_string();
        self.consumed += used;
        self.offset += used as u64;
        Ok(Some((start, text)))
    }

    /// Drops bytes up to and including the first `\n` (a split's partial first line);
    /// returns whether one was found.
    pub(super) fn skip_through_newline(&mut self) -> bool {
        let rest = &self.bytes[self.consumed..];
        match rest.iter().position(|b| *b == b'\n') {
            Some(i) => {
                self.consumed += i + 1;
                self.offset += i as u64 + 1;
                true
            }
            None => {
                self.offset += rest.len() as u64;
                self.consumed = self.bytes.len();
                false
            }
        }
    }
}

/// Emits whole lines from `buf` while `owns(start)` holds; returns (emitted, stopped early).
pub(super) fn emit_lines(
    buf: &mut LineBuffer,
    out: &mut dyn Output<String>,
    max: usize,
    at_eof: bool,
    what: &str,
    owns: impl Fn(u64) -> bool,
) -> TaskResult<(usize, bool)> {
    let mut n = 0;
    while n < max {
        let before = (buf.consumed, buf.offset);
        match buf.next_line(at_eof, what)? {
            Some((start, line)) => {
                if !owns(start) {
                    (buf.consumed, buf.offset) = before;
                    return Ok((n, true));
                }
                out.emit(line, None)?;
                n += 1;
            }
            None => return Ok((n, false)),
        }
    }
    Ok((n, false))
}
