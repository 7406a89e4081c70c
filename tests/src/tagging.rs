//! Test helpers that tag records with the subtasks they come from and go to, to check how
//! edges route records.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use strom_runtime::api::{DataStream, StreamEnv};
use strom_runtime::error::TaskResult;
use strom_runtime::operator::{Millis, Output};
use strom_runtime::source::{SourceReader, SourceStatus};

/// `v`, sorted.
pub fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

/// The results of a window reduce over (key, count, sum), tagged with the window: the
/// [`Firing`](crate::reference::Firing)s a replay computes.
pub fn tag_window(
    k: &u64,
    ctx: &strom_runtime::window::WindowContext,
    e: &[(u64, u64, u64)],
    out: &mut strom_runtime::api::Collector<'_, crate::reference::Firing>,
) -> Result<(), strom_runtime::api::UserError> {
    for (_, n, sum) in e {
        out.collect((*k, ctx.window().start, ctx.window().end, *n, *sum));
    }
    Ok(())
}

/// A sink that records every record with the index of the sink subtask that received it.
pub struct TagSink<T> {
    /// The receiving subtask.
    pub subtask: u32,
    /// Where records go, tagged.
    pub seen: Arc<Mutex<Vec<(u32, T)>>>,
}

impl<T: 'static> Output<T> for TagSink<T> {
    fn emit(&mut self, value: T, _ts: Option<Millis>) -> TaskResult {
        self.seen.lock().unwrap().push((self.subtask, value));
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

/// Ends `stream` in a [`TagSink`] with `parallelism` subtasks.
pub fn tag_sink<T: strom_runtime::api::Data + Send>(
    stream: &DataStream<T>,
    parallelism: u32,
    seen: &Arc<Mutex<Vec<(u32, T)>>>,
) {
    let seen = seen.clone();
    stream
        .sink_to("Tag Sink", move |ctx| {
            Box::new(TagSink {
                subtask: ctx.subtask,
                seen: seen.clone(),
            })
        })
        .set_parallelism(parallelism);
}

/// Subtask `s` of a [`tagged_source`]: emits `(s, 0), (s, 1), … (s, n - 1)`.
pub struct Tagged {
    /// This subtask.
    pub subtask: u32,
    /// The next index.
    pub next: u64,
    /// How many to emit.
    pub n: u64,
}

impl SourceReader<(u32, u64)> for Tagged {
    fn poll_batch(
        &mut self,
        out: &mut dyn Output<(u32, u64)>,
        max: usize,
    ) -> TaskResult<(SourceStatus, usize)> {
        let stop = self.n.min(self.next + max as u64);
        for i in self.next..stop {
            out.emit((self.subtask, i), None)?;
        }
        let emitted = (stop - self.next) as usize;
        self.next = stop;
        let status = if stop == self.n {
            SourceStatus::Finished
        } else {
            SourceStatus::More
        };
        Ok((status, emitted))
    }
}

/// A source whose subtask `s` emits `(s, 0), (s, 1), … (s, n - 1)`.
pub fn tagged_source(env: &mut StreamEnv, parallelism: u32, n: u64) -> DataStream<(u32, u64)> {
    env.add_source("Tagged Source", move |ctx| {
        Box::new(Tagged {
            subtask: ctx.subtask,
            next: 0,
            n,
        })
    })
    .set_parallelism(parallelism)
}

/// Per (producer subtask, consumer subtask): how many records went that way. Also checks
/// that no (producer, record) arrived twice at one consumer.
pub fn routes(seen: &[(u32, (u32, u64))]) -> BTreeMap<(u32, u32), u64> {
    let mut per: BTreeMap<(u32, u32), u64> = BTreeMap::new();
    let mut once = std::collections::HashSet::new();
    for &(c, (p, i)) in seen {
        assert!(once.insert((c, p, i)), "consumer {c} got ({p}, {i}) twice");
        *per.entry((p, c)).or_default() += 1;
    }
    per
}
