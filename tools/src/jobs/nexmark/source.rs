//! The Nexmark source: source subtask `i` of `p` runs generator `i` of the connector's split
//! into `p` (§11), as fast as possible or following event time on the wall clock, with event
//! timestamps and watermarks 4 s behind (§12, §13.0).

use super::{NexmarkArgs, OUT_OF_ORDERNESS};
use std::time::{Duration, Instant};
use strom_nexmark::{Event, GeneratedEvent, Generator};
use strom_runtime::api::{DataStream, StreamEnv, WatermarkStrategy};
use strom_runtime::error::{Retry, TaskError, TaskResult};
use strom_runtime::operator::Output;
use strom_runtime::source::{LocalFuture, SourceReader, SourceStatus};
use strom_runtime::task::latency::now_ns;

/// The Nexmark events with event timestamps and watermarks (§12, §13.0).
pub(crate) fn source(env: &mut StreamEnv, args: &NexmarkArgs) -> DataStream<Event> {
    let a = args.clone();
    env.add_source("Nexmark Source", move |ctx| {
        match a.generator(ctx.subtask, ctx.parallelism) {
            Ok(generator) => Box::new(NexmarkSource {
                generator,
                next: None,
                follow_event_time: !a.max_emit_speed,
                started: None,
                batch_first_due_us: 0,
                run: Vec::new(),
                run_ts: None,
            }) as Box<dyn SourceReader<Event>>,
            Err(e) => Box::new(FailedSource(Some(e))),
        }
    })
    .assign_timestamps_and_watermarks(
        WatermarkStrategy::for_bounded_out_of_orderness(OUT_OF_ORDERNESS)
            .with_timestamp_assigner(|e: &Event, _| e.date_time()),
    )
}

/// One source subtask: its generator, emitting as fast as possible or following event time.
struct NexmarkSource {
    generator: Generator,
    /// The next event, drawn but not yet due (event-time following).
    next: Option<GeneratedEvent>,
    follow_event_time: bool,
    /// The first poll (event-time following): as an `Instant`, and in wall-clock
    /// nanoseconds for latency stamps.
    started: Option<(Instant, i64)>,
    /// When the oldest event of the last batch was due, in µs after the first poll.
    batch_first_due_us: i64,
    /// Events of one timestamp not yet handed on (reused; empty between polls): a poll
    /// hands each run of equal timestamps to the chain in one `emit_batch`.
    run: Vec<Event>,
    /// The timestamp of `run`.
    run_ts: Option<i64>,
}

impl NexmarkSource {
    /// When the first poll was.
    fn started(&mut self) -> Instant {
        self.started
            .get_or_insert_with(|| (Instant::now(), now_ns()))
            .0
    }

    /// Hands the run of equal timestamps on, in one call.
    fn send_run(&mut self, out: &mut dyn Output<Event>) -> TaskResult {
        if self.run.is_empty() {
            return Ok(());
        }
        let r = out.emit_batch(&mut self.run, self.run_ts);
        self.run.clear();
        r
    }

    /// Microseconds since the first poll.
    fn elapsed_us(&mut self) -> i64 {
        i64::try_from(self.started().elapsed().as_micros()).unwrap_or(i64::MAX)
    }
}

impl SourceReader<Event> for NexmarkSource {
    fn poll_batch(
        &mut self,
        out: &mut dyn Output<Event>,
        max: usize,
    ) -> TaskResult<(SourceStatus, usize)> {
        // Following event time, each event is due at its point on the timeline to the
        // microsecond (`wallclock_offset_us`): the events of one millisecond go out spread
        // over it, not in one burst as the Java source's whole-millisecond sleeps do.
        let now = if self.follow_event_time {
            self.elapsed_us()
        } else {
            i64::MAX
        };
        let mut status = (SourceStatus::More, max);
        for n in 0..max {
            let Some(e) = self.next.take().or_else(|| self.generator.next()) else {
                status = (SourceStatus::Finished, n);
                break;
            };
            if e.wallclock_offset_us > now {
                self.next = Some(e);
                status = (SourceStatus::Pending, n);
                break;
            }
            if n == 0 {
                self.batch_first_due_us = e.wallclock_offset_us;
            }
            if self.run_ts != Some(e.timestamp) {
                self.send_run(out)?;
                self.run_ts = Some(e.timestamp);
            }
            self.run.push(e.event);
        }
        self.send_run(out)?;
        Ok(status)
    }

    fn wait(&mut self) -> LocalFuture<'_, TaskResult> {
        let due = self.next.as_ref().map_or(0, |e| e.wallclock_offset_us);
        let wait = (self.started() + Duration::from_micros(due.max(0) as u64))
            .saturating_duration_since(Instant::now());
        Box::pin(async move {
            strom_runtime::slot::sleep(wait).await;
            Ok(())
        })
    }

    /// Following event time, an event is created when it falls due: the first poll plus
    /// its offset on the timeline. At full speed, when it is emitted (`None`).
    fn latency_stamp(&self) -> Option<i64> {
        let (_, started_ns) = self.started?;
        Some(started_ns.saturating_add(self.batch_first_due_us.saturating_mul(1_000)))
    }
}

/// A source subtask whose generator could not be built: fails the job with the reason.
struct FailedSource(Option<String>);

impl SourceReader<Event> for FailedSource {
    fn poll_batch(
        &mut self,
        _out: &mut dyn Output<Event>,
        _max: usize,
    ) -> TaskResult<(SourceStatus, usize)> {
        let reason = self.0.take().unwrap_or_default();
        Err(TaskError::new(
            format!("Nexmark generator: {reason}"),
            Retry::Never,
        ))
    }
}
