//! Generator → key_by → window count per key → discard (or print): the built-in windowed
//! job (Flink's DS-W2 shape: a keyed tumbling count).
//!
//! Record `i` has key `i mod keys` and event time `i × 1000 / events-per-second` ms: the
//! generator's virtual clock, so event-time results are deterministic however fast the
//! job runs. `--rate` limits the real emission rate; `--processing-time` windows by the
//! wall clock instead.

use super::parse_args;
use std::sync::Arc;
use std::time::Duration;
use strom_runtime::api::{Collector, StreamEnv, UserError, WatermarkStrategy};
use strom_runtime::cluster::JobBuilder;
use strom_runtime::window::{
    EventTimeSessionWindows, ProcessingTimeSessionWindows, SlidingEventTimeWindows,
    SlidingProcessingTimeWindows, TumblingEventTimeWindows, TumblingProcessingTimeWindows,
    WindowAssigner, WindowContext,
};

#[derive(clap::Parser)]
struct Args {
    /// Records to generate.
    #[arg(long, default_value_t = 10_000_000)]
    records: u64,
    /// Distinct keys.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    keys: u64,
    /// Window size in ms (tumbling, or sliding with --slide-ms).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    window_ms: u64,
    /// Slide in ms: sliding windows of --window-ms every --slide-ms.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..), conflicts_with = "session_gap_ms")]
    slide_ms: Option<u64>,
    /// Session windows with this inactivity gap in ms, instead of fixed windows.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    session_gap_ms: Option<u64>,
    /// Event-time spacing: records per second of event time.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..))]
    events_per_second: u64,
    /// Limit the real emission rate to this many records per second (all subtasks).
    #[arg(long)]
    rate: Option<f64>,
    /// Window by processing time (the wall clock) instead of event time.
    #[arg(long)]
    processing_time: bool,
    /// Print `key<TAB>window start<TAB>window end<TAB>count` per window instead of discarding.
    #[arg(long)]
    print: bool,
}

impl Args {
    fn assigner(&self) -> WindowAssigner {
        let size = Duration::from_millis(self.window_ms);
        match (self.session_gap_ms, self.slide_ms, self.processing_time) {
            (Some(gap), _, false) => EventTimeSessionWindows::with_gap(Duration::from_millis(gap)),
            (Some(gap), _, true) => {
                ProcessingTimeSessionWindows::with_gap(Duration::from_millis(gap))
            }
            (None, Some(s), false) => SlidingEventTimeWindows::of(size, Duration::from_millis(s)),
            (None, Some(s), true) => {
                SlidingProcessingTimeWindows::of(size, Duration::from_millis(s))
            }
            (None, None, false) => TumblingEventTimeWindows::of(size),
            (None, None, true) => TumblingProcessingTimeWindows::of(size),
        }
    }
}

/// (key, window start, window end, count)
type Counted = (u64, i64, i64, u64);

fn tag(
    k: &u64,
    ctx: &WindowContext,
    e: &[(u64, u64)],
    out: &mut Collector<'_, Counted>,
) -> Result<(), UserError> {
    let w = ctx.window();
    out.collect((*k, w.start, w.end, e[0].1));
    Ok(())
}

pub(crate) fn make(args: &[String]) -> Result<JobBuilder, String> {
    let a: Args = parse_args("keyed-window", args)?;
    if matches!(a.rate, Some(r) if !(r > 0.0 && r.is_finite())) {
        return Err("--rate must be a positive number of records per second".into());
    }
    let assigner = a.assigner();
    assigner.check()?;
    Ok(Arc::new(move |env: &mut StreamEnv| {
        let (keys, eps) = (a.keys, a.events_per_second);
        let generated = env.from_generator(a.records, a.rate, move |i| {
            (i % keys, (i as u128 * 1000 / eps as u128) as i64)
        });
        let timed = if a.processing_time {
            generated
        } else {
            generated.assign_timestamps_and_watermarks(
                WatermarkStrategy::for_monotonous_timestamps()
                    .with_timestamp_assigner(|r: &(u64, i64), _| r.1),
            )
        };
        let counts = timed
            .map(|(k, _)| (k, 1u64))
            .key_by(|r: &(u64, u64)| r.0)
            .window(assigner)
            .reduce_with(|a, b| (a.0, a.1 + b.1), tag);
        if a.print {
            counts.print_with(|(k, s, e, n): &Counted| format!("{k}\t{s}\t{e}\t{n}"));
        } else {
            counts.discard();
        }
        Ok(())
    }))
}
