//! Text file lines, read through the slot's io_uring, split across subtasks by byte range.
//!
//! Subtask `i` of `p` owns the lines that *start* in `(start_i, end_i]` (and subtask 0 also
//! the line at offset 0), where the byte ranges split the file evenly. Each line is read by
//! exactly one subtask, whatever the line lengths (Hadoop's LineRecordReader rule).

use super::lines::{emit_lines, LineBuffer};
use super::{LocalFuture, SourceReader, SourceStatus};
use crate::error::{Retry, TaskError, TaskResult};
use crate::operator::Output;
use crate::slot::io::ReadFile;
use std::path::PathBuf;

const CHUNK: usize = 256 * 1024;

/// Reads one subtask's split of a text file, line by line.
pub struct TextFileSource {
    path: PathBuf,
    subtask: u32,
    parallelism: u32,
    file: Option<ReadFile>,
    split: (u64, u64),
    size: u64,
    next_read: u64,
    buf: LineBuffer,
    started: bool,
    done: bool,
}

impl TextFileSource {
    /// Subtask `subtask` of `parallelism`'s reader of `path`.
    pub fn new(path: PathBuf, subtask: u32, parallelism: u32) -> Self {
        TextFileSource {
            path,
            subtask,
            parallelism,
            file: None,
            split: (0, 0),
            size: 0,
            next_read: 0,
            buf: LineBuffer::default(),
            started: false,
            done: false,
        }
    }

    fn what(&self) -> String {
        format!("text file '{}'", self.path.display())
    }

    async fn open(&mut self) -> TaskResult {
        let err = |e: std::io::Error| {
            TaskError::new(format!("cannot read {}: {e}", self.what()), Retry::May)
        };
        let f = ReadFile::open(&self.path).await.map_err(err)?;
        self.size = f.size().await.map_err(err)?;
        let (p, i) = (self.parallelism as u128, self.subtask as u128);
        let start = (self.size as u128 * i / p) as u64;
        let end = (self.size as u128 * (i + 1) / p) as u64;
        self.split = (start, end);
        // A split that starts mid-file skips through the first newline: the line that
        // contains (or starts at) `start` belongs to the previous split, which reads on past
        // its end to finish it.
        self.next_read = start;
        self.buf.offset = start;
        self.file = Some(f);
        Ok(())
    }

    async fn read_more(&mut self) -> TaskResult {
        if self.file.is_none() {
            self.open().await?;
        }
        let f = self.file.as_ref().expect("opened above");
        let data = f
            .read_at(self.next_read, CHUNK)
            .await
            .map_err(|e| TaskError::new(format!("cannot read {}: {e}", self.what()), Retry::May))?;
        self.next_read += data.len() as u64;
        self.buf.extend(&data);
        if !self.started && self.subtask > 0 {
            if self.buf.skip_through_newline() {
                self.started = true;
            }
        } else {
            self.started = true;
        }
        Ok(())
    }

    fn at_eof(&self) -> bool {
        self.file.is_some() && self.next_read >= self.size
    }
}

impl SourceReader<String> for TextFileSource {
    fn poll_batch(
        &mut self,
        out: &mut dyn Output<String>,
        max: usize,
    ) -> TaskResult<(SourceStatus, usize)> {
        if self.done {
            return Ok((SourceStatus::Finished, 0));
        }
        if self.file.is_none() || !self.started {
            return Ok((
                if self.at_eof() {
                    SourceStatus::Finished
                } else {
                    SourceStatus::Pending
                },
                0,
            ));
        }
        let (first, end) = self.split;
        let first_subtask = self.subtask == 0;
        let owns = |start: u64| (first_subtask && start == 0) || (start > first && start <= end);
        let at_eof = self.at_eof();
        let what = self.what();
        let (n, stopped) = emit_lines(&mut self.buf, out, max, at_eof, &what, owns)?;
        if stopped || (at_eof && n < max) {
            self.done = true;
            return Ok((SourceStatus::Finished, n));
        }
        Ok((
            if n == max {
                SourceStatus::More
            } else {
                SourceStatus::Pending
            },
            n,
        ))
    }

    fn wait(&mut self) -> LocalFuture<'_, TaskResult> {
        Box::pin(self.read_more())
    }
}
