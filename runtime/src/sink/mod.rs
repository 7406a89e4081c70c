//! Sinks: where records leave a job. Each is the last [`Output`] of its chain, wrapped in a
//! `Counted` that counts the records reaching it for the task's `sink_records` counter.

use crate::error::{Retry, TaskError, TaskResult};
use crate::operator::{Millis, Output};
use std::cell::Cell;
use std::fmt::Display;
use std::io::Write;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

/// The records that reached a task's sinks so far, shared by the sinks of its chain and its
/// task loop (local to the slot: a plain cell, no atomic). The loop publishes it into
/// `TaskMetrics::sink_records` with the task's other counters.
#[derive(Debug, Clone, Default)]
pub(crate) struct SinkCounter(Rc<Cell<u64>>);

impl SinkCounter {
    /// Records counted so far.
    pub(crate) fn get(&self) -> u64 {
        self.0.get()
    }

    #[inline]
    fn add(&self, n: u64) {
        self.0.set(self.0.get() + n);
    }
}

/// A sink whose records are counted: one add per record or per batch, beside the sink's
/// own work (generic over the sink, so a built-in sink costs no extra dynamic call).
pub(crate) struct Counted<S> {
    sink: S,
    count: SinkCounter,
}

impl<S> Counted<S> {
    pub(crate) fn new(sink: S, count: SinkCounter) -> Self {
        Counted { sink, count }
    }
}

impl<T, S: Output<T>> Output<T> for Counted<S> {
    #[inline]
    fn emit(&mut self, value: T, timestamp: Option<Millis>) -> TaskResult {
        self.count.add(1);
        self.sink.emit(value, timestamp)
    }
    #[inline]
    fn emit_batch(&mut self, batch: &mut Vec<T>, timestamp: Option<Millis>) -> TaskResult {
        self.count.add(batch.len() as u64);
        self.sink.emit_batch(batch, timestamp)
    }
    fn watermark(&mut self, watermark: Millis) -> TaskResult {
        self.sink.watermark(watermark)
    }
    fn processing_time(&mut self, now: Millis) -> TaskResult {
        self.sink.processing_time(now)
    }
    fn watermark_status(&mut self, idle: bool) -> TaskResult {
        self.sink.watermark_status(idle)
    }
    fn finish(&mut self) -> TaskResult {
        self.sink.finish()
    }
}

/// Prints records to stdout, one per line; with parallelism > 1 prefixed `subtask> ` (as
/// Flink's print sink does, 1-based).
///
/// Invariant: stdout only ever gets whole lines. The subtasks of a print sink share the
/// process's stdout, and a `BufWriter` hands it whatever fills its buffer, usually ending
/// mid-line, so two subtasks' lines got spliced together. Each subtask gathers whole lines
/// and writes them under stdout's lock in one `write_all`.
pub struct PrintSink<F> {
    prefix: Option<String>,
    format: F,
    /// Whole lines not yet written.
    lines: Vec<u8>,
}

/// How many bytes of lines a print subtask gathers before it writes them.
const PRINT_BUFFER: usize = 32 * 1024;

impl<F> PrintSink<F> {
    pub(crate) fn new(subtask: u32, parallelism: u32, format: F) -> Self {
        let prefix = (parallelism > 1).then(|| format!("{}> ", subtask + 1));
        PrintSink {
            prefix,
            format,
            lines: Vec::with_capacity(PRINT_BUFFER),
        }
    }

    /// Writes the gathered lines to stdout at once (whole lines, under its lock).
    fn write_lines(&mut self) -> TaskResult {
        if self.lines.is_empty() {
            return Ok(());
        }
        let mut stdout = std::io::stdout().lock();
        let r = stdout.write_all(&self.lines).and_then(|()| stdout.flush());
        self.lines.clear();
        r.map_err(|e| io_err("writing to stdout", e))
    }
}

fn io_err(what: &str, e: std::io::Error) -> TaskError {
    TaskError::new(format!("{what}: {e}"), Retry::May)
}

impl<T: 'static, F: FnMut(&T) -> String + 'static> Output<T> for PrintSink<F> {
    fn emit(&mut self, value: T, _ts: Option<Millis>) -> TaskResult {
        let line = (self.format)(&value);
        if let Some(p) = &self.prefix {
            self.lines.extend_from_slice(p.as_bytes());
        }
        self.lines.extend_from_slice(line.as_bytes());
        self.lines.push(b'\n');
        if self.lines.len() >= PRINT_BUFFER {
            self.write_lines()?;
        }
        Ok(())
    }
    fn watermark(&mut self, _w: Millis) -> TaskResult {
        Ok(())
    }
    fn processing_time(&mut self, _now: Millis) -> TaskResult {
        self.write_lines()
    }
    fn watermark_status(&mut self, _idle: bool) -> TaskResult {
        Ok(())
    }
    fn finish(&mut self) -> TaskResult {
        self.write_lines()
    }
}

