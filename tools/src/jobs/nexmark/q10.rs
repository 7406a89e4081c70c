//! q10, log to file system (§13): every bid as `(auction, bidder, price, dateTime, extra,
//! dt, hm)` with `dt = DATE_FORMAT(dateTime, 'yyyy-MM-dd')` and
//! `hm = DATE_FORMAT(dateTime, 'HH:mm')` (UTC), written to a file system sink partitioned by
//! (dt, hm). As Flink's file system sink does, the partition columns go into the path, not
//! into the files: `--output DIR` gets one directory `dt=YYYY-MM-DD/hm=HH:mm/` per
//! partition, holding one CSV file `part-0.csv` with the rows `(auction, bidder, price,
//! dateTime, extra)` (timestamps as epoch milliseconds) and, once the partition is
//! committed, an empty `_SUCCESS` file.
//!
//! Commit (Flink's `partition-time` trigger, `'$dt $hm:00'` as the partition time, a 1 min
//! delay, the `success-file` policy): a partition is committed when the watermark passes its
//! minute's start + 1 min, that is when all of its rows are in, and every partition not yet
//! committed is committed when the input ends. Flink also rolls its files every minute of
//! processing time and commits them with checkpoints; here each partition has one file,
//! written directly and closed at the commit. A row for an already committed partition
//! (impossible without late data) reopens its file and commits it again. Without
//! `--output` the rows are discarded.
//!
//! Plan: one map per bid to its partition and CSV line, then a file sink of parallelism 1
//! that keeps a file open per uncommitted partition.

use super::args::parse_args_with;
use super::q15::{day_number, day_text, minute_text};
use super::{bids, source};
use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use strom_nexmark::Bid;
use strom_runtime::api::StreamEnv;
use strom_runtime::cluster::JobBuilder;
use strom_runtime::error::{Retry, TaskError, TaskResult};
use strom_runtime::operator::{Millis, Output};

const JOB: &str = "nexmark-q10";

/// Milliseconds per minute: the partitions' length and the commit delay.
const MINUTE_MS: i64 = 60_000;

/// A row on its way to the sink: `(minute start, dt, hm, CSV line of the file)`.
type Row = (i64, String, String, String);

/// A CSV field, quoted if it holds a comma, a quote or a line break.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn to_row(b: Bid) -> Row {
    let t = b.date_time;
    let line = format!(
        "{},{},{},{},{}",
        b.auction,
        b.bidder,
        b.price,
        t,
        field(&b.extra)
    );
    (
        t.div_euclid(MINUTE_MS) * MINUTE_MS,
        day_text(day_number(t)),
        minute_text(t),
        line,
    )
}

pub(crate) fn make(args: &[String]) -> Result<JobBuilder, String> {
    let (a, _) = parse_args_with(
        JOB,
        args,
        [],
        Some(|o: clap::Arg| {
            o.value_name("DIR").help(
                "Write the rows as CSV under this directory, partitioned by day and minute: \
                 DIR/dt=YYYY-MM-DD/hm=HH:mm/part-0.csv, and a _SUCCESS file per partition once \
                 it is committed. Without it the rows are discarded",
            )
        }),
    )?;
    if let Some(out) = &a.output {
        if out.exists() && !out.is_dir() {
            return Err(format!("--output {}: not a directory", out.display()));
        }
    }
    Ok(Arc::new(move |env: &mut StreamEnv| {
        let rows = bids(&source(env, &a)).map(to_row).name("Partition");
        match &a.output {
            Some(dir) => {
                let dir = dir.clone();
                rows.sink_to("Partitioned File Sink", move |_| {
                    Box::new(PartitionedSink {
                        dir: dir.clone(),
                        open: BTreeMap::new(),
                        written: HashSet::new(),
                    })
                })
                .set_parallelism(1);
            }
            None => {
                rows.discard();
            }
        }
        Ok(())
    }))
}

/// A partition being written: its directory and its open file.
struct Partition {
    dir: PathBuf,
    file: std::io::BufWriter<std::fs::File>,
}

/// Writes rows into their partitions' files under `dir`, committing partitions as the
/// watermark passes them.
struct PartitionedSink {
    dir: PathBuf,
    /// The uncommitted partitions, by the start of their minute.
    open: BTreeMap<i64, Partition>,
    /// The partitions this run has written to (a reopened one is appended to).
    written: HashSet<i64>,
}

fn io_error(what: &str, path: &std::path::Path, e: std::io::Error) -> TaskError {
    TaskError::new(format!("{what} {}: {e}", path.display()), Retry::May)
}

impl PartitionedSink {
    /// Closes the partition's file and writes its success file.
    fn commit(p: Partition) -> TaskResult {
        let Partition { dir, mut file } = p;
        let path = dir.join("part-0.csv");
        file.flush().map_err(|e| io_error("writing", &path, e))?;
        drop(file);
        let success = dir.join("_SUCCESS");
        std::fs::File::create(&success).map_err(|e| io_error("creating", &success, e))?;
        Ok(())
    }

    fn open(&mut self, minute: i64, dt: &str, hm: &str) -> TaskResult<&mut Partition> {
        if !self.open.contains_key(&minute) {
            let dir = self.dir.join(format!("dt={dt}")).join(format!("hm={hm}"));
            std::fs::create_dir_all(&dir)
                .map_err(|e| io_error("creating the directory", &dir, e))?;
            let path = dir.join("part-0.csv");
            let first = self.written.insert(minute);
            if !first {
                // Committed, and now written again: not committed until the next commit.
                let success = dir.join("_SUCCESS");
                let _ = std::fs::remove_file(&success);
            }
            let file = std::fs::OpenOptions::new()
                .create(true)
                .write(true)
                .append(!first)
                .truncate(first)
                .open(&path)
                .map_err(|e| io_error("creating", &path, e))?;
            let file = std::io::BufWriter::with_capacity(1 << 16, file);
            self.open.insert(minute, Partition { dir, file });
        }
        Ok(self.open.get_mut(&minute).expect("opened above"))
    }
}

impl Output<Row> for PartitionedSink {
    fn emit(&mut self, (minute, dt, hm, line): Row, _ts: Option<Millis>) -> TaskResult {
        let p = self.open(minute, &dt, &hm)?;
        let r = p
            .file
            .write_all(line.as_bytes())
            .and_then(|()| p.file.write_all(b"\n"));
        r.map_err(|e| io_error("writing", &p.dir.join("part-0.csv"), e))
    }

    fn watermark(&mut self, w: Millis) -> TaskResult {
        // Committable once the watermark is past the partition time plus the delay.
        while let Some(entry) = self.open.first_entry() {
            if w <= *entry.key() + MINUTE_MS {
                break;
            }
            Self::commit(entry.remove())?;
        }
        Ok(())
    }

    fn watermark_status(&mut self, _idle: bool) -> TaskResult {
        Ok(())
    }

    fn finish(&mut self) -> TaskResult {
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| io_error("creating the directory", &self.dir, e))?;
        while let Some((_, p)) = self.open.pop_first() {
            Self::commit(p)?;
        }
        Ok(())
    }
}