/// Collects every record into a shared vector (tests, small results; embedded cluster only).
pub struct CollectSink<T> {
    items: Arc<Mutex<Vec<T>>>,
    local: Vec<T>,
}

/// The test's end of a collect sink: read the records after the job finished.
pub struct CollectHandle<T> {
    items: Arc<Mutex<Vec<T>>>,
}

impl<T> Clone for CollectHandle<T> {
    fn clone(&self) -> Self {
        CollectHandle {
            items: self.items.clone(),
        }
    }
}

impl<T> Default for CollectHandle<T> {
    fn default() -> Self {
        CollectHandle {
            items: Arc::new(Mutex::new(Vec::new())),
        }
    }
}

impl<T: Clone> CollectHandle<T> {
    /// A new, empty handle.
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything collected so far (each subtask's records in their order, subtasks in the
    /// order they finished).
    pub fn items(&self) -> Vec<T> {
        self.items.lock().map(|v| v.clone()).unwrap_or_default()
    }

    pub(crate) fn sink(&self) -> CollectSink<T> {
        CollectSink {
            items: self.items.clone(),
            local: Vec::new(),
        }
    }
}

impl<T: 'static> Output<T> for CollectSink<T> {
    fn emit(&mut self, value: T, _ts: Option<Millis>) -> TaskResult {
        self.local.push(value);
        if self.local.len() >= 4096 {
            self.publish();
        }
        Ok(())
    }
    fn watermark(&mut self, _w: Millis) -> TaskResult {
        Ok(())
    }
    fn processing_time(&mut self, _now: Millis) -> TaskResult {
        Ok(())
    }
    fn watermark_status(&mut self, _idle: bool) -> TaskResult {
        Ok(())
    }
    fn finish(&mut self) -> TaskResult {
        self.publish();
        Ok(())
    }
}

impl<T> CollectSink<T> {
    fn publish(&mut self) {
        if let Ok(mut v) = self.items.lock() {
            v.append(&mut self.local);
        }
    }
}

impl<T> Drop for CollectSink<T> {
    fn drop(&mut self) {
        self.publish();
    }
}

/// Writes records as text lines to `DIR/part-<subtask>` (created; an existing part file is
/// replaced).
pub struct TextFileSink<F> {
    path: PathBuf,
    file: Option<std::io::BufWriter<std::fs::File>>,
    format: F,
}

impl<F> TextFileSink<F> {
    pub(crate) fn new(dir: PathBuf, subtask: u32, format: F) -> Self {
        TextFileSink {
            path: dir.join(format!("part-{subtask}")),
            file: None,
            format,
        }
    }

    fn file(&mut self) -> TaskResult<&mut std::io::BufWriter<std::fs::File>> {
        if self.file.is_none() {
            if let Some(dir) = self.path.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| io_err(&format!("creating {}", dir.display()), e))?;
            }
            let f = std::fs::File::create(&self.path)
                .map_err(|e| io_err(&format!("creating {}", self.path.display()), e))?;
            self.file = Some(std::io::BufWriter::with_capacity(1 << 20, f));
        }
        Ok(self.file.as_mut().expect("created above"))
    }
}

impl<T: 'static, F: FnMut(&T) -> String + 'static> Output<T> for TextFileSink<F> {
    fn emit(&mut self, value: T, _ts: Option<Millis>) -> TaskResult {
        let line = (self.format)(&value);
        let path = self.path.display().to_string();
        writeln!(self.file()?, "{line}").map_err(|e| io_err(&format!("writing {path}"), e))
    }
    fn watermark(&mut self, _w: Millis) -> TaskResult {
        Ok(())
    }
    fn watermark_status(&mut self, _idle: bool) -> TaskResult {
        Ok(())
    }
    fn finish(&mut self) -> TaskResult {
        let path = self.path.display().to_string();
        self.file()?
            .flush()
            .map_err(|e| io_err(&format!("writing {path}"), e))
    }
}

/// Drops every record (benchmarks); counts them so the work cannot be optimised away.
#[derive(Default)]
pub struct DiscardSink {
    /// Records seen.
    pub count: u64,
}

impl<T: 'static> Output<T> for DiscardSink {
    #[inline]
    fn emit(&mut self, value: T, _ts: Option<Millis>) -> TaskResult {
        std::hint::black_box(&value);
        self.count += 1;
        Ok(())
    }
    #[inline]
    fn emit_batch(&mut self, batch: &mut Vec<T>, _ts: Option<Millis>) -> TaskResult {
        std::hint::black_box(batch.as_slice());
        self.count += batch.len() as u64;
        batch.clear();
        Ok(())
    }
    fn watermark(&mut self, _w: Millis) -> TaskResult {
        Ok(())
    }
    fn watermark_status(&mut self, _idle: bool) -> TaskResult {
        Ok(())
    }
    fn finish(&mut self) -> TaskResult {
        Ok(())
    }
}

/// Formats with `Display`.
pub fn display<T: Display>(v: &T) -> String {
    v.to_string()
}
